"""Vendors hear of a verification, or a footprint's own validity, about to end: 30 days before, an alert
in their inbox (and their webhook), once per offer and end, so that they can file new evidence or state a
current footprint in time (run by the alerts' thread)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from matchmaker.alerts import delivery
from matchmaker.alerts import repository as alerts
from matchmaker.alerts.rules import AlertKind
from matchmaker.db.base import utcnow
from matchmaker.db.models import Offer
from matchmaker.offers import repository
from matchmaker.periodic import Chore
from matchmaker.verification import last_day

WARN_BEFORE = timedelta(days=30)


def warn_of_expiry(*, session: Session, now: datetime) -> int:
    """Alert each owner of a verification, or a footprint's own validity, that ends within `WARN_BEFORE`
    (and has not ended); how many were new."""
    window = {"start": now, "end": now + WARN_BEFORE}
    rows = [
        _warning(offer, "verification_expiring", offer.verified_until)
        for offer in repository.verification_ending_between(session, **window)
    ] + [
        _warning(offer, "footprint_expiring", offer.footprint_valid_until)
        for offer in repository.validity_ending_between(session, **window)
    ]
    new = alerts.add_new(session, rows)
    delivery.queue(session, new)  # to the vendor's webhook too
    return len(new)


def _warning(offer: Offer, kind: AlertKind, until: datetime | None) -> dict[str, Any]:
    assert until is not None  # the queries select offers whose end is in the window
    return {
        "organisation_id": offer.owner_id,
        "kind": kind,
        "key": f"{kind}:{offer.id}:{until:%Y%m%d%H%M}",
        "offer_id": offer.id,
        "details": {"offer_title": offer.title, "valid_until": str(last_day(until))},
    }


def expiry_watch() -> Chore:
    """Runs `warn_of_expiry` at most once a minute (run by the alerts' thread)."""
    return Chore(
        lambda session: warn_of_expiry(session=session, now=utcnow()),
        done="warned of %d verifications or footprints ending within 30 days",
    )
