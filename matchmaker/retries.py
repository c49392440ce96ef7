"""The retry policy for transactions that lose to concurrent ones, stated once.

A request's transaction can lose a race it did nothing wrong in: PostgreSQL aborts one side of a
serialisation failure (SQLSTATE 40001) or a deadlock (40P01); SQLite answers "database is locked" when a
transaction that began reading cannot upgrade to write; an optimistic version check finds that another
writer changed the row first (StaleDataError). Each is rolled back whole, so running the request again is
safe and usually succeeds. `RetryLostRaces` does that a bounded number of times with jittered backoff;
when the race keeps being lost the caller gets 409 (a lost edit race) or 503 with Retry-After (a busy
database), never a 500.
"""

from __future__ import annotations

import logging
import random
import time

import anyio
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from matchmaker.db.races import Loss, lost_race
from matchmaker.errors import EditConflict, MatchmakerError, Unavailable, answer_as_handled

logger = logging.getLogger(__name__)

# Runs of one request at most (the first included).
ATTEMPTS = 4
# The first retry waits up to this many seconds; each further one up to twice as long as the last.
BASE_DELAY = 0.05
# No retry starts this many seconds after the request's first run began: a request that waited out
# SQLite's busy timeout would only wait it out again.
RETRY_WINDOW = 5.0
# Bodies up to this size are kept to be sent again; a larger one (a big import) is not retried.
REPLAY_LIMIT = 2 * 1024 * 1024
# Seconds a client is told to wait after a 503.
RETRY_AFTER = 1


def backoff(attempt: int) -> float:
    """Seconds to wait before running a request again after its `attempt`-th run ("full jitter")."""
    return random.uniform(0, BASE_DELAY * 2 ** (attempt - 1))


class _ReplayableBody:
    """The request body as the app reads it, kept so that a later run can read it again."""

    def __init__(self, receive: Receive, *, limit: int) -> None:
        self._receive = receive
        self._limit = limit
        self._kept: list[Message] = []
        self._size = 0
        self.replayable = True

    def reader(self) -> Receive:
        """A `receive` for one run: the messages kept so far, then the rest from the client."""
        position = 0

        async def receive() -> Message:
            nonlocal position
            if position < len(self._kept):
                position += 1
                return self._kept[position - 1]
            message = await self._receive()
            if self.replayable:
                self._size += len(message.get("body", b""))
                if self._size > self._limit:
                    self.replayable = False
                    self._kept.clear()
                else:
                    self._kept.append(message)
                    position += 1
            return message

        return receive


class RetryLostRaces:
    """ASGI middleware: run a request again when its transaction lost to a concurrent one.

    Only before the response has started: the request's session commits before the response is sent, so
    a lost race always surfaces before the first byte."""

    def __init__(
        self, app: ASGIApp, *, owner: FastAPI, attempts: int = ATTEMPTS, replay_limit: int = REPLAY_LIMIT
    ) -> None:
        self.app = app
        self.owner = owner
        self.attempts = attempts
        self.replay_limit = replay_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = _ReplayableBody(receive, limit=self.replay_limit)
        began = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            started = False

            async def send_once_started(message: Message) -> None:
                nonlocal started
                started = started or message["type"] == "http.response.start"
                await send(message)

            try:
                # A fresh copy per run: routing writes into the scope, and the state must start clean.
                run_scope = {**scope, "state": dict(scope.get("state") or {})}
                await self.app(run_scope, body.reader(), send_once_started)
                return
            except Exception as error:
                loss = lost_race(error)
                if loss is None or started:
                    raise
                again = (
                    attempt < self.attempts and body.replayable and time.monotonic() - began < RETRY_WINDOW
                )
                method, path = scope.get("method"), scope.get("path")
                then = "running it again" if again else "giving up"
                logger.info("%s %s lost a %s on run %d; %s", method, path, loss, attempt, then)
                if not again:
                    await answer_as_handled(
                        self.owner,
                        _lost(loss),
                        handled_as=MatchmakerError,
                        scope=scope,
                        receive=receive,
                        send=send,
                    )
                    return
            await anyio.sleep(backoff(attempt))


def _lost(loss: Loss) -> EditConflict | Unavailable:
    """The error a request that kept losing its race answers with."""
    if loss == "race":
        return EditConflict(
            "a concurrent change to the same data committed first; read it again and retry",
            code="edit.conflict",
        )
    error = Unavailable(
        f"the database is busy with concurrent writes; try again in {RETRY_AFTER} s",
        code="database.busy",
    )
    error.headers["Retry-After"] = str(RETRY_AFTER)
    return error
