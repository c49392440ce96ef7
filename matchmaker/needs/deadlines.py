"""Needs close themselves after their last day for offers (`respond_by`, Shanghai's calendar)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from matchmaker.local_time import TIME_ZONE
from matchmaker.needs.service import close_overdue
from matchmaker.periodic import Chore


def _close_overdue(session: Session) -> int:
    return len(close_overdue(session=session, today=datetime.now(TIME_ZONE).date()))


def deadline_keeper() -> Chore:
    """Closes overdue needs, at most once a minute (run by the alerts' thread)."""
    return Chore(_close_overdue, done="closed %d needs past their last day for offers")
