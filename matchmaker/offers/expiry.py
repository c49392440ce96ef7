"""Vendors hear of a verification about to end: 30 days before, an alert in their inbox (and their webhook),
once per offer and end, so that they can file new evidence in time (run by the alerts' thread)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from matchmaker.alerts import delivery
from matchmaker.alerts import repository as alerts
from matchmaker.db.base import utcnow
from matchmaker.offers import repository
from matchmaker.periodic import Chore
from matchmaker.verification import last_day

WARN_BEFORE = timedelta(days=30)


def warn_of_expiry(*, session: Session, now: datetime) -> int:
    """Alert each owner of a verification that ends within `WARN_BEFORE` (and has not ended); how many were
    new."""
    rows = [
        {
            "organisation_id": offer.owner_id,
            "kind": "verification_expiring",
            "key": f"verification_expiring:{offer.id}:{offer.verified_until:%Y%m%d%H%M}",
            "offer_id": offer.id,
            "details": {"offer_title": offer.title, "valid_until": str(last_day(offer.verified_until))},
        }
        for offer in repository.verification_ending_between(session, start=now, end=now + WARN_BEFORE)
    ]
    new = alerts.add_new(session, rows)
    delivery.queue(session, new)  # to the vendor's webhook too
    return len(new)


def expiry_watch() -> Chore:
    """Runs `warn_of_expiry` at most once a minute (run by the alerts' thread)."""
    return Chore(
        lambda session: warn_of_expiry(session=session, now=utcnow()),
        done="warned of %d verifications ending within 30 days",
    )
