"""The matching engine: the embedder, the text analyzer and one catalogue per kind, built at start-up."""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from cachetools import LRUCache
from sqlalchemy.orm import Session

from matchmaker.config import Settings
from matchmaker.db.changes import read_shared
from matchmaker.matching.dense_snapshot import SNAPSHOT_FROM_ROWS, STALE_SHARE, DenseSnapshot
from matchmaker.matching.glossary import load_glossary
from matchmaker.matching.indexer import Catalogue, Drift, Keep, Kind, matchable_documents
from matchmaker.matching.offer_table import OfferTable
from matchmaker.matching.ranking import Ranking
from matchmaker.matching.relevance import (
    DEFAULT_MODEL,
    RelevanceJudge,
    RelevanceModel,
    Side,
    load_model,
    need_side,
    offer_side,
)
from matchmaker.matching.text import Analysis, Analyzer
from matchmaker.matching.vector_writer import store_vectors_in_transactions
from matchmaker.vectors.embedder import Embedder, Vectors, load_embedder
from matchmaker.vectors.kinds import DEFAULT_INDEX_KIND
from matchmaker.vectors.pooled import PooledEmbedder, every_core

logger = logging.getLogger(__name__)
# Offers' sides (what the model of relevance reads of their text) kept, the least recently used dropped first:
# an index loaded from disk keeps only the offers' terms, so a side is made from the offer's text read again.
# A match judges up to 40 offers (`ranking.JUDGED` eligible and as many failed).
SIDES_KEPT = 20_000
# Rankings kept while nothing they were computed from changed (`kept_ranking`).
RANKINGS_KEPT = 4_096


@lru_cache(maxsize=4)
def shared_embedder(spec: str) -> Embedder:
    """One loaded model per process and spec: models are large and read-only."""
    return load_embedder(spec)


