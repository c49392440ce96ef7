"""A requester's PACT host on a loopback port: it issues a token for callback credentials and records the
events posted to its /3/events (for the tests of answered requests and of announcements)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from tests.servers import app_in_thread


@dataclass
class Receiver:
    url: str
    events: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    tokens_issued: int = 0

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.events


@contextmanager
def running_receiver(status: int = 200) -> Iterator[Receiver]:
    """A receiver answering `status` (with `Retry-After: 0` on a 5xx: retries of a failure come at once)."""
    app = FastAPI()
    state = Receiver(url="")

    @app.post("/auth/token")
    async def token(request: Request) -> dict[str, str]:
        state.tokens_issued += 1
        return {"access_token": "receiver-token", "token_type": "Bearer"}

    @app.post("/3/events")
    async def receive(request: Request) -> Response:
        state.events.append(await request.json())
        state.authorizations.append(request.headers.get("authorization"))
        return Response(status_code=status, headers={"Retry-After": "0"} if status >= 500 else None)

    with app_in_thread(app, name="requester's PACT host") as port:
        state.url = f"http://127.0.0.1:{port}"
        yield state
