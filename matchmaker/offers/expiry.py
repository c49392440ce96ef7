"""Vendors hear of a verification about to end: 30 days before, an alert in their inbox (and their webhook),
once per offer and end, so that they can file new evidence in time (run by the alerts' thread)."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from matchmaker.alerts import repository as alerts
from matchmaker.db.base import utcnow
from matchmaker.db.session import transaction
from matchmaker.offers import repository
from matchmaker.verification import last_day

logger = logging.getLogger(__name__)
EVERY_SECONDS = 60.0
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
    return len(alerts.add_new(session, rows))


class ExpiryWatch:
    """Runs `warn_of_expiry` at most once every `EVERY_SECONDS`."""

    def __init__(self) -> None:
        self._last = float("-inf")

    def run(self, session_factory: sessionmaker[Session]) -> None:
        if time.monotonic() - self._last < EVERY_SECONDS:
            return
        self._last = time.monotonic()
        try:
            with transaction(session_factory) as session:
                warned = warn_of_expiry(session=session, now=utcnow())
        except Exception:  # tried again at the next run
            logger.exception("could not warn of ending verifications")
            return
        if warned:
            logger.info("warned of %d verifications ending within 30 days", warned)
