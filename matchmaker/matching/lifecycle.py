"""Start the matching engine with the app, and save changed indexes now and then."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.config import Settings
from matchmaker.db.session import transaction
from matchmaker.matching.engine import Engine, engine_from_settings

logger = logging.getLogger(__name__)


def start_engine(settings: Settings, session_factory: sessionmaker[Session]) -> Engine:
    """Load the model, load or build the indexes and reconcile them with the database."""
    engine = engine_from_settings(settings)
    try:
        # It only reads: embedding a large catalogue must not hold the write lock.
        with transaction(session_factory, writes=False) as session:
            engine.start(session)
    except SQLAlchemyError as error:
        # Serve anyway (/healthz up, /readyz reports the database): the first query reconciles the index.
        logger.warning("database unreachable at start-up (%s); the index will be built on first use", error)
    return engine


class IndexSaver:
    """A background thread that saves changed indexes every `interval` seconds.

    Saving is an optimisation of the next start-up only: the database is the source of truth, and a start
    re-embeds whatever the saved index lacks.
    """

    def __init__(self, engine: Engine, *, interval: float) -> None:
        self._engine = engine
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="index-saver", daemon=True)

    def start(self) -> None:
        if self._interval > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._engine.save()
            except Exception:
                logger.exception("could not save the index")
