"""Footprint units: parsing and conversion exactly as the exchange format's table says."""

from decimal import Decimal

import pytest

from matchmaker.units import Footprint, UnitFamily, UnknownUnitError, parse_unit


@pytest.mark.parametrize(
    ("value", "unit", "target", "expected"),
    [
        ("800", "kgCO2e/t", "kgCO2e/kg", "0.8"),
        ("800", "kgCO2e/t", "tCO2e/t", "0.8"),
        ("11", "gCO2e/kWh", "kgCO2e/kWh", "0.011"),
        ("0.35", "kgCO2e/Wp", "kgCO2e/kWp", "350"),
        ("19", "kgCO2e/GJ", "gCO2e/MJ", "19"),
        ("0.03", "kgCO2e/tkm", "gCO2e/tkm", "30"),
        ("0.21", "tCO2e/m3", "kgCO2e/m3", "210"),
        ("1", "kgCO2e/L", "kgCO2e/m3", "1000"),
        ("5", "kgCO2e/MWh", "gCO2e/kWh", "5"),
        ("-0.4", "tCO2e/t", "kgCO2e/kg", "-0.4"),
    ],
)
def test_converts_within_a_family_exactly(value: str, unit: str, target: str, expected: str) -> None:
    assert Footprint.parse(value, unit).convert(parse_unit(target)) == Decimal(expected)


def test_a_float_converts_as_written_so_the_threshold_passes() -> None:
    # 0.62 tCO2e/t is exactly 620 kgCO2e/t, not 619.9999999999999.
    assert Footprint.parse(0.62, "tCO2e/t").convert(parse_unit("kgCO2e/t")) == Decimal("620")


@pytest.mark.parametrize(("source", "target"), [("kgCO2e/kg", "gCO2e/MJ"), ("kgCO2e/unit", "kgCO2e/kWh")])
def test_refuses_to_convert_across_families(source: str, target: str) -> None:
    footprint = Footprint.parse(1, source)
    assert not footprint.converts_to(parse_unit(target))
    with pytest.raises(ValueError, match="cannot convert"):
        footprint.convert(parse_unit(target))


@pytest.mark.parametrize(
    ("text", "canonical", "family"),
    [
        ("kgCO2e/kg", "kgCO2e/kg", UnitFamily.MASS),
        ("kg CO2e / kWh", "kgCO2e/kWh", UnitFamily.ELECTRIC_ENERGY),
        ("tCO2eq/t", "tCO2e/t", UnitFamily.MASS),
        ("gCO2e/MJ", "gCO2e/MJ", UnitFamily.FUEL_ENERGY),
        ("kgCO2e/m²", "kgCO2e/m2", UnitFamily.AREA),
        ("kgCO2e/kwh", "kgCO2e/kWh", UnitFamily.ELECTRIC_ENERGY),
        ("kgCO2e/MWp", "kgCO2e/MWp", UnitFamily.PV_PEAK_POWER),
        ("kgCO2e/unit", "kgCO2e/unit", UnitFamily.COUNT),
    ],
)
def test_parses_units_and_their_family(text: str, canonical: str, family: UnitFamily) -> None:
    unit = parse_unit(text)
    assert str(unit) == canonical
    assert unit.family is family


@pytest.mark.parametrize("text", ["kgCO2/kg", "kg/kg", "lbCO2e/kg", "kgCO2e/furlong", "kgCO2e/mwh", ""])
def test_unknown_units_are_refused_with_a_clear_message(text: str) -> None:
    with pytest.raises(UnknownUnitError, match="unknown"):
        parse_unit(text)


def test_canonical_value_is_per_family_base_unit() -> None:
    assert Footprint.parse("620", "kgCO2e/t").canonical_value == Decimal("0.62")
    assert Footprint.parse("350", "kgCO2e/kWp").canonical_value == Decimal("350")
