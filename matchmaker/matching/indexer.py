"""Keep the vector indexes in step with the database, which is the source of truth.

One `Catalogue` per kind (offers, needs) holds the vectors, each entry's version and lexical terms. It follows
the feed of committed changes (`db.changes`): `sync` reads the rows changed since its place in the feed,
whichever process changed them (the writer's own process syncs right after its commit). At start-up the saved
index is reconciled with the database by version, so a crash at any moment loses no offer: what was not saved
is re-embedded, and what was deleted meanwhile is dropped. Results are always re-checked against the database,
so an entry that is briefly stale can never surface an offer that is not eligible.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from matchmaker.db.changes import FeedCursor, SharedRead, latest_position
from matchmaker.db.models import Need, Offer
from matchmaker.db.query import ID_CHUNK
from matchmaker.db.session import connection_first
from matchmaker.matching.stored_vectors import Stored, embedding_digest, read_stored
from matchmaker.matching.text import CONCEPT_PREFIX, Analysis, Analyzer, TermStatistics
from matchmaker.vectors.embedder import Embedder, Vectors
from matchmaker.vectors.index import (
    IndexMismatch,
    VectorIndex,
    _atomic_write_bytes,
    load_index,
    new_index,
    read_manifest,
)
from matchmaker.vectors.kinds import DEFAULT_INDEX_KIND

logger = logging.getLogger(__name__)
Kind = Literal["offers", "needs"]
# Where `put` hands the vectors it had to embed, with their kind, for the caller to store.
Keep = Callable[[Kind, dict[int, Stored]], None]
Progress = Callable[[int], None]
# Where `put` looks for the vectors writers stored (`stored_vectors`), so that no process embeds a text twice.
StoredLookup = Callable[[Sequence[int]], Mapping[int, Stored]]
EMBED_BATCH = 256


@dataclass(frozen=True, slots=True)
class Document:
    """A row to index: its id, version and the text matching reads."""

    id: int
    version: int
    text: str


@dataclass
class Drift:
    """How an index differs from the database."""

    missing: list[int] = field(default_factory=list)  # matchable rows with no vector
    stale: list[int] = field(default_factory=list)  # vectors of an older version
    ghosts: list[int] = field(default_factory=list)  # vectors of rows that are gone or not matchable

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.ghosts)


def offer_text(offer: Offer) -> str:
    """What an offer is matched on: its title and description."""
    return join_offer_text(offer.title, offer.description)


def join_offer_text(title: str, description: str) -> str:
    return f"{title}\n{description}".strip()


# The status of the rows that belong in the index: published offers, open needs.
MATCHABLE_STATUS: dict[Kind, str] = {"offers": "published", "needs": "open"}


def _matchable(kind: Kind, *columns: Any) -> Select[Any]:
    """A query over the rows that belong in the index."""
    table = Offer if kind == "offers" else Need
    return (
        select(*columns).select_from(table).where(table.status == MATCHABLE_STATUS[kind]).order_by(table.id)
    )


def matchable_documents(session: Session, kind: Kind, *, ids: Sequence[int] | None = None) -> list[Document]:
    """The rows that belong in the index with their texts (all, or those of `ids`, read in chunks)."""
    if ids is None:
        return _documents(session, kind, None)
    ids = list(ids)
    return [
        doc
        for start in range(0, len(ids), ID_CHUNK)
        for doc in _documents(session, kind, ids[start : start + ID_CHUNK])
    ]


def _documents(session: Session, kind: Kind, ids: list[int] | None) -> list[Document]:
    if ids is not None:
        return _documents_by_id(session, kind, ids)
    if kind == "offers":
        offers = _matchable(kind, Offer.id, Offer.version, Offer.title, Offer.description)
        return [Document(i, v, join_offer_text(t, d)) for i, v, t, d in session.execute(offers)]
    needs = _matchable(kind, Need.id, Need.version, Need.text)
    return [Document(i, v, t) for i, v, t in session.execute(needs)]


def _documents_by_id(session: Session, kind: Kind, ids: list[int]) -> list[Document]:
    """The matchable rows among `ids`, looked up by primary key; the status is checked here, not in SQL:
    with it in the query SQLite searches the status index instead, every published offer for each chunk
    of ids (at 1,000,000 offers 0.16 s a chunk instead of 1.3 ms)."""
    if kind == "offers":
        offers = select(Offer.id, Offer.version, Offer.title, Offer.description, Offer.status)
        rows = session.execute(offers.where(Offer.id.in_(ids)).order_by(Offer.id))
        wanted = MATCHABLE_STATUS[kind]
        return [Document(i, v, join_offer_text(t, d)) for i, v, t, d, status in rows if status == wanted]
    needs = select(Need.id, Need.version, Need.text, Need.status).where(Need.id.in_(ids)).order_by(Need.id)
    return [
        Document(i, v, t) for i, v, t, status in session.execute(needs) if status == MATCHABLE_STATUS[kind]
    ]


def matchable_versions(session: Session, kind: Kind) -> list[Document]:
    """The rows that belong in the index with their versions only (texts left empty): what drift needs."""
    table = Offer if kind == "offers" else Need
    return [Document(i, v, "") for i, v in session.execute(_matchable(kind, table.id, table.version))]


def count_matchable(session: Session, kind: Kind) -> int:
    """How many rows belong in the index (for a progress bar), without reading them."""
    return int(session.scalar(_matchable(kind, func.count()).order_by(None)) or 0)


@contextmanager
def _saved_files_held(directory: Path, *, exclusive: bool) -> Iterator[None]:
    """A lock on a saved index's files across processes: worker processes of one server share a data
    directory, and a load must never read one save's vectors with another's entries (entries newer than
    their vectors would pass for current). Saves hold it alone; loads together."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Analyses(Mapping[int, Analysis]):
    """A catalogue's analyses by row id, kept compact: each row's lexical terms as one tuple of interned
    strings (one string per term of the vocabulary, not one per mention), and the bridged text apart, for
    the rows analysed in this process (a saved index keeps none). An `Analysis` is made when asked for,
    which matching does for the few rows it scores. At 100,000 offers the analyses took 97 MB as frozensets
    in `Analysis` objects (a thousand bytes a row)."""

    def __init__(self) -> None:
        self._terms: dict[int, tuple[str, ...]] = {}
        self._bridged: dict[int, str] = {}

    def __getitem__(self, identifier: int) -> Analysis:
        terms = self._terms[identifier]
        return Analysis(
            concepts=frozenset(term for term in terms if term.startswith(CONCEPT_PREFIX)),
            terms=frozenset(term for term in terms if not term.startswith(CONCEPT_PREFIX)),
            bridged=self._bridged.get(identifier, ""),
        )

    def __iter__(self) -> Iterator[int]:
        return iter(self._terms)

    def __len__(self) -> int:
        return len(self._terms)

    def __contains__(self, identifier: object) -> bool:
        return identifier in self._terms

    def lexical_terms_of(self, identifier: int) -> frozenset[str]:
        """The row's lexical terms as a set, none for a row not held: what scoring compares with a query's."""
        return frozenset(self._terms.get(identifier, ()))

    def keep(self, identifier: int, analysis: Analysis) -> None:
        self.keep_terms(identifier, analysis.lexical_terms)
        if analysis.bridged:
            self._bridged[identifier] = analysis.bridged
        else:
            self._bridged.pop(identifier, None)

    def keep_terms(self, identifier: int, terms: Iterable[str]) -> None:
        self._terms[identifier] = tuple(sorted(map(sys.intern, terms)))

    def forget(self, identifier: int) -> tuple[str, ...]:
        """Drop the row; its lexical terms."""
        self._bridged.pop(identifier, None)
        return self._terms.pop(identifier)

    def every_lexical_terms(self) -> dict[int, tuple[str, ...]]:
        """Every row's lexical terms, as a copy to read while the analyses change (the tuples are shared:
        immutable)."""
        return dict(self._terms)


