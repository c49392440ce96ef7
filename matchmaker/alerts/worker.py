"""The thread that posts webhook deliveries as they fall due (`alerts.delivery`), beside the app."""

from __future__ import annotations

import logging
import threading

import httpx
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.alerts.delivery import deliver_due

logger = logging.getLogger(__name__)
POLL_SECONDS = 1.0


class DeliveryWorker:
    """Posts due deliveries every `POLL_SECONDS`, with one HTTP client it owns and closes."""

    def __init__(self, session_factory: sessionmaker[Session], *, allow_private: bool) -> None:
        self._session_factory = session_factory
        self._allow_private = allow_private
        self._stop = threading.Event()
        self._client = httpx.Client(follow_redirects=False)
        self._thread = threading.Thread(target=self._run, name="webhook-delivery", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._client.close()

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                deliver_due(self._session_factory, self._client, allow_private=self._allow_private)
            except Exception:  # the deliveries stay pending: tried again next time
                logger.exception("could not post the due webhook deliveries")
