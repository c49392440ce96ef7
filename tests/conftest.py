"""Test fixtures: one migrated database per run, one rolled-back transaction per test.

The suite runs on SQLite by default and on PostgreSQL when MATCHMAKER_TEST_DATABASE_URL names one
(scripts/test.sh runs it both ways). Tests reach the API through the real ASGI app over httpx.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.app import create_app
from matchmaker.config import Settings, normalise_database_url
from matchmaker.db.migrate import upgrade
from matchmaker.db.session import make_engine
from tests.cli_support import throwaway_postgres
from tests.factories import World, build_world

# Shared fixtures kept in their own modules.
pytest_plugins = ("tests.markets",)

POSTGRES_URL_ENV = "MATCHMAKER_TEST_DATABASE_URL"


def test_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The database this run tests against: PostgreSQL if named, else a fresh SQLite file."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if url:
        return normalise_database_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@contextmanager
def postgres_schema(url: str) -> Iterator[Engine]:
    """An engine whose tables live in a new, empty schema of this run, dropped afterwards.

    A schema per run keeps concurrent runs on one server apart and lets the migrations build every table.
    """
    schema = f"mm_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return test_database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    if database_url.startswith("postgresql"):
        with postgres_schema(database_url) as engine:
            upgrade(engine)
            yield engine
        return
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    # Commits inside the app release a savepoint; the outer transaction is rolled back at the end.
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(environment="test", data_dir=tmp_path)


@pytest.fixture
def client(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    app = create_app(settings, session_factory=session_factory)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def world(session: Session) -> World:
    """Organisations in every role, alliance members and outsiders, with keys and a few offers and needs."""
    world = build_world(session)
    session.commit()
    return world


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment for one CLI test: its own data directory and fresh, empty database."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MATCHMAKER_")}
    env.pop("FORCE_COLOR", None)
    env.update(NO_COLOR="1", COLUMNS="200", PYTHONIOENCODING="utf-8")
    env["MATCHMAKER_DATA_DIR"] = str(tmp_path / "data")
    postgres_url = os.environ.get(POSTGRES_URL_ENV)
    if not postgres_url:
        yield env
        return
    with throwaway_postgres(postgres_url) as database_url:
        env["MATCHMAKER_DATABASE_URL"] = database_url
        yield env
