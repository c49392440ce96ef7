"""The threads of alerts beside the app: one makes them from the feed (and closes overdue needs, whose
closing is news), one posts them to webhooks as posts fall due. Each has its own thread, so neither a slow
webhook nor a large batch of changes holds up the other, or the matching index's own follower."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.alerts.delivery import deliver_due
from matchmaker.alerts.producer import AlertProducer
from matchmaker.matching.lifecycle import EngineStart
from matchmaker.needs.deadlines import deadline_keeper
from matchmaker.offers.expiry import expiry_watch
from matchmaker.process_lead import ProcessLead

logger = logging.getLogger(__name__)
POLL_SECONDS = 1.0
STOP_WAIT_SECONDS = 30.0


class _Every:
    """Runs `step` every `POLL_SECONDS` in a thread of its own until stopped; a failure is logged."""

    def __init__(self, name: str, step: Callable[[], object]) -> None:
        self._step = step
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            # A post in flight ends within its timeouts; a receiver that trickles its answer is not waited
            # for past this (the thread is a daemon; its claimed post is tried again later).
            self._thread.join(timeout=STOP_WAIT_SECONDS)

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self._step()
            except Exception:  # tried again next time
                logger.exception("%s failed", self._thread.name)


class AlertWorkers:
    """Makes the alerts (once the engine is ready) and posts them; started and stopped with the app."""

    def __init__(
        self, starting: EngineStart, session_factory: sessionmaker[Session], *, allow_private: bool,
        data_dir: Path,
    ) -> None:  # fmt: skip
        self._starting = starting
        self._session_factory = session_factory
        # One worker process of a machine makes the alerts for all (another would find the same events:
        # stored once all the same, but ranked twice).
        self._lead = ProcessLead(data_dir / "alerts.lock")
        self._producer = AlertProducer()
        self._deadlines = deadline_keeper()
        self._expiry = expiry_watch()
        self._client = httpx.Client(follow_redirects=False)
        self._threads = [
            _Every("alerts", self._make),
            _Every(
                "webhook-delivery",
                lambda: deliver_due(session_factory, self._client, allow_private=allow_private),
            ),
        ]

    def start(self) -> None:
        try:
            self._producer.start(self._session_factory)  # changes from now on are news
        except Exception:  # the database does not answer yet: the first pass that reaches it starts
            logger.warning("alerts start once the database answers", exc_info=True)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        for thread in self._threads:
            thread.stop()
        self._client.close()
        self._lead.release()

    def _make(self) -> None:
        if not self._lead.take():
            return
        self._deadlines.run(self._session_factory)
        self._expiry.run(self._session_factory)
        if self._starting.ready:
            self._producer.run(self._starting.engine, self._session_factory)
