"""SQL for web sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from matchmaker.db.models import ApiKey, WebSession


def get(session: Session, id_hash: str) -> WebSession | None:
    return session.get(WebSession, id_hash)


def add(session: Session, web_session: WebSession) -> WebSession:
    session.add(web_session)
    session.flush()
    return web_session


def touch(session: Session, *, id_hash: str, now: datetime, seen_before: datetime) -> None:
    """Record a visit, unless one at or after `seen_before` is already recorded (another request did it)."""
    session.execute(
        update(WebSession)
        .where(WebSession.id_hash == id_hash, WebSession.last_seen_at < seen_before)
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )


def delete_one(session: Session, id_hash: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id_hash == id_hash))


def delete_expired(session: Session, *, now: datetime) -> None:
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))


def delete_for_key(session: Session, key_id: int) -> None:
    session.execute(delete(WebSession).where(WebSession.key_id == key_id))


def delete_for_organisation(session: Session, organisation_id: int) -> None:
    keys = select(ApiKey.id).where(ApiKey.organisation_id == organisation_id).scalar_subquery()
    session.execute(delete(WebSession).where(WebSession.key_id.in_(keys)))
