"""Chores the alerts' thread runs now and then (closing overdue needs, warning of ending verifications):
each at most once a minute, in a transaction of its own; one that fails is logged and tried at its next run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from matchmaker.db.session import transaction

logger = logging.getLogger(__name__)
EVERY_SECONDS = 60.0


class Chore:
    """`step(session)` returns how many things it did; `done` says so in the log ("closed %d needs")."""

    def __init__(self, step: Callable[[Session], int], *, done: str, every: float = EVERY_SECONDS) -> None:
        self._step, self._done, self._every = step, done, every
        self._last = float("-inf")

    def run(self, session_factory: sessionmaker[Session]) -> None:
        if time.monotonic() - self._last < self._every:
            return
        self._last = time.monotonic()
        try:
            with transaction(session_factory) as session:
                count = self._step(session)
        except Exception:  # tried again at the next run
            logger.exception("could not run a chore (%s)", self._done)
            return
        if count:
            logger.info(self._done, count)