def limit_native_threads() -> None:
    """One BLAS/OpenMP thread per worker: requests run side by side, not one request on every core."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    try:
        import faiss

        faiss.omp_set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


def default_matching_slots() -> int:
    """One matching computation per core but one: the last core stays free for the event loop (health
    checks, light requests) and the rest of the machine."""
    return max(1, (os.cpu_count() or 2) - 1)


@dataclass
class Engine:
    embedder: Embedder
    analyzer: Analyzer
    offers: Catalogue
    needs: Catalogue
    # The offers' filter columns (matching decides the hard filters on them, not row by row).
    offer_table: OfferTable = field(default_factory=OfferTable)
    # Matching requests beyond this many wait their turn instead of contending for the GIL and the cores:
    # measured with 8 saturating clients on 2 cores, /healthz p99 fell from ~8.8 to ~4.9 ms and searches/s
    # rose from ~105 to ~129 (scripts/bench.py).
    matching_slots: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(default_matching_slots())
    )

    # The planner over the offers' vectors, once there are enough offers to want it (`dense_snapshot`).
    snapshot: DenseSnapshot | None = None
    snapshot_from_rows: int = SNAPSHOT_FROM_ROWS
    _snapshot_building: threading.Lock = field(default_factory=threading.Lock)

    # The model of relevance that decides which offers are matches (None: the hybrid formula and its floor
    # decide, as for an embedding model the relevance model was not fitted on).
    relevance: RelevanceModel | None = None
    _sides: LRUCache[int, tuple[int, Side]] = field(default_factory=lambda: LRUCache(maxsize=SIDES_KEPT))
    _sides_lock: threading.Lock = field(default_factory=threading.Lock)
    _rankings: LRUCache[Hashable, Ranking] = field(default_factory=lambda: LRUCache(maxsize=RANKINGS_KEPT))
    _rankings_lock: threading.Lock = field(default_factory=threading.Lock)

    def catalogue(self, kind: Kind) -> Catalogue:
        return self.offers if kind == "offers" else self.needs

    def store_vectors_of_changes(self, session: Session) -> None:
        """Embed the few offers and needs each transaction of `session` changes and store their vectors in
        it, so that no other process (and no request) embeds them again."""
        store_vectors_in_transactions(session, (self.offers, self.needs))

    def encode_query(self, analysis: Analysis) -> Vectors:
        vector: Vectors = self.embedder.encode_queries([analysis.bridged])[0]
        return vector

    def relevance_judge(self, session: Session, analysis: Analysis) -> RelevanceJudge | None:
        """The judge of a query's candidates, for a query analysed with its text (`analyze_query`)."""
        if self.relevance is None:
            return None
        return RelevanceJudge(
            model=self.relevance,
            query=need_side(analysis),
            offer_sides=lambda ids: self.offer_sides(session, ids),
        )

    def offer_sides(self, session: Session, ids: Sequence[int]) -> Mapping[int, Side]:
        """What the model of relevance reads of each offer, kept for its version: from its indexed analysis
        when that holds the text, otherwise from the offer's text read and analysed again."""
        sides: dict[int, Side] = {}
        unread: list[int] = []
        for identifier in ids:
            version = self.offers.versions.get(identifier)
            with self._sides_lock:
                kept = self._sides.get(identifier)
            analysis = self.offers.analyses.get(identifier)
            if kept is not None and kept[0] == version:
                sides[identifier] = kept[1]
            elif analysis is not None and analysis.bridged and version is not None:
                sides[identifier] = offer_side(analysis)
                with self._sides_lock:
                    self._sides[identifier] = (version, sides[identifier])
            else:
                unread.append(identifier)
        for document in matchable_documents(session, "offers", ids=unread) if unread else ():
            side = sides[document.id] = offer_side(self.analyzer.analyze(document.text))
            with self._sides_lock:
                self._sides[document.id] = (document.version, side)
        return sides

    def kept_ranking(self, key: Hashable, rank: Callable[[], Ranking]) -> Ranking:
        """The ranking `rank` gives, kept under `key` and what the engine holds (counted in changes to the
        catalogues and the offer table): while nothing changed, running it again would give the same. The
        vendor's view asks for one buyer's ranking per need its offer could match, view after view."""
        state = (key, self.offers.changes, self.needs.changes, self.offer_table.changes)
        with self._rankings_lock:
            kept = self._rankings.get(state)
        if kept is None:
            kept = rank()
            with self._rankings_lock:
                self._rankings[state] = kept
        return kept

    def start(
        self, session: Session, *, abandon: threading.Event | None = None, keep: Keep | None = None
    ) -> dict[str, Drift]:
        """Load the saved indexes (refusing a model mismatch) and reconcile them with the database; the
        vectors it had to embed go to `keep`, batch by batch.

        Setting `abandon` stops the embedding at its next batch (`StartAbandoned`): the app is shutting
        down, and the next start reconciles again."""
        with collector_paused():
            return self._start(session, abandon=abandon, keep=keep)

    def _start(
        self, session: Session, *, abandon: threading.Event | None, keep: Keep | None
    ) -> dict[str, Drift]:
        drifts: dict[str, Drift] = {}
        for catalogue in (self.offers, self.needs):
            loaded = catalogue.load()
            embedded_before = catalogue.embedded
            drift = catalogue.reconcile(
                session,
                progress=ProgressLog(f"indexing {catalogue.kind}", abandon=abandon),
                keep=keep,
            )
            drifts[catalogue.kind] = drift
            logger.info(
                "%s index %s: %d entries; %d added, %d changed (%d of them embedded here, the rest read from "
                "the stored vectors), %d dropped",
                catalogue.kind,
                "loaded" if loaded else "built",
                len(catalogue.versions),
                len(drift.missing),
                len(drift.stale),
                catalogue.embedded - embedded_before,
                len(drift.ghosts),
            )
            if catalogue.dirty:
                catalogue.save()
        started = time.monotonic()
        self.offer_table.sync(session)
        logger.info(
            "offer filter columns: %d offers in %.1f s", len(self.offer_table), time.monotonic() - started
        )
        return drifts

    def catch_up(self, session: Session, *, keep: Keep | None = None) -> None:
        """Apply the committed changes the feed holds since the last look, to every consumer; the vectors it
        had to embed go to `keep` (to be stored for every other process)."""
        self.sync(session, keep=keep)
        self.refresh_snapshot()

    def sync(self, session: Session, *, keep: Keep | None = None) -> None:
        """Bring both indexes and the offer table up to the feed, from one read of it."""
        self._sync(session, (self.offers, self.needs), keep=keep)

    def sync_offers(self, session: Session) -> None:
        """Bring the offers' index and table up to the feed, from one read of it: what matching offers
        needs (the needs' index follows in the background)."""
        self._sync(session, (self.offers,), keep=None)

    def _sync(self, session: Session, catalogues: Sequence[Catalogue], *, keep: Keep | None) -> None:
        cursors = [catalogue.cursor for catalogue in catalogues] + [self.offer_table.cursor]
        shared = None
        if all(cursor is not None and not cursor.outlived() for cursor in cursors):
            # One query instead of one per consumer (a round trip that, under load, waits for the database).
            shared = read_shared(session, [cursor for cursor in cursors if cursor is not None])
        for catalogue in catalogues:
            catalogue.sync(session, keep=keep, shared=shared)
        self.offer_table.sync(session, shared=shared)

    def refresh_snapshot(self, *, background: bool = True) -> None:
        """Build a dense snapshot if the catalogue is large enough and has none, or too much has changed
        since its own; one build at a time, in a thread of its own unless told otherwise (a million offers
        take about a minute). Requests use the snapshot they find (or none) meanwhile."""
        if len(self.offer_table) < self.snapshot_from_rows:
            return
        if self.snapshot is not None and self.snapshot.stale_share() <= STALE_SHARE:
            return
        if not self._snapshot_building.acquire(blocking=False):
            return

        def build() -> None:
            try:
                replaced, self.snapshot = self.snapshot, DenseSnapshot.build(self.offer_table, self.offers)
                if replaced is not None:
                    replaced.close()
            except Exception:
                logger.exception("dense snapshot not built; near misses are scored in full meanwhile")
            finally:
                self._snapshot_building.release()

        if background:
            threading.Thread(target=build, name="dense-snapshot", daemon=True).start()
        else:
            build()

    def save(self) -> None:
        for catalogue in (self.offers, self.needs):
            if catalogue.dirty:
                catalogue.save()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector around a bulk load. A start makes millions of small
    containers (each offer's terms), and the collector walked all of them again and again as they were
    made: at 1,000,000 offers loading the index took 37-45 s with it and 20 s without (what a load makes
    holds no cycles to collect)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class StartAbandoned(Exception):
    """A start-up's embedding stopped because the app is shutting down."""


class ProgressLog:
    """Log an index build's progress every few seconds, so a long first start is not silent."""

    def __init__(
        self, label: str, every_seconds: float = 5.0, *, abandon: threading.Event | None = None
    ) -> None:
        self.label = label
        self.abandon = abandon
        self.every = every_seconds
        self.done = 0
        self.last = time.monotonic()

    def __call__(self, count: int) -> None:
        if self.abandon is not None and self.abandon.is_set():
            raise StartAbandoned(f"{self.label}: abandoned after {self.done + count} embedded")
        self.done += count
        if time.monotonic() - self.last >= self.every:
            self.last = time.monotonic()
            logger.info("%s: %d embedded so far", self.label, self.done)


def engine_from_settings(settings: Settings, *, offline: bool = False) -> Engine:
    """The engine the settings describe, with native thread pools limited to one thread.

    `offline`: for a writer that embeds in bulk (an import, a rebuild), not a server: documents are
    embedded on every core (`vectors.pooled`)."""
    limit_native_threads()
    engine = build_engine(
        model=settings.model,
        data_dir=settings.data_dir,
        glossary_path=settings.glossary_path,
        relevance_model_path=settings.relevance_model_path,
        index_kind=settings.index_kind,
        embedding_processes=every_core() if offline else 1,
    )
    engine.matching_slots = threading.BoundedSemaphore(
        settings.matching_concurrency or default_matching_slots()
    )
    return engine


def build_engine(
    *, model: str, data_dir: Path | None, glossary_path: str | None = None,
    index_kind: str = DEFAULT_INDEX_KIND, relevance_model_path: str | None = None,
    embedding_processes: int = 1,
) -> Engine:  # fmt: skip
    """Load the model and glossary and make empty catalogues (persisted under data_dir/index), which embed
    documents in `embedding_processes` processes."""
    embedder = shared_embedder(model)
    documents: Embedder = embedder
    if embedding_processes > 1:
        documents = PooledEmbedder(model, embedder, processes=embedding_processes)
    analyzer = Analyzer(load_glossary(glossary_path))
    root = data_dir / "index" if data_dir is not None else None

    def catalogue(kind: Kind) -> Catalogue:
        return Catalogue(
            kind=kind,
            embedder=documents,
            analyzer=analyzer,
            directory=root / kind if root is not None else None,
            index_kind=index_kind,
        )

    relevance = relevance_model(relevance_model_path)
    return Engine(
        embedder=embedder,
        analyzer=analyzer,
        offers=catalogue("offers"),
        needs=catalogue("needs"),
        relevance=relevance if relevance is not None and relevance.embedder == model else None,
    )


def relevance_model(path: str | None) -> RelevanceModel | None:
    """The model of relevance at `path` (it must be there), or the repository's, if this installation has
    it: an installed package without the repository's models/ (a wheel) falls back to the formula."""
    if path is None and not DEFAULT_MODEL.is_file():
        logger.warning("no model of relevance at %s: the hybrid formula decides matches", DEFAULT_MODEL)
        return None
    return load_model(path)
