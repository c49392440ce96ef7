import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from matchmaker import deps
from matchmaker.app import create_app
from matchmaker.config import Settings
from matchmaker.db.migrate import upgrade
from matchmaker.db.session import make_engine, make_session_factory
from matchmaker.matching import lifecycle
from tests.factories import World, build_world


def test_health_and_readiness(client: TestClient) -> None:
    assert client.app.state.engine_start.wait(120)  # type: ignore[attr-defined]
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_not_ready_when_the_database_is_unreachable(settings: Settings) -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    app = create_app(settings, session_factory=sessionmaker(bind=engine))
    with TestClient(app) as client:
        response = client.get("/readyz")
        assert client.get("/healthz").status_code == 200
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"


@contextmanager
def slow_start(monkeypatch: pytest.MonkeyPatch, *, fail: bool = False) -> Iterator[threading.Event]:
    """Hold the engine's catch-up at start-up until the event is set (then fail, if asked)."""
    release = threading.Event()
    catch_up = lifecycle.catch_up_at_start

    def held(*args: object, **kwargs: object) -> None:
        release.wait(60)
        if fail:
            raise RuntimeError("the disk went away")
        catch_up(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(lifecycle, "catch_up_at_start", held)
    try:
        yield release
    finally:
        release.set()


def own_database(settings: Settings) -> tuple[Settings, World]:
    """Settings for an app that opens its own SQLite database (as `serve` does), migrated and peopled."""
    owned = settings.model_copy(update={"database_url": f"sqlite:///{settings.data_dir}/own.sqlite3"})
    database = make_engine(owned.sqlalchemy_url)
    upgrade(database)
    with make_session_factory(database)() as session:
        world = build_world(session)
        session.commit()
    database.dispose()
    return owned, world


def test_the_app_answers_health_while_its_index_loads_and_matches_once_it_has(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, world = own_database(settings)
    with slow_start(monkeypatch) as release:
        app = create_app(settings)
        with TestClient(app) as client:
            assert client.get("/healthz").json() == {"status": "ok"}
            waiting = client.get("/readyz")
            assert waiting.status_code == 503
            assert waiting.headers["content-type"] == "application/problem+json"
            assert "loading" in waiting.json()["detail"]

            monkeypatch.setattr(deps, "ENGINE_WAIT_SECONDS", 0.05)
            early = client.post("/search", json={"text": "green hydrogen"}, headers=world.buyer.headers)
            assert early.status_code == 503, early.text
            assert early.headers["content-type"] == "application/problem+json"
            assert early.headers["retry-after"] == str(deps.ENGINE_RETRY_AFTER_SECONDS)

            monkeypatch.setattr(deps, "ENGINE_WAIT_SECONDS", 60.0)
            release.set()
            # A request that arrives while the index loads waits for it rather than failing.
            searched = client.post("/search", json={"text": "green hydrogen"}, headers=world.buyer.headers)
            assert searched.status_code == 200, searched.text
            assert client.get("/readyz").json() == {"status": "ready"}


def test_an_engine_that_fails_to_start_is_reported_not_ready(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, world = own_database(settings)
    with slow_start(monkeypatch, fail=True) as release:
        release.set()
        app = create_app(settings)
        with TestClient(app) as client:
            assert not app.state.engine_start.wait(60)
            assert client.get("/healthz").status_code == 200
            ready = client.get("/readyz")
            assert ready.status_code == 503 and "RuntimeError" in ready.json()["detail"]
            search = client.post("/search", json={"text": "green hydrogen"}, headers=world.buyer.headers)
            assert search.status_code == 503 and "failed to start" in search.json()["detail"]
