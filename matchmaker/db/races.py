"""Which database errors are a transaction lost to a concurrent one (and so worth running again).

The retry policy (`matchmaker.retries`), the CLI and the imports ask this one question; its answer
depends on the database only, not on HTTP.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Literal

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

Loss = Literal["race", "busy"]
_POSTGRES_RETRYABLE = {"40001", "40P01"}  # serialization_failure, deadlock_detected
# unique_violation: two writers inserted the same name at once; run again, the loser's own check sees the
# winner's row and refuses with its reason (409), where the database's refusal would have been a 500.
_POSTGRES_DUPLICATE = "23505"
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


def lost_race(error: BaseException) -> Loss | None:
    """Whether the error is a transaction lost to a concurrent one: "race" (another writer changed the
    row first), "busy" (the database gave up waiting or broke a deadlock), or None (a real failure)."""
    for cause in _causes(error):
        if isinstance(cause, StaleDataError):
            return "race"
        original = cause.orig if isinstance(cause, DBAPIError) else cause
        if getattr(original, "sqlstate", None) in _POSTGRES_RETRYABLE:
            return "busy"
        if getattr(original, "sqlstate", None) == _POSTGRES_DUPLICATE:
            return "race"
        # The extended codes (SQLITE_BUSY_SNAPSHOT and the like) keep the primary code in the low byte.
        code = (
            getattr(original, "sqlite_errorcode", 0) if isinstance(original, sqlite3.OperationalError) else 0
        )
        if code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return "busy"
    return None


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, the errors it was raised from or during, and those inside an exception group."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
