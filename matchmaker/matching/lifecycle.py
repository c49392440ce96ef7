"""Start the matching engine with the app, and save changed indexes now and then."""

from __future__ import annotations

import functools
import logging
import threading
import time

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.config import Settings
from matchmaker.db.changes import KEEP_SECONDS, ChangeSignal, prune
from matchmaker.db.session import transaction
from matchmaker.matching.engine import Engine, StartAbandoned, engine_from_settings
from matchmaker.matching.indexer import Kind
from matchmaker.matching.stored_vectors import Stored, store_apart
from matchmaker.process_lead import ProcessLead

logger = logging.getLogger(__name__)
# How often a served app's follower prunes the feed of changes older than `changes.KEEP_SECONDS`.
PRUNE_EVERY_SECONDS = 600.0
# Vectors a catch-up embedded that it stores afterwards, at most: beyond that a bulk write is under way,
# whose own writer stores them (`matchmaker import`), and holding more would hold gigabytes.
STORE_AFTER_CATCH_UP_AT_MOST = 10_000


def start_engine(settings: Settings, session_factory: sessionmaker[Session]) -> Engine:
    """Load the model, load or build the indexes and reconcile them with the database."""
    engine = engine_from_settings(settings)
    catch_up_at_start(engine, session_factory)
    return engine


def catch_up_at_start(
    engine: Engine, session_factory: sessionmaker[Session], *, abandon: threading.Event | None = None
) -> None:
    """Load the saved indexes and reconcile them with the database (embedding what they lack)."""
    try:
        # It only reads: embedding a large catalogue must not hold the write lock. What it embeds (rows
        # nobody stored a vector for: written before vectors were stored, or by hand) is stored batch by
        # batch, each batch in a short transaction of its own, so that no other process embeds it again.
        with transaction(session_factory, writes=False) as session:
            engine.start(session, abandon=abandon, keep=functools.partial(store_apart, session_factory))
        engine.refresh_snapshot()  # in a thread of its own: ready now, near misses scored in full till then
    except SQLAlchemyError as error:
        # Serve anyway (/healthz up, /readyz reports the database): the first query reconciles the index.
        logger.warning("database unreachable at start-up (%s); the index will be built on first use", error)


def apply_feed(engine: Engine, session_factory: sessionmaker[Session]) -> None:
    """Apply the committed changes the feed holds, in a session of its own, and store the vectors that had
    to be embedded (a bulk write's, or a writer's that stored none). A failure is logged, not raised: what
    was written stands, and the next wake-up or request reads the same changes again."""

    embedded: list[tuple[Kind, dict[int, Stored]]] = []

    def keep(kind: Kind, fresh: dict[int, Stored]) -> None:
        if sum(len(vectors) for _, vectors in embedded) < STORE_AFTER_CATCH_UP_AT_MOST:
            embedded.append((kind, fresh))

    try:
        with session_factory() as session:
            engine.catch_up(session, keep=keep)
    except Exception:
        logger.exception("could not apply the feed of changes to the matching index")
    # Stored once the sync has let go of its lock: a connection is never waited for while holding it.
    for kind, vectors in embedded:
        store_apart(session_factory, kind, vectors)


