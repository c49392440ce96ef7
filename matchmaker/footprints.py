"""Turn a stated footprint into the columns stored beside it (family and canonical value)."""

from __future__ import annotations

from dataclasses import dataclass

from matchmaker.units import Footprint


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
