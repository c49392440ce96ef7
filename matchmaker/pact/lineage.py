"""Which PCFs an offer has stated over time, read off its footprint history (`footprint_versions`).

PACT v3 never changes a footprint once shared, except to deprecate it: a different PCF is a new footprint with
a new id, whose `precedingPfIds` name the ones it replaced, and those are `Deprecated` (Technical
Specifications v3, "Product Footprint Lifecycle"). Here one PCF is a run of versions stating the same
quantity (the value per unit PACT would serve, so 620 kgCO2e/t and 0.62 tCO2e/t are one) while the offer was
published. A change of verification or status alone leaves the PCF as it was; a version never published was
never shared, so it is no PCF and does not split one.

Pure: the history comes in as `PcfVersion`s (`repository.footprint_histories`), the quantity as a function.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

PUBLISHED = "published"
Q = TypeVar("Q", bound=Hashable)


@dataclass(frozen=True, slots=True)
class PcfVersion:
    """An offer's footprint as it stood from one version of the offer on (a row of `footprint_versions`)."""

    version: int
    pcf_value: float | None
    pcf_unit: str | None
    pcf_verified: bool
    verified_until: datetime | None
    verified_by: str | None
    status: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class PcfRun(Generic[Q]):
    """One PCF: the version that first stated it (its identity), the last one (how it stood when it was
    replaced, or stands now), and when the next state took over (None while it stands)."""

    quantity: Q
    first: PcfVersion
    last: PcfVersion
    replaced_at: datetime | None = None


def pcf_runs(
    history: Sequence[PcfVersion], current: PcfVersion, *, quantity: Callable[[PcfVersion], Q | None]
) -> list[PcfRun[Q]]:
    """The offer's PCFs, oldest first. `current` is the offer as it is now (it counts whatever its status);
    `quantity` is None for a version PACT cannot express. The last run stands (`replaced_at` None) when the
    current state states a PCF, else every run was replaced."""
    known = [entry for entry in history if entry.version <= current.version]
    stated_now = quantity(current)
    if known and known[-1].status == current.status and _same_pcf(known[-1], current, stated_now, quantity):
        # The version that brought the current state; later versions changed something else (a title).
        current = dataclasses.replace(current, version=known[-1].version, recorded_at=known[-1].recorded_at)
        known.pop()
    runs: list[PcfRun[Q]] = []
    for entry in [*known, current]:
        if entry is current:
            stated = stated_now
        elif entry.status != PUBLISHED:
            continue
        else:
            stated = quantity(entry)
            if stated is None:
                continue
        if runs and stated is not None and runs[-1].quantity == stated:
            runs[-1] = dataclasses.replace(runs[-1], last=entry)
            continue
        if runs and runs[-1].replaced_at is None:
            runs[-1] = dataclasses.replace(runs[-1], replaced_at=entry.recorded_at)
        if stated is not None:
            runs.append(PcfRun(quantity=stated, first=entry, last=entry))
    return runs


def _same_pcf(
    entry: PcfVersion, current: PcfVersion, stated_now: Q | None, quantity: Callable[[PcfVersion], Q | None]
) -> bool:
    # Most offers' last version states the footprint exactly as the offer does: no need to convert it.
    same_text = (entry.pcf_value, entry.pcf_unit) == (current.pcf_value, current.pcf_unit)
    return same_text or quantity(entry) == stated_now
