"""The feed of committed changes: every offer, need, organisation (its admission), alliance and alliance
membership a transaction inserts, updates or deletes is written to the `changes` table in that
transaction, and consumers follow the table by position.

Recording is a property of every session (listeners on the Session class), so no writer can forget it: the
API, the CLI, imports and PACT pulls alike. The rows are inserted just before the commit (the ids the
transaction touched are collected at each flush), so a change id is taken moments before its transaction
commits. Two transactions can still commit in the other order than their ids (PostgreSQL hands out ids
from a sequence): a `FeedCursor` remembers the ids it skipped over and asks for them again until they
appear or are old enough to belong to a transaction that rolled back.

After a commit the session keeps the set of what it changed (`committed_changes`), for the writer's own
process to apply at once (`Engine.catch_up`), so the next request on any replica sees a committed change:
that replica's consumers read the feed before they answer.

The feed is pruned of changes older than a day (`prune`, by each served app's follower): it serves the
processes running now, which read it every second. A consumer whose cursor has not read for half that time
(`FeedCursor.outlived`: a process stopped for hours) reconciles with the tables in full instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, delete, event, func, insert, or_, select, text
from sqlalchemy.orm import Session, SessionTransaction

from matchmaker.db.base import utcnow
from matchmaker.db.models import Alliance, Change, Membership, Need, Offer, Organisation

# What is followed, by the name consumers know it by.
FOLLOWED: dict[type, str] = {
    Offer: "offers",
    Need: "needs",
    Organisation: "organisations",
    Membership: "memberships",
    Alliance: "alliances",
}
_PENDING = "matchmaker.feed.pending"
_COMMITTED = "matchmaker.feed.committed"
_BEFORE_RECORDING = "matchmaker.feed.before_recording"
# Work that must commit with a transaction's changes or not at all (`before_recording`).
RecordingHook = Callable[[Session, frozenset[tuple[str, int]]], None]
# PostgreSQL's channel for "changes committed": delivered at commit, to every process listening.
CHANNEL = "matchmaker_changes"
# A skipped id still missing after this long belongs to a transaction that rolled back (ids are taken
# moments before the commit, so a live transaction fills its gap within milliseconds).
GAP_PATIENCE_SECONDS = 60.0
# Changes are kept this long, then pruned (`prune`): the feed is for the processes running now, which read
# it every second or on every request; a process starting reconciles with the tables themselves.
KEEP_SECONDS = 24 * 3600.0
# A cursor that has not read for this long may have missed changes pruned meanwhile (`outlived`): its
# consumer reconciles in full instead. Half of KEEP_SECONDS leaves room for clocks that disagree.
OUTLIVED_AFTER_SECONDS = KEEP_SECONDS / 2


def _pending(session: Session) -> set[tuple[str, int]]:
    pending: set[tuple[str, int]] = session.info.setdefault(_PENDING, set())
    return pending


@event.listens_for(Session, "after_flush")
def _collect(session: Session, context: Any) -> None:
    """Note the followed rows this flush wrote (new ones have their ids by now)."""
    touched = [
        *session.new,
        *session.deleted,
        *(obj for obj in session.dirty if session.is_modified(obj, include_collections=False)),
    ]
    found = [(FOLLOWED[type(obj)], obj.id) for obj in touched if type(obj) in FOLLOWED]
    if found:
        _pending(session).update(found)


@event.listens_for(Session, "before_commit")
def _record(session: Session) -> None:
    """Write the transaction's changes to the feed, last, just before it commits."""
    if session.in_nested_transaction():
        return  # a savepoint released: its changes are written with the whole transaction's, once
    session.flush()  # the commit's own flush comes after this hook: what it writes must be noted too
    session.info.pop(_COMMITTED, None)  # what an earlier commit changed, if nobody took it
    pending = frozenset(session.info.pop(_PENDING, ()))
    if not pending:
        return
    for hook in session.info.get(_BEFORE_RECORDING, ()):
        hook(session, pending)
    session.execute(insert(Change), [{"kind": kind, "row_id": row_id} for kind, row_id in sorted(pending)])
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    session.info[_COMMITTED] = pending


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction: SessionTransaction) -> None:
    """Forget the changes of a transaction rolled back. A savepoint rolled back keeps them: what was flushed
    before it stays in the transaction, and an id noted in it that came to nothing only makes a consumer
    read a row again (and find it unchanged or gone), where an id forgotten would be a change never seen."""
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_COMMITTED, None)


def before_recording(session: Session, hook: RecordingHook) -> None:
    """Have `hook` run in each transaction of `session` that changed followed rows, with those changes,
    just before they are recorded: what it writes commits with them or not at all."""
    hooks: list[RecordingHook] = session.info.setdefault(_BEFORE_RECORDING, [])
    hooks.append(hook)


def committed_changes(session: Session) -> frozenset[tuple[str, int]]:
    """What the session's last commit changed, as (kind, id); taken once."""
    committed: frozenset[tuple[str, int]] = session.info.pop(_COMMITTED, frozenset())
    return committed


def recorded_for_commit(session: Session) -> frozenset[tuple[str, int]]:
    """What the transaction committing now changed (from the moment its changes are recorded), or the last
    commit did; left for `committed_changes` to take."""
    committed: frozenset[tuple[str, int]] = session.info.get(_COMMITTED, frozenset())
    return committed


