"""Turn a stated footprint into the columns stored beside it (family and canonical value)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from matchmaker.units import DECLARED_UNITS, Footprint


@dataclass(frozen=True, slots=True)
class StoredFootprint:
    value: float | None
    unit: str | None
    family: str | None
    canonical: float | None


def stored_footprint(value: float | None, unit: str | None) -> StoredFootprint:
    """Parse a (value, unit) pair; both None gives an empty footprint."""
    if value is None or unit is None:
        return StoredFootprint(value=None, unit=None, family=None, canonical=None)
    footprint = Footprint.parse(value, unit)
    return StoredFootprint(
        value=value,
        unit=str(footprint.unit),
        family=footprint.family.value,
        canonical=float(footprint.canonical_value),
    )


def yearly_abatement(
    *, quantity: float | None, quantity_unit: str | None, baseline: StoredFootprint, offered: StoredFootprint
) -> float | None:
    """tCO2e a year a buyer avoids by buying `quantity` (a year's, in a declared unit) at the offered
    footprint instead of the baseline's; negative when the offer emits more. None unless the three are
    of one unit family (a tonne of steel against a footprint per kWh says nothing)."""
    if quantity is None or quantity_unit is None or baseline.canonical is None or offered.canonical is None:
        return None
    family, per_base_unit = DECLARED_UNITS[quantity_unit]
    if not (family.value == baseline.family == offered.family):
        return None
    avoided_kg = (
        Decimal(repr(quantity))
        * per_base_unit
        * (Decimal(repr(baseline.canonical)) - Decimal(repr(offered.canonical)))
    )
    return round(float(avoided_kg / 1000), 3)
