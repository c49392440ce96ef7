"""When a footprint counts as third-party verified: the one rule, for the filters, the lists and the pages.

A footprint is verified when someone the platform trusts vouched for it: the operator (its own import, a
PACT pull) or the operator's acceptance of verification evidence the vendor submitted. A vendor's own tick
never counts. Verification holds until its end: "valid until 2027-03-31" holds through that day in
Shanghai, and ends at the first instant of the next (`end_of_day`); at that instant, exactly, it no longer
counts, whatever a background sweep has yet to write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, Protocol

from matchmaker.local_time import TIME_ZONE

Status = Literal["verified", "expired", "self_declared"]
# How long an operator-vouched footprint without a stated end holds: PACT's default validity period
# (three years after its reference period ends), counted here from the day it was vouched for.
DEFAULT_VALIDITY = timedelta(days=3 * 365)


def local_today() -> date:
    """Today in Shanghai, the calendar validity days are counted in."""
    return datetime.now(TIME_ZONE).date()


def end_of_day(day: date) -> datetime:
    """The instant a validity that runs "until `day`" ends: midnight after it, in Shanghai (the calendar's
    last day never ends)."""
    if day >= date.max:
        return datetime.max.replace(tzinfo=TIME_ZONE)
    # In UTC, as it reads back from the database: a response says it the same way before and after.
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=TIME_ZONE).astimezone(UTC)


def last_day(until: datetime | None) -> date | None:
    """The day a validity runs until, from the instant it ends (`end_of_day`'s inverse)."""
    return None if until is None else until.astimezone(TIME_ZONE).date() - timedelta(days=1)


def holds(*, verified: bool, until: datetime | None, now: datetime) -> bool:
    """Whether a verification counts at `now`: vouched for, and not past its end."""
    return verified and before_end(until, now=now)


def before_end(until: datetime | None, *, now: datetime) -> bool:
    """Whether a validity (a verification's, a footprint's) still runs at `now`; None: it states no end."""
    return until is None or now < until


def footprint_expired(offer: Verifiable, *, now: datetime) -> bool:
    """Whether the footprint itself is past its validity at `now` (verified or not)."""
    return not before_end(offer.footprint_valid_until, now=now)


def footprint_validity(stated: date | None) -> datetime:
    """When a footprint stated now stops being valid: the last day its source states (PACT's
    validityPeriodEnd), else PACT's default, three years after its reference period, taken to end today."""
    return end_of_day(stated or local_today() + DEFAULT_VALIDITY)


def by_third_party(*, verified: bool, until: datetime | None, party: str | None, now: datetime) -> bool:
    """Whether a footprint counts as verified by an independent body at `now`: a verification that holds,
    made by a third party (not the vendor itself, nor a party related to it)."""
    return holds(verified=verified, until=until, now=now) and party == "third"


@dataclass(frozen=True, slots=True)
class Verification:
    """What a badge says of a footprint's verification."""

    status: Status
    verified_by: str | None = None
    until: datetime | None = None


def of(*, verified: bool, until: datetime | None, verified_by: str | None, now: datetime) -> Verification:
    if holds(verified=verified, until=until, now=now):
        return Verification("verified", verified_by, until)
    if verified:
        return Verification("expired", verified_by, until)
    return Verification("self_declared")


class Verifiable(Protocol):
    """What the rule reads of an offer (a row of the table, or anything shaped like one)."""

    pcf_verified: bool
    pcf_value: float | None
    verified_until: datetime | None
    verified_by: str | None
    footprint_valid_until: datetime | None


def of_offer(offer: Verifiable, *, now: datetime | None = None) -> Verification:
    """The offer's verification at `now` (default: this instant); a footprint it does not state is none."""
    return of(
        verified=offer.pcf_verified and offer.pcf_value is not None,
        until=offer.verified_until,
        verified_by=offer.verified_by,
        now=now or datetime.now(UTC),
    )