def latest_position(session: Session) -> int:
    return int(session.scalar(select(func.max(Change.id))) or 0)


def prune(session: Session, *, keep_seconds: float = KEEP_SECONDS) -> int:
    """Delete the changes recorded more than `keep_seconds` ago (the latest one always stays, so that
    positions never go back); how many were deleted."""
    horizon = utcnow() - timedelta(seconds=keep_seconds)
    latest = latest_position(session)
    result = session.execute(delete(Change).where(Change.recorded_at < horizon, Change.id < latest))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass
class FeedCursor:
    """A consumer's place in the feed: every change up to `position` has been read but `gaps` (ids at or
    below it not seen yet, with when they were first missed), which are asked for again."""

    kind: str
    position: int = 0
    gaps: dict[int, float] = field(default_factory=dict)
    read_at: float = field(default_factory=time.time)  # wall clock: compared with the rows' recorded_at

    def copy(self) -> FeedCursor:
        return FeedCursor(self.kind, self.position, dict(self.gaps), self.read_at)

    def outlived(self) -> bool:
        """Whether changes it has not read may have been pruned: its consumer must reconcile in full."""
        return time.time() - self.read_at > OUTLIVED_AFTER_SECONDS

    def read(self, session: Session, *, shared: SharedRead | None = None) -> set[int]:
        """The ids of this kind's rows changed since the last read."""
        return self.read_kinds(session, shared=shared).get(self.kind, set())

    def read_kinds(self, session: Session, *, shared: SharedRead | None = None) -> dict[str, set[int]]:
        """The ids of the rows of every kind changed since the last read, by kind: read from the feed, or
        taken from a read made for several cursors (`read_shared`), this one among them."""
        if shared is None or not shared.covers(self):
            read_at = time.time()
            rows = _changes_after(session, self.position, self.gaps)
        else:
            read_at = shared.read_at
            rows = [row for row in shared.rows if row[0] > self.position or row[0] in self.gaps]
        self._advance(change_id for change_id, _, _ in rows)
        self.read_at = max(self.read_at, read_at)
        changed: dict[str, set[int]] = {}
        for _, kind, row_id in rows:
            changed.setdefault(kind, set()).add(row_id)
        return changed

    def _advance(self, seen: Iterable[int]) -> None:
        seen = set(seen)
        now = time.monotonic()
        for change_id in seen:
            self.gaps.pop(change_id, None)
        top = max(seen, default=self.position)
        for change_id in range(self.position + 1, top):
            if change_id not in seen:
                self.gaps.setdefault(change_id, now)
        self.position = max(self.position, top)
        for change_id, since in list(self.gaps.items()):
            if now - since > GAP_PATIENCE_SECONDS:
                del self.gaps[change_id]


def _changes_after(session: Session, position: int, gaps: Iterable[int]) -> list[tuple[int, str, int]]:
    """The changes (id, kind, row id) after a position, and those of the given ids."""
    condition = Change.id > position
    if gaps := list(gaps):
        condition = or_(condition, Change.id.in_(gaps))
    statement = select(Change.id, Change.kind, Change.row_id).where(condition)
    return [(change_id, kind, row_id) for change_id, kind, row_id in session.execute(statement)]


@dataclass(frozen=True)
class SharedRead:
    """One read of the feed for several cursors (a match brings the offers' index and filter table up to
    date: one query, not one each): every change after the lowest of their positions, and every change any
    of them is waiting for."""

    rows: list[tuple[int, str, int]]
    read_at: float
    position: int  # every change after it was read
    gaps: frozenset[int]  # and these, at or below it

    def covers(self, cursor: FeedCursor) -> bool:
        """Whether it holds every change the cursor has not seen, as of the read. A cursor can fall back
        after the read (a sync that failed puts back its place), and then reads on its own."""
        return cursor.position >= self.position and all(
            gap in self.gaps for gap in list(cursor.gaps) if gap <= self.position
        )


def read_shared(session: Session, cursors: Iterable[FeedCursor]) -> SharedRead:
    """Read the feed once for these cursors (each then takes its part with `read_kinds(shared=...)`)."""
    cursors = list(cursors)
    read_at = time.time()
    position = min((cursor.position for cursor in cursors), default=0)
    gaps = frozenset(gap for cursor in cursors for gap in list(cursor.gaps) if gap <= position)
    return SharedRead(_changes_after(session, position, gaps), read_at, position, gaps)


class ChangeSignal:
    """Wakes a follower of the feed when changes are committed: PostgreSQL's LISTEN/NOTIFY (on a connection
    of its own, outside the pool), or on SQLite simply every `poll_seconds`."""

    def __init__(self, database: Engine, *, poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self._listener: Any = None
        if database.dialect.name == "postgresql":
            import psycopg

            url = database.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._listener = psycopg.connect(url, autocommit=True)
            self._listener.execute(f"LISTEN {CHANNEL}")

    def wait(self) -> None:
        """Return when changes were committed, or after `poll_seconds` at the latest."""
        if self._listener is None:
            time.sleep(self.poll_seconds)
            return
        for _ in self._listener.notifies(timeout=self.poll_seconds, stop_after=1):
            pass

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
