"""The writer embeds what it changed: the vectors of the offers and needs a transaction changed are stored in
that transaction (`stored_vectors`), just before it commits, so no other process embeds them again."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from matchmaker.db.changes import before_recording
from matchmaker.matching.indexer import EMBED_BATCH, Catalogue, Progress, matchable_documents
from matchmaker.matching.stored_vectors import forget, store


class VectorWriter:
    """Stores, in each transaction of the sessions it is attached to, the vectors of the matchable rows the
    transaction changed (embedding only texts whose vector is not stored yet), and forgets those of rows
    no longer matchable."""

    def __init__(self, catalogues: Sequence[Catalogue], *, progress: Progress | None = None) -> None:
        self._catalogues = catalogues
        self._progress = progress

    def attach(self, session: Session) -> None:
        before_recording(session, self.write)

    def write(self, session: Session, changes: frozenset[tuple[str, int]]) -> None:
        """Store the vectors of the rows `changes` names (called by the feed, before it records them)."""
        for catalogue in self._catalogues:
            ids = sorted(identifier for kind, identifier in changes if kind == catalogue.kind)
            stored = catalogue.stored_in(session)
            for start in range(0, len(ids), EMBED_BATCH):
                chunk = ids[start : start + EMBED_BATCH]
                documents = matchable_documents(session, catalogue.kind, ids=chunk)
                analyses = [catalogue.analyse(document.text) for document in documents]
                _, fresh = catalogue.vectors_for(documents, analyses, stored)
                store(session, catalogue.kind, fresh)
                forget(session, catalogue.kind, set(chunk) - {document.id for document in documents})
                if self._progress is not None:
                    self._progress(len(chunk))
