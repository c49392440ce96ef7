"""Each request's database session: a burst larger than both the thread pool and the connection pool is
served, because sessions end (and give their connection back) outside the thread pool's limit.

The route has no response model on purpose: FastAPI validates a sync route's response model in the shared
thread pool while the session is still open, which can stall the same way whatever the session
dependency does (noted in the README's known limits)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import anyio.to_thread
import httpx
from sqlalchemy import text

from matchmaker.app import create_app
from matchmaker.config import Settings
from matchmaker.db.session import make_engine, make_session_factory
from matchmaker.deps import SessionDep


def test_a_burst_beyond_the_thread_and_connection_pools_is_served(tmp_path: Path) -> None:
    database = make_engine(f"sqlite:///{tmp_path}/burst.db", pool_size=1, max_overflow=0, pool_timeout=3)
    app = create_app(
        Settings(data_dir=tmp_path, environment="test"), session_factory=make_session_factory(database)
    )

    @app.get("/slow")
    def slow(session: SessionDep):  # type: ignore[no-untyped-def]  # no response model: see above
        session.execute(text("select 1"))  # holds the only connection until the session ends
        time.sleep(0.2)
        return {}

    async def burst() -> list[int]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 2
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            responses = await asyncio.gather(*[client.get("/slow") for _ in range(4)])
        return [response.status_code for response in responses]

    try:
        assert asyncio.run(burst()) == [200, 200, 200, 200]
    finally:
        database.dispose()
