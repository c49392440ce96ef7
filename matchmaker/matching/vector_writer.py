"""The writer embeds what it changed: a request's transaction that changes a few offers or needs stores their
vectors in itself (`stored_vectors`), just before it commits, so that another replica's next request reads
them instead of embedding them.

Larger transactions (an import over the API) are left to the writer's catch-up after the commit
(`Engine.catch_up` stores what it embeds): embedding inside the transaction would hold SQLite's write lock,
and every other writer with it, for as long as the model takes.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

from sqlalchemy.orm import Session

from matchmaker.db.changes import before_recording
from matchmaker.matching.indexer import Catalogue, matchable_documents
from matchmaker.matching.stored_vectors import forget, store

logger = logging.getLogger(__name__)
# A transaction changing more rows than this of a kind is embedded after its commit instead (a request that
# writes one offer embeds it in about 10 ms; 32 take a fraction of a second).
IN_TRANSACTION_AT_MOST = 32


def store_vectors_in_transactions(session: Session, catalogues: Sequence[Catalogue]) -> None:
    """Store, in each transaction of `session`, the vectors of the matchable rows it changed (embedding only
    texts whose vector is not stored yet), and forget those of rows no longer matchable."""
    before_recording(session, functools.partial(_write, catalogues=catalogues))


def _write(session: Session, changes: frozenset[tuple[str, int]], *, catalogues: Sequence[Catalogue]) -> None:
    """Store the vectors of the rows `changes` names (called by the feed, before it records them).

    A failure is logged, never raised: the vectors are a saving for other processes, and the change itself
    must commit (in a savepoint, so that on PostgreSQL a failed statement does not abort it)."""
    for catalogue in catalogues:
        ids = sorted(identifier for kind, identifier in changes if kind == catalogue.kind)
        if not ids or len(ids) > IN_TRANSACTION_AT_MOST:
            continue
        try:
            with session.begin_nested():
                _store(session, catalogue, ids)
        except Exception:
            logger.exception("vectors of %s %s not stored; readers embed them", catalogue.kind, ids)


def _store(session: Session, catalogue: Catalogue, ids: list[int]) -> None:
    documents = matchable_documents(session, catalogue.kind, ids=ids)
    analyses = [catalogue.analyse(document.text) for document in documents]
    _, fresh = catalogue.vectors_for(documents, analyses=analyses, stored=catalogue.stored_in(session))
    store(session, kind=catalogue.kind, vectors=fresh)
    forget(session, kind=catalogue.kind, ids=set(ids) - {document.id for document in documents})