class EngineStart:
    """The engine, started beside the app: the app answers (/healthz) from its first second while the
    saved indexes load and catch up with the database; requests that match wait for it (`wait`), and
    /readyz says not ready until then.

    What can refuse a start is checked before the app serves: the model loads, and saved indexes built by
    another model or glossary raise `IndexMismatch` here, not in the background.
    """

    def __init__(self, settings: Settings, session_factory: sessionmaker[Session]) -> None:
        self.engine = engine_from_settings(settings)
        for catalogue in (self.engine.offers, self.engine.needs):
            catalogue.check_saved()
        self.error: BaseException | None = None
        self._session_factory = session_factory
        self._done = threading.Event()
        self._abandon = threading.Event()
        self._saver = IndexSaver(self.engine, interval=settings.index_save_interval)
        self._thread = threading.Thread(target=self.run, name="engine-start", daemon=True)

    def begin(self) -> None:
        """Start in the background."""
        self._thread.start()

    def run(self) -> None:
        """Load and catch up the indexes, then save them now and then."""
        try:
            catch_up_at_start(self.engine, self._session_factory, abandon=self._abandon)
            self._saver.start()
        except StartAbandoned:
            logger.info("start-up abandoned: the app is shutting down")
            self.error = StartAbandoned("the app is shutting down")
        except BaseException as error:  # reported by /readyz and to every request that needs the engine
            logger.exception("the matching engine could not start")
            self.error = error
        finally:
            self._done.set()

    @property
    def ready(self) -> bool:
        return self._done.is_set() and self.error is None

    def wait(self, timeout: float) -> bool:
        """Whether the engine is ready, waiting up to `timeout` seconds for it."""
        return self._done.wait(timeout) and self.error is None

    def stop(self) -> None:
        """Stop saving in the background and save once more (the process that saves for its data
        directory). A start still running is abandoned at its next batch and waited for, so no connection
        outlives the app (the next start reconciles again)."""
        self._abandon.set()
        if self._thread.is_alive():
            self._thread.join()
        self._saver.stop(save=self.ready)


class IndexSaver:
    """A background thread that saves changed indexes every `interval` seconds, in one process per data
    directory.

    Saving is an optimisation of the next start-up only: the database is the source of truth, and a start
    reads or re-embeds whatever the saved index lacks. The worker processes of one server share the saved
    files, and a save writes every vector and entry: measured under load at 100,000 offers, two workers
    saving every 30 s spent a quarter of a core each. The first to take `saver.lock` (in the offers' index
    directory, one per data directory) saves for all of them, until it exits; the others try again each
    interval.
    """

    def __init__(self, engine: Engine, *, interval: float) -> None:
        self._engine = engine
        self._interval = interval
        directory = engine.offers.directory
        self._lead = ProcessLead(directory / "saver.lock") if directory is not None else None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="index-saver", daemon=True)

    def start(self) -> None:
        if self._interval > 0:
            self._thread.start()

    def stop(self, *, save: bool) -> None:
        """Stop saving in the background; with `save`, save once more if this process saves for its data
        directory (every worker stopping at once would otherwise write the same files in turn)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if save and self._take_saving():
            self._engine.save()
        if self._lead is not None:
            self._lead.release()  # lets another process save

    def _take_saving(self) -> bool:
        """Whether this process saves for its data directory (taking the lead if nobody holds it)."""
        return self._lead is None or self._lead.take()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            if not self._take_saving():
                continue
            try:
                self._engine.save()
            except Exception:
                logger.exception("could not save the index")


class ChangeFollower:
    """Applies the feed in the background as changes are committed (woken by `ChangeSignal`), so the
    changes other processes make are embedded here before a request needs them; a request still reads
    the feed first, so it never misses one that arrived meanwhile."""

    def __init__(
        self, starting: EngineStart, session_factory: sessionmaker[Session], signal: ChangeSignal
    ) -> None:
        self._starting = starting
        self._session_factory = session_factory
        self._signal = signal
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="change-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._signal.close()

    def _run(self) -> None:
        pruned_at = time.monotonic()
        while not self._stop.is_set():
            self._signal.wait()
            if self._stop.is_set() or not self._starting.ready:
                continue
            apply_feed(self._starting.engine, self._session_factory)
            if time.monotonic() - pruned_at >= PRUNE_EVERY_SECONDS:
                pruned_at = time.monotonic()
                self._prune()

    def _prune(self) -> None:
        """Prune the feed of old changes (every replica may: deleting what another deleted is harmless)."""
        try:
            with transaction(self._session_factory) as session:
                pruned = prune(session)
            if pruned:
                logger.info(
                    "pruned %d changes older than %.0f hours from the feed", pruned, KEEP_SECONDS / 3600
                )
        except Exception:  # the feed grows a little longer: tried again next time
            logger.exception("could not prune the feed")