class ChangedIds:
    """A growing set of ids, safe to read while another thread adds to it."""

    def __init__(self) -> None:
        self._ids: set[int] = set()
        self._lock = threading.Lock()

    def add(self, ids: Iterable[int]) -> None:
        with self._lock:
            self._ids.update(int(identifier) for identifier in ids)

    def copy(self) -> frozenset[int]:
        with self._lock:
            return frozenset(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


class Catalogue:
    """The vectors, versions and lexical terms of one kind of row."""

    def __init__(
        self,
        *,
        kind: Kind,
        embedder: Embedder,
        analyzer: Analyzer,
        directory: Path | None,
        index_kind: str = DEFAULT_INDEX_KIND,
    ) -> None:
        """`kind` "needs" analyses its texts as queries (without their footprint quantities)."""
        self.kind = kind
        self.embedder = embedder
        self.analyzer = analyzer
        self.directory = directory
        self.index_kind = index_kind
        self.index: VectorIndex = new_index(index_kind, embedder.identity.dim)
        self.versions: dict[int, int] = {}
        self.analyses = Analyses()
        self.statistics = TermStatistics()
        self.cursor: FeedCursor | None = None  # where in the feed of changes the index is
        self.dirty = False
        self._lock = threading.RLock()
        self._syncing = threading.Lock()  # one sync at a time (`sync`)
        self._watchers: list[ChangedIds] = []
        self.changes = 0  # puts and drops: what was computed from it may be out of date
        self.embedded = 0  # texts this process embedded (the rest were read from the stored vectors)

    # --- identity -----------------------------------------------------------------------------------
    @property
    def pipeline_digest(self) -> str:
        """A digest of what turns text into index entries besides the model (the glossary)."""
        glossary = self.analyzer.glossary
        rows = sorted((c.id, c.english, c.chinese) for c in glossary.concepts.values())
        return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()[:16]

    # --- changes ------------------------------------------------------------------------------------
    def analyse(self, text: str) -> Analysis:
        """What matching reads of a row's text (needs as queries, without their footprint quantities)."""
        return self.analyzer.analyze_query(text) if self.kind == "needs" else self.analyzer.analyze(text)

    def vectors_for(
        self, documents: Sequence[Document], *, analyses: Sequence[Analysis], stored: StoredLookup | None
    ) -> tuple[Vectors, dict[int, Stored]]:
        """The documents' vectors: those `stored` holds for the very text and model, the rest embedded here
        (returned apart, for a writer to store)."""
        identity = self.embedder.identity
        digests = [embedding_digest(identity, analysis.bridged) for analysis in analyses]
        found = stored([doc.id for doc in documents]) if stored is not None and documents else {}
        vectors = np.empty((len(documents), identity.dim), dtype=np.float32)
        missing: list[int] = []
        for row, (doc, digest) in enumerate(zip(documents, digests, strict=True)):
            item = found.get(doc.id)
            if item is not None and item.digest == digest and item.vector.shape == (identity.dim,):
                vectors[row] = item.vector
            else:
                missing.append(row)
        fresh: dict[int, Stored] = {}
        if missing:
            encoded = self.embedder.encode_documents([analyses[row].bridged for row in missing])
            for row, vector in zip(missing, encoded, strict=True):
                vectors[row] = vector
                fresh[documents[row].id] = Stored(digests[row], vectors[row].copy())
            self.embedded += len(missing)
        return vectors, fresh

    def put(
        self,
        documents: Sequence[Document],
        progress: Progress | None = None,
        *,
        stored: StoredLookup | None = None,
        keep: Keep | None = None,
    ) -> None:
        """Index documents (new or changed) in batches: each one's vector from `stored` when it holds the
        vector of that very text, otherwise embedded here (and handed to `keep`, to store it)."""
        for start in range(0, len(documents), EMBED_BATCH):
            batch = documents[start : start + EMBED_BATCH]
            analyses = [self.analyse(doc.text) for doc in batch]
            vectors, fresh = self.vectors_for(batch, analyses=analyses, stored=stored)
            if keep is not None and fresh:
                keep(self.kind, fresh)
            with self._lock:
                for doc, analysis in zip(batch, analyses, strict=True):
                    if doc.id in self.analyses:
                        self.statistics.remove(self.analyses.forget(doc.id), doc.id)
                    self.statistics.add(analysis.lexical_terms, doc.id)
                    self.analyses.keep(doc.id, analysis)
                    self.versions[doc.id] = doc.version
                self.index.upsert([doc.id for doc in batch], vectors)
                self.dirty = True
                self._tell_watchers([doc.id for doc in batch])
            if progress:
                progress(len(batch))

    def drop(self, ids: Iterable[int]) -> None:
        """Remove rows from the index (archived, closed or deleted)."""
        ids = list(ids)
        if not ids:
            return
        with self._lock:
            for identifier in ids:
                if identifier in self.versions:
                    self.statistics.remove(self.analyses.forget(identifier), identifier)
                    del self.versions[identifier]
            # Also ids the entries do not know: a crash may have saved the index before the entries.
            self.index.remove(ids)
            self.dirty = True
            self._tell_watchers(ids)

    # --- watching changes ---------------------------------------------------------------------------
    def watch(self) -> ChangedIds:
        """Ids put or dropped from now on, collected until `unwatch`: for a copy of the vectors taken now
        (`dense_snapshot`), which must know what changed since."""
        watcher = ChangedIds()
        with self._lock:
            self._watchers.append(watcher)
        return watcher

    def unwatch(self, watcher: ChangedIds) -> None:
        with self._lock:
            if watcher in self._watchers:
                self._watchers.remove(watcher)

    def _tell_watchers(self, ids: Iterable[int]) -> None:
        self.changes += 1
        ids = list(ids)
        for watcher in self._watchers:
            watcher.add(ids)

    # --- reconciliation -----------------------------------------------------------------------------
    def drift(self, documents: Sequence[Document]) -> Drift:
        """Compare the index with the rows that should be in it."""
        with self._lock:
            wanted = {doc.id: doc.version for doc in documents}
            drift = Drift()
            for identifier, version in wanted.items():
                have = self.versions.get(identifier)
                if have is None:
                    drift.missing.append(identifier)
                elif have != version:
                    drift.stale.append(identifier)
            drift.ghosts = sorted(set(self.versions) - set(wanted))
            indexed = {int(i) for i in self.index.ids()}
            drift.missing = sorted(set(drift.missing) | (set(self.versions) - indexed) & set(wanted))
            drift.ghosts = sorted(set(drift.ghosts) | (indexed - set(wanted)))
            return drift

    def reconcile(
        self, session: Session, progress: Progress | None = None, *, keep: Keep | None = None
    ) -> Drift:
        """Make the index match the database: embed what is missing or stale (without a stored vector of its
        text; handed to `keep`), drop ghosts."""
        cursor = FeedCursor(self.kind, position=latest_position(session))
        drift = self.drift(matchable_versions(session, self.kind))
        self.drop(drift.ghosts)
        # Texts are read only for what is embedded: a start from a whole saved index reads versions only.
        self.put(
            matchable_documents(session, self.kind, ids=sorted({*drift.missing, *drift.stale})),
            progress,
            stored=self.stored_in(session),
            keep=keep,
        )
        self.cursor = cursor
        return drift

    def sync(self, session: Session, *, keep: Keep | None = None, shared: SharedRead | None = None) -> None:
        """Apply the changes the feed holds since the last look (cheap: what changed, read by position), or
        that a read of the feed shared with other consumers holds (`changes.read_shared`).

        One sync at a time: a request that syncs while another applies changes waits for them, so it never
        reads past changes that are not applied yet. Before the first full reconciliation (a start-up that
        could not reach the database), or when the feed may have been pruned of changes it has not read,
        it does one.
        """
        connection_first(session)
        with self._syncing:
            if self.cursor is None or self.cursor.outlived():
                self.reconcile(session, keep=keep)
                return
            before = self.cursor.copy()
            try:
                changed = self.cursor.read(session, shared=shared)
                if changed:
                    documents = matchable_documents(session, self.kind, ids=sorted(changed))
                    self.put(
                        [doc for doc in documents if self.versions.get(doc.id) != doc.version],
                        stored=self.stored_in(session),
                        keep=keep,
                    )
                    self.drop(changed - {doc.id for doc in documents})
            except BaseException:
                self.cursor = before  # read again next time: what failed here was not applied
                raise

    def stored_in(self, session: Session) -> StoredLookup:
        """Where `put` finds the vectors writers stored."""
        return lambda ids: read_stored(session, kind=self.kind, ids=ids)

    def rebuild(
        self,
        session: Session,
        progress: Progress | None = None,
        *,
        keep: Keep | None = None,
    ) -> int:
        """Throw the index away and index every matchable row again (embedding what has no stored vector of
        its text, and handing that to `keep`)."""
        with self._lock:
            self.index = new_index(self.index_kind, self.embedder.identity.dim)
            self.versions, self.analyses, self.statistics = {}, Analyses(), TermStatistics()
        cursor = FeedCursor(self.kind, position=latest_position(session))
        documents = matchable_documents(session, self.kind)
        self.put(documents, progress, stored=self.stored_in(session), keep=keep)
        self.cursor = cursor
        return len(documents)

    # --- persistence --------------------------------------------------------------------------------
    def save(self) -> None:
        """Write the index, its entries and manifest (atomically, file by file)."""
        if self.directory is None:
            return
        with self._lock:  # the entries are copied under it; the vectors (copied later) can only be newer
            versions, terms = dict(self.versions), self.analyses.every_lexical_terms()
            self.dirty = False  # a change from now on marks it dirty again, for the next save
        # Encoded without holding the catalogue: at 100,000 offers that took half a second, during which
        # every sync, and every match waiting for one, waited.
        entries = {str(identifier): [version, terms[identifier]] for identifier, version in versions.items()}
        # Written without holding the catalogue: a sync (and the requests that wait for one) goes on while
        # the files are written (at 100,000 offers a save held every match for seconds).
        try:
            with _saved_files_held(self.directory, exclusive=True):
                # Vectors copied after the entries and written before them: the entries are never newer
                # than the vectors, so reconciliation sees stale versions and re-embeds them, never the
                # reverse (a row dropped or added in between is missing or a ghost: repaired as well).
                self.index.save(
                    self.directory,
                    identity=self.embedder.identity,
                    extra={"pipeline": self.pipeline_digest, "entries": len(entries)},
                )
                _atomic_write_bytes(self.directory / "entries.json", json.dumps(entries).encode())
        except BaseException:
            self.dirty = True  # not saved: the next save tries again
            raise

    def check_saved(self) -> dict[str, Any] | None:
        """The saved index's manifest (None if there is none); raise IndexMismatch if it was built by
        another model or glossary. Reads only the manifest."""
        if self.directory is None or not (self.directory / "manifest.json").is_file():
            return None
        manifest = read_manifest(self.directory, identity=self.embedder.identity)
        if manifest.get("pipeline") != self.pipeline_digest:
            raise IndexMismatch(
                f"the index at {self.directory} was built with another glossary; "
                "run `matchmaker index rebuild`"
            )
        return manifest

    def load(self) -> bool:
        """Load the saved index if there is one; refuse one built by another model or pipeline."""
        manifest = self.check_saved()
        if manifest is None or self.directory is None:
            return False
        with _saved_files_held(self.directory, exclusive=False):
            index = load_index(manifest["kind"], self.directory, identity=self.embedder.identity)
            entries_path = self.directory / "entries.json"
            # No entries yet (a crash before the first full save): every vector will be re-embedded.
            raw: dict[str, list[Any]] = json.loads(entries_path.read_text()) if entries_path.is_file() else {}
        with self._lock:
            self.index, self.index_kind = index, manifest["kind"]
            self.versions, self.analyses, self.statistics = {}, Analyses(), TermStatistics()
            for key, (version, terms) in raw.items():
                identifier = int(key)
                self.versions[identifier] = int(version)
                self.analyses.keep_terms(identifier, terms)  # saved as the lexical terms
            self.statistics.add_all(self.analyses.every_lexical_terms().items())
        return True

    def vector(self, identifier: int) -> Vectors:
        """The stored vector of one entry (exact: the index holds the vectors themselves)."""
        return self.index.vector(identifier)
