"""Side effects of changes: after a commit, re-embed or drop the changed offers and needs.

Services call these after flushing a change. The index is updated only once the transaction commits
(SQLAlchemy's after_commit), so a rolled-back change never reaches it; the next request already sees a
committed one. Without an engine on the session (the CLI writing straight to the database), nothing
happens here: a running server picks the rows up with its `sync`, and `matchmaker index rebuild` or the
next start reconciles.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from matchmaker.db.models import Need, Offer
from matchmaker.matching.indexer import Document, Kind, offer_text

logger = logging.getLogger(__name__)
ENGINE_KEY = "matchmaker.engine"
PENDING_KEY = "matchmaker.pending_index_changes"


def attach_engine(session: Session, engine: Any) -> None:
    """Let services on this session update the engine's indexes after commits."""
    session.info[ENGINE_KEY] = engine


def _pending(session: Session) -> dict[tuple[Kind, int], Document | None] | None:
    engine = session.info.get(ENGINE_KEY)
    if engine is None:
        return None
    pending: dict[tuple[Kind, int], Document | None] | None = session.info.get(PENDING_KEY)
    if pending is None:
        pending = {}
        session.info[PENDING_KEY] = pending
        event.listen(session, "after_commit", _apply, once=True)
        event.listen(session, "after_soft_rollback", _forget, once=True)
    return pending


def _apply(session: Session) -> None:
    engine = session.info.get(ENGINE_KEY)
    pending = session.info.pop(PENDING_KEY, None) or {}
    if engine is None:
        return
    for (kind, identifier), document in pending.items():
        catalogue = engine.catalogue(kind)
        try:
            if document is None:
                catalogue.drop([identifier])
                if kind == "offers":  # archived or deleted: not a candidate before the next sync either
                    engine.offer_table.forget([identifier])
            elif catalogue.versions.get(identifier) != document.version:
                # The same version is the same row: a save that changed nothing is not embedded again.
                catalogue.put([document])
        except Exception:  # the database is right; the next sync or start repairs the index
            logger.exception("could not update the %s index for id %s", kind, identifier)


def _forget(session: Session, previous_transaction: Any) -> None:
    session.info.pop(PENDING_KEY, None)


def offer_changed(session: Session, offer: Offer) -> None:
    """Index a published offer's new version, or drop an offer that is no longer published."""
    pending = _pending(session)
    if pending is not None:
        document = Document(offer.id, offer.version, offer_text(offer))
        pending[("offers", offer.id)] = document if offer.status == "published" else None


def offer_deleted(session: Session, offer_id: int) -> None:
    pending = _pending(session)
    if pending is not None:
        pending[("offers", offer_id)] = None


def need_changed(session: Session, need: Need) -> None:
    """Index an open need's new version, or drop a closed one."""
    pending = _pending(session)
    if pending is not None:
        pending[("needs", need.id)] = (
            Document(need.id, need.version, need.text) if need.status == "open" else None
        )


def need_deleted(session: Session, need_id: int) -> None:
    pending = _pending(session)
    if pending is not None:
        pending[("needs", need_id)] = None
