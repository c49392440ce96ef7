"""Needs close themselves after their last day for offers (`respond_by`, Shanghai's calendar)."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from matchmaker.db.session import transaction
from matchmaker.local_time import TIME_ZONE
from matchmaker.needs.service import close_overdue

logger = logging.getLogger(__name__)
EVERY_SECONDS = 60.0


class DeadlineKeeper:
    """Closes overdue needs, at most once every `EVERY_SECONDS` (run by the alerts' thread)."""

    def __init__(self) -> None:
        self._last = float("-inf")

    def run(self, session_factory: sessionmaker[Session]) -> None:
        if time.monotonic() - self._last < EVERY_SECONDS:
            return
        self._last = time.monotonic()
        try:
            with transaction(session_factory) as session:
                closed = close_overdue(session=session, today=datetime.now(TIME_ZONE).date())
        except Exception:  # tried again at the next run
            logger.exception("could not close the overdue needs")
            return
        if closed:
            logger.info("closed %d needs past their last day for offers", len(closed))
