"""Footprint units: parse `<mass>CO2e/<declared unit>` strings and convert within a unit family.

Pure module (no FastAPI, no SQLAlchemy). Arithmetic is done in `Decimal` so that a footprint exactly at a
ceiling passes the filter after conversion (800 kgCO2e/t is exactly 0.8 kgCO2e/kg, not 0.8000000000000002).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache


class UnitFamily(StrEnum):
    """Families of declared units; conversion happens only inside one family."""

    MASS = "mass"
    ELECTRIC_ENERGY = "electric_energy"
    PV_PEAK_POWER = "pv_peak_power"
    FUEL_ENERGY = "fuel_energy"
    TRANSPORT_WORK = "transport_work"
    AREA = "area"
    VOLUME = "volume"
    COUNT = "count"


class UnitError(ValueError):
    """A unit problem. `code` names it and `values` holds what the message names, so that a page can say
    it in the reader's language; the message itself is the English one."""

    def __init__(self, message: str, *, code: str = "unit.invalid", **values: str) -> None:
        super().__init__(message)
        self.code = code
        self.values = values


class UnknownUnitError(UnitError):
    """A footprint unit string the service does not know."""


# The largest footprint value (or ceiling) taken, either sign: far above any real product's, and small
# enough that conversions between units stay exact and finite.
MAX_FOOTPRINT_MAGNITUDE = 1e12

# Emission mass (the numerator), in kg CO2e.
EMISSION_MASS_IN_KG: dict[str, Decimal] = {"g": Decimal("0.001"), "kg": Decimal(1), "t": Decimal(1000)}

# Declared units (the denominator): family and size in the family's base unit.
DECLARED_UNITS: dict[str, tuple[UnitFamily, Decimal]] = {
    "g": (UnitFamily.MASS, Decimal("0.001")),
    "kg": (UnitFamily.MASS, Decimal(1)),
    "t": (UnitFamily.MASS, Decimal(1000)),
    "Wh": (UnitFamily.ELECTRIC_ENERGY, Decimal("0.001")),
    "kWh": (UnitFamily.ELECTRIC_ENERGY, Decimal(1)),
    "MWh": (UnitFamily.ELECTRIC_ENERGY, Decimal(1000)),
    "Wp": (UnitFamily.PV_PEAK_POWER, Decimal("0.001")),
    "kWp": (UnitFamily.PV_PEAK_POWER, Decimal(1)),
    "MWp": (UnitFamily.PV_PEAK_POWER, Decimal(1000)),
    "MJ": (UnitFamily.FUEL_ENERGY, Decimal(1)),
    "GJ": (UnitFamily.FUEL_ENERGY, Decimal(1000)),
    "tkm": (UnitFamily.TRANSPORT_WORK, Decimal(1)),
    "m2": (UnitFamily.AREA, Decimal(1)),
    "L": (UnitFamily.VOLUME, Decimal("0.001")),
    "m3": (UnitFamily.VOLUME, Decimal(1)),
    "unit": (UnitFamily.COUNT, Decimal(1)),
}

# Spellings people write for the same declared unit, folded to the canonical key above.
_DECLARED_ALIASES: dict[str, str] = {
    "tonne": "t",
    "ton": "t",
    "m²": "m2",
    "m³": "m3",
    "l": "L",
    "piece": "unit",
    "pc": "unit",
    "item": "unit",
}
_CASE_FOLDED = {key.lower(): key for key in DECLARED_UNITS}
# A mass numerator, CO2e (also CO2eq, CO2-e), a slash, the declared unit; spaces are tolerated.
_UNIT_PATTERN = re.compile(r"^\s*(g|kg|t)\s*CO2[-\s]?e(?:q)?\s*/\s*(\S+)\s*$", re.IGNORECASE)


def canonical_declared_unit(text: str) -> str:
    """Return the canonical spelling of a declared unit, or raise UnknownUnitError."""
    stripped = text.strip()
    if stripped in DECLARED_UNITS:
        return stripped
    folded = _DECLARED_ALIASES.get(stripped) or _DECLARED_ALIASES.get(stripped.lower())
    if folded:
        return folded
    if stripped.lower() in _CASE_FOLDED and stripped.lower() not in {"mwh", "mwp"}:
        # "kwh" and "KWH" are unambiguous; "mwh" could be milli- or mega-, so it must be spelled right.
        return _CASE_FOLDED[stripped.lower()]
    known = ", ".join(DECLARED_UNITS)
    raise UnknownUnitError(
        f"unknown declared unit {text!r}; known units: {known}",
        code="unit.unknown_declared",
        unit=text,
        known=known,
    )


@dataclass(frozen=True, slots=True)
class FootprintUnit:
    """A parsed footprint unit such as tCO2e/t."""

    emission_mass: str
    declared_unit: str

    @property
    def family(self) -> UnitFamily:
        return DECLARED_UNITS[self.declared_unit][0]

    @property
    def factor(self) -> Decimal:
        """kgCO2e per family base unit for a value of 1 in this unit (tCO2e/t -> 1 kgCO2e/kg)."""
        return EMISSION_MASS_IN_KG[self.emission_mass] / DECLARED_UNITS[self.declared_unit][1]

    def __str__(self) -> str:
        return f"{self.emission_mass}CO2e/{self.declared_unit}"


@lru_cache(maxsize=1024)
def parse_unit(text: str) -> FootprintUnit:
    """Parse a footprint unit string such as 'kgCO2e/kWh', or raise UnknownUnitError.

    Cached: a catalogue uses a handful of unit strings, and matching checks every candidate's."""
    match = _UNIT_PATTERN.match(text)
    if not match:
        raise UnknownUnitError(
            f"unknown footprint unit {text!r}; expected <g|kg|t>CO2e/<declared unit>, e.g. kgCO2e/kg, "
            "tCO2e/t, gCO2e/MJ, kgCO2e/kWh",
            code="unit.unknown",
            unit=text,
        )
    mass = {"g": "g", "kg": "kg", "t": "t"}[match.group(1).lower()]
    return FootprintUnit(emission_mass=mass, declared_unit=canonical_declared_unit(match.group(2)))


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """Turn a number into the Decimal a person wrote (0.62, not 0.61999999999999999555910790149937)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


@dataclass(frozen=True, slots=True)
class Footprint:
    """A footprint quantity: a value in a unit."""

    value: Decimal
    unit: FootprintUnit

    @classmethod
    def parse(cls, value: float | int | str | Decimal, unit: str) -> Footprint:
        return cls(value=to_decimal(value), unit=parse_unit(unit))

    @property
    def family(self) -> UnitFamily:
        return self.unit.family

    @property
    def canonical_value(self) -> Decimal:
        """The value in kgCO2e per the family's base unit (kg, kWh, kWp, MJ, tkm, m2, m3, unit)."""
        return self.value * self.unit.factor

    def converts_to(self, unit: FootprintUnit) -> bool:
        return self.unit.family == unit.family

    def convert(self, unit: FootprintUnit) -> Decimal:
        """Return the value expressed in `unit`; raise UnitError (a ValueError) across families."""
        if not self.converts_to(unit):
            raise UnitError(
                f"cannot convert {self.unit} ({self.family.value}) to {unit} ({unit.family.value})",
                code="unit.unconvertible",
                unit=str(self.unit),
                family=self.family.value,
                target=str(unit),
                target_family=unit.family.value,
            )
        return (self.canonical_value / unit.factor).normalize()
