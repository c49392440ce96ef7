"""Web sessions: begin one for a key, find the key of a live one, end them; without HTTP.

Whether the key is still live and its organisation admitted is the parties service's rule, checked on every
request by the pages; this module only knows which sessions exist and until when.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from matchmaker.db.base import utcnow
from matchmaker.db.models import WebSession
from matchmaker.web_sessions import repository

# How stale `last_seen_at` may get: most page views then read the session without writing it.
SEEN_EVERY = timedelta(minutes=5)


def new_session_id() -> str:
    """A new random session id: 256 bits, URL-safe, the session cookie's whole value."""
    return secrets.token_urlsafe(32)


def hash_session_id(session_id: str) -> str:
    """What the server stores of a session id: a copy of the table opens no session."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def begin(*, session: Session, key_id: int, hours: float, replacing: str | None = None) -> str:
    """Begin a session for a signed-in key, ending the one it replaces; return its id (the cookie's value)."""
    now = utcnow()
    # Every expired session goes, whoever's: a key never used again leaves no row behind for long. Two
    # sign-ins sweeping at once may deadlock on PostgreSQL; the retry policy runs the loser again.
    repository.delete_expired(session, now=now)
    if replacing is not None:
        repository.delete_one(session, hash_session_id(replacing))
    session_id = new_session_id()
    repository.add(
        session,
        WebSession(
            id_hash=hash_session_id(session_id),
            key_id=key_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=hours),
        ),
    )
    return session_id


def key_of(*, session: Session, session_id: str | None) -> int | None:
    """The API key id of a live (begun, not ended, unexpired) session; None for any other id."""
    if session_id is None:
        return None
    id_hash = hash_session_id(session_id)
    found = repository.get(session, id_hash)
    now = utcnow()
    if found is None or found.expires_at <= now:
        return None
    if now - found.last_seen_at >= SEEN_EVERY:
        _note_visit(session=session, id_hash=id_hash, now=now)
    return found.key_id


def _note_visit(*, session: Session, id_hash: str, now: datetime) -> None:
    # Best effort, in a savepoint: on SQLite a read (GET) transaction cannot always become a writer (a
    # newer commit by another connection makes that fail at once), and a visit not recorded must not fail
    # the page the user asked for.
    try:
        with session.begin_nested():
            repository.touch(session, id_hash=id_hash, now=now, seen_before=now - SEEN_EVERY)
    except OperationalError:
        pass


def end(*, session: Session, session_id: str | None) -> None:
    """End a session (signing out); ending one that is not there is harmless."""
    if session_id is not None:
        repository.delete_one(session, hash_session_id(session_id))


def end_for_key(*, session: Session, key_id: int) -> None:
    """End every session signed in with this key (it was revoked)."""
    repository.delete_for_key(session, key_id)


def end_for_organisation(*, session: Session, organisation_id: int) -> None:
    """End every session of the organisation's keys (it was suspended)."""
    repository.delete_for_organisation(session, organisation_id)
