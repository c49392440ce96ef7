"""The calculator against bills of materials computed by hand: every line kind, unit conversions, both
allocations, a missing factor. Each expected figure is written out as the arithmetic a reviewer redoes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from matchmaker.pcf.bom import BillOfMaterials
from matchmaker.pcf.calculator import BomRefused, Calculation, Factor, OfferInput, calculate

# Values as the shipped library 2026.12 states them (the test does not read the library: the arithmetic is
# checked against numbers written here).
FACTORS = {
    key: Factor(key, "test", key, value, unit, region, year, "a source", "a table", "a licence")
    for key, value, unit, region, year in [
        ("gwp.ar6.co2", 1, "kgCO2e/kg", None, None),
        ("gwp.ar6.ch4_fossil", 29.8, "kgCO2e/kg", None, None),
        ("gwp.ar6.ch4_non_fossil", 27.0, "kgCO2e/kg", None, None),
        ("gwp.ar6.n2o", 273, "kgCO2e/kg", None, None),
        ("gwp.ar5.co2", 1, "kgCO2e/kg", None, None),
        ("gwp.ar5.ch4", 28, "kgCO2e/kg", None, None),
        ("gwp.ar5.n2o", 265, "kgCO2e/kg", None, None),
        ("combustion.natural_gas.co2", 56100, "kg/TJ", None, None),
        ("combustion.natural_gas.ch4", 1, "kg/TJ", None, None),
        ("combustion.natural_gas.n2o", 0.1, "kg/TJ", None, None),
        ("ncv.natural_gas", 48.0, "TJ/Gg", None, None),
        ("electricity.cn.east.2023", 0.5500, "kgCO2/kWh", "CN 华东 East China grid", 2023),
        ("electricity.gb.2025", 0.17700, "kgCO2e/kWh", "GB", 2025),
        ("transport.road.hgv_average_laden", 0.10163, "kgCO2e/tkm", None, 2025),
    ]
}
OFFERS = {
    7: OfferInput(7, "HRB400E rebar", "Steel Co", 0.62, "tCO2e/t", verified=True, dqr=(1.5, 1.0, 2.0)),
    8: OfferInput(8, "epoxy primer", "Paint Co", 2.5, "kgCO2e/kg", verified=False, dqr=None),
    9: OfferInput(9, "green power", "Grid Co", 20, "gCO2e/kWh", verified=True, dqr=None),
    10: OfferInput(10, "bolt", "Bolt Co", None, None, verified=False, dqr=None),
}
# Natural gas burnt: kg CO2e per TJ, AR6 = 56100 x 1 + 1 x 29.8 + 0.1 x 273.
GAS_PER_TJ = 56100 + 29.8 + 27.3


def run(**bom: object) -> Calculation:
    return calculate(BillOfMaterials.model_validate(bom), factors=FACTORS, offers=OFFERS)


def close(actual: Decimal | float | None, expected: float) -> bool:
    assert actual is not None
    return abs(float(actual) - expected) <= 1e-9 * abs(expected)


def assert_sums(result: Calculation) -> None:
    """The breakdown by line and by stage each add up to the total."""
    assert result.total is not None
    assert close(sum(line.per_declared_unit for line in result.lines), float(result.total))  # type: ignore[misc]
    assert close(sum(result.by_stage.values()), float(result.total))


def test_electricity_in_megawatt_hours_per_tonne() -> None:
    result = run(
        declared_unit="t", output={"amount": 2, "unit": "t"}, region="CN", year=2023,
        lines=[{"kind": "electricity", "grid": "cn.east", "year": 2023, "amount": 3, "unit": "MWh"}],
    )  # fmt: skip
    # 3 MWh = 3000 kWh x 0.55 = 1650 kg for 2 t
    assert result.unit == "kgCO2e/t"
    assert close(result.total, 1650 / 2)
    assert_sums(result)
    assert result.primary_share == 0
    # a published average (2), of the data's year (1), of the product's country (1)
    assert result.dqr == (2, 1, 1)
    assert [factor.key for factor in result.factors] == ["electricity.cn.east.2023"]
    assert any("CO2 only" in note for note in result.notes)


def test_a_fuel_by_mass_goes_through_its_calorific_value() -> None:
    result = run(
        declared_unit="kg", output={"amount": 10, "unit": "t"},
        lines=[{"kind": "fuel", "fuel": "natural_gas", "amount": 2, "unit": "t"}],
    )  # fmt: skip
    # 2 t = 0.002 Gg x 48 TJ/Gg = 0.096 TJ; over 10 000 kg of product
    assert close(result.total, 0.096 * GAS_PER_TJ / 10_000)
    assert_sums(result)
    assert {factor.key for factor in result.factors} == {
        "ncv.natural_gas", "combustion.natural_gas.co2", "combustion.natural_gas.ch4",
        "combustion.natural_gas.n2o", "gwp.ar6.co2", "gwp.ar6.ch4_fossil", "gwp.ar6.n2o",
    }  # fmt: skip


def test_a_fuel_by_energy_per_piece() -> None:
    result = run(
        declared_unit="unit", output={"amount": 1, "unit": "unit"},
        lines=[{"kind": "fuel", "fuel": "natural_gas", "amount": 500, "unit": "GJ"}],
    )  # fmt: skip
    # 500 GJ = 0.5 TJ
    assert close(result.total, 0.5 * GAS_PER_TJ)
    assert result.unit == "kgCO2e/unit"


@pytest.mark.parametrize(
    ("gwp", "expected"),
    [
        ("ar6", (10 * 29.8 + 2 * 273 + 1000 * 1) / 4),
        # AR5 states one CH4 value, fossil or not
        ("ar5", (10 * 28 + 2 * 265 + 1000 * 1) / 4),
    ],
)
def test_process_gases_weighted_by_their_gwp(gwp: str, expected: float) -> None:
    result = run(
        declared_unit="t", output={"amount": 4, "unit": "t"}, gwp=gwp,
        lines=[
            {"kind": "process", "gas": "ch4_fossil", "amount": 10, "unit": "kg"},
            {"kind": "process", "gas": "n2o", "amount": 2000, "unit": "g"},
            {"kind": "process", "gas": "co2", "amount": 1, "unit": "t"},
        ],
    )  # fmt: skip
    assert close(result.total, expected)
    assert_sums(result)
    assert close(result.primary_share, 100)  # measured on site
    assert result.dqr == (1, 1, 1)
    assert set(result.by_stage) == {"process"}


def test_offers_and_transport_with_the_primary_share() -> None:
    result = run(
        declared_unit="t", output={"amount": 1, "unit": "t"},
        lines=[
            {"kind": "offer", "offer": 7, "amount": 500, "unit": "kg"},  # 500 kg x 0.62 kg/kg = 310
            {"kind": "offer", "offer": 8, "amount": 0.2, "unit": "t"},  # 200 kg x 2.5 = 500
            {"kind": "transport", "mode": "road.hgv_average_laden", "amount": 1200, "unit": "tkm"},
        ],
    )  # fmt: skip
    total = 310 + 500 + 1200 * 0.10163
    assert close(result.total, total)
    assert_sums(result)
    # only the verified supplier's data are primary
    assert close(result.primary_share, 310 / total * 100)
    assert close(result.by_stage["materials"], 810)
    assert close(result.by_stage["transport"], 1200 * 0.10163)
    # the offers' own ratings (the unrated one counts as 3), the transport factor's (2, 2, 2), by weight
    expected_technological = (310 * 1.5 + 500 * 3 + 121.956 * 2) / total
    assert result.dqr is not None and close(result.dqr[0], expected_technological)
    # hotspots: the fewest lines, largest first, that make 80%
    assert [line.line for line in result.hotspots] == [2, 1]


def test_mass_allocation_to_a_co_product() -> None:
    result = run(
        declared_unit="t", output={"amount": 800, "unit": "kg"},
        co_products=[{"name": "slag", "amount": 200, "unit": "kg"}], allocation="mass",
        lines=[
            {"kind": "electricity", "grid": "cn.east", "year": 2023, "amount": 1000, "unit": "kWh"},
            {"kind": "process", "gas": "co2", "amount": 450, "unit": "kg"},
        ],
    )  # fmt: skip
    # 550 + 450 = 1000 kg; the product's mass share 800 / 1000 -> 800 kg for 800 kg = 1 kg/kg = 1000 kg/t
    assert close(result.allocation_share, 0.8)
    assert close(result.total, 1000)
    assert_sums(result)
    assert close(result.primary_share, 45)


def test_economic_allocation_by_revenue() -> None:
    result = run(
        declared_unit="kg", output={"amount": 1, "unit": "t"}, output_price=600,
        co_products=[{"name": "by-product", "amount": 2, "unit": "t", "price": 100}], allocation="economic",
        lines=[
            {"kind": "electricity", "grid": "cn.east", "year": 2023, "amount": 1000, "unit": "kWh"},
            {"kind": "process", "gas": "co2", "amount": 450, "unit": "kg"},
        ],
    )  # fmt: skip
    # revenue 600 against 2 x 100: the product takes 0.75 of 1000 kg, for 1000 kg
    assert close(result.total, 0.75)
    assert_sums(result)


def test_library_factors_and_offers_in_other_units_of_the_family() -> None:
    result = run(
        declared_unit="m2", output={"amount": 50, "unit": "m2"},
        lines=[
            {"kind": "factor", "factor": "electricity.gb.2025", "amount": 250_000, "unit": "Wh"},
            {"kind": "factor", "factor": "gwp.ar6.n2o", "amount": 500, "unit": "g"},
            {"kind": "offer", "offer": 9, "amount": 2, "unit": "MWh"},  # 2000 kWh x 0.02 kg
        ],
    )  # fmt: skip
    assert close(result.total, (250 * 0.177 + 0.5 * 273 + 2000 * 0.020) / 50)
    assert_sums(result)
    assert close(result.primary_share, 40 / (44.25 + 136.5 + 40) * 100)


def test_a_missing_factor_leaves_the_result_incomplete_and_names_the_lines() -> None:
    result = run(
        declared_unit="t", output={"amount": 1, "unit": "t"},
        lines=[
            {"kind": "process", "gas": "co2", "amount": 100, "unit": "kg"},
            {"kind": "electricity", "grid": "cn.east", "year": 2019, "amount": 10, "unit": "kWh"},
            {"kind": "factor", "name": "adhesive", "amount": 2, "unit": "kg"},
            {"kind": "process", "gas": "sf6", "amount": 1, "unit": "g"},
            {"kind": "offer", "offer": 10, "amount": 4, "unit": "unit"},
        ],
    )  # fmt: skip
    assert result.total is None and not result.complete
    assert result.covered == 100  # what is counted, never taken for the whole
    assert [gap.line for gap in result.gaps] == [2, 3, 4, 5]
    assert "electricity.cn.east.2019" in (result.gaps[0].gap or "")
    assert "adhesive" in (result.gaps[1].gap or "")
    assert "gwp.ar6.sf6" in (result.gaps[2].gap or "")
    assert "states no footprint" in (result.gaps[3].gap or "")
    assert result.primary_share is None and result.dqr is None


def test_lines_that_cannot_be_read_are_refused_together() -> None:
    with pytest.raises(BomRefused) as refused:
        run(
            declared_unit="t", output={"amount": 1, "unit": "t"},
            lines=[
                {"kind": "offer", "offer": 9, "amount": 5, "unit": "kg"},  # a footprint per kWh
                {"kind": "offer", "offer": 404, "amount": 1, "unit": "kg"},
                {"kind": "factor", "factor": "ncv.natural_gas", "amount": 1, "unit": "kg"},
            ],
        )  # fmt: skip
    assert [(problem.line, problem.code) for problem in refused.value.problems] == [
        (1, "pcf.offer_unit"), (2, "pcf.offer_not_found"), (3, "pcf.factor_unit"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"lines": [{"kind": "electricity", "grid": "cn", "year": 2023, "amount": 1, "unit": "kg"}]}, "kWh"),
        ({"lines": [{"kind": "transport", "mode": "rail.freight_train", "amount": 1, "unit": "km"}]}, "km"),
        ({"lines": [{"kind": "process", "gas": "co2", "amount": 0, "unit": "kg"}]}, "greater than 0"),
        ({"declared_unit": "kWh"}, "measure different things"),
        ({"co_products": [{"name": "slag", "amount": 1, "unit": "t"}]}, "allocation basis"),
        (
            {"co_products": [{"name": "slag", "amount": 1, "unit": "t"}], "allocation": "economic"},
            "price",
        ),
        ({"lines": []}, "at least 1"),
    ],
)
def test_units_and_allocations_are_checked_as_typed(change: dict[str, object], says: str) -> None:
    bom: dict[str, object] = {
        "declared_unit": "t", "output": {"amount": 1, "unit": "t"},
        "lines": [{"kind": "process", "gas": "co2", "amount": 1, "unit": "kg"}],
    }  # fmt: skip
    with pytest.raises(ValidationError, match=says):
        BillOfMaterials.model_validate({**bom, **change})


def test_a_footprint_too_small_to_state_is_refused_not_rounded_to_zero() -> None:
    with pytest.raises(BomRefused) as refused:
        run(
            declared_unit="kg", output={"amount": 1e12, "unit": "kg"},
            lines=[{"kind": "process", "gas": "co2", "amount": 1e-300, "unit": "kg"}],
        )  # fmt: skip
    assert [problem.code for problem in refused.value.problems] == ["pcf.too_small"]


def test_an_input_credited_with_negative_emissions_keeps_the_share_and_ratings_in_range() -> None:
    offers = {
        **OFFERS,
        11: OfferInput(11, "biochar", "Char Co", -3, "kgCO2e/kg", verified=True, dqr=(1, 1, 1)),
    }
    bom = BillOfMaterials.model_validate(
        {
            "declared_unit": "kg",
            "output": {"amount": 10, "unit": "kg"},
            "lines": [
                {"kind": "offer", "offer": 11, "amount": 1, "unit": "kg"},  # -3
                {"kind": "process", "gas": "co2", "amount": 12, "unit": "kg"},  # 12, measured: primary
                {"kind": "transport", "mode": "road.hgv_average_laden", "amount": 10, "unit": "tkm"},
            ],
        }  # fmt: skip
    )
    result = calculate(bom, factors=FACTORS, offers=offers)
    transport = 10 * 0.10163
    assert close(result.total, (-3 + 12 + transport) / 10)
    # weighted by the magnitudes: 3 + 12 primary of 3 + 12 + 1.0163
    assert close(result.primary_share, 15 / (15 + transport) * 100)
    assert result.dqr is not None and all(1 <= rating <= 3 for rating in result.dqr)
    assert close(result.dqr[0], (3 * 1 + 12 * 1 + transport * 2) / (15 + transport))
