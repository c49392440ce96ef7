"""Engine and session factory for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

# Every session records what it changes in the feed of committed changes and every version of an offer's
# footprint, and a bulk write refreshes PostgreSQL's planner statistics (listeners on the Session class).
import matchmaker.db.changes  # noqa: F401, E402
import matchmaker.db.footprint_history  # noqa: F401, E402
import matchmaker.db.statistics  # noqa: F401, E402

# The execution option that marks a transaction which will write: on SQLite it begins IMMEDIATE.
WRITES = "matchmaker_writes"
# Seconds a SQLite writer waits for the write lock before giving up with "database is locked".
SQLITE_BUSY_TIMEOUT = 30


def make_engine(url: str, *, busy_timeout: float = SQLITE_BUSY_TIMEOUT, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL, real transactions (SAVEPOINT included) and writers
    that wait up to `busy_timeout` seconds for the write lock."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"check_same_thread": False, "timeout": busy_timeout}
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _make_sqlite_transactional(engine, busy_timeout=busy_timeout)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _make_sqlite_transactional(engine: Engine, *, busy_timeout: float) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; let SQLAlchemy emit BEGIN
    # itself (the recipe in SQLAlchemy's SQLite dialect documentation).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that read first and writes later cannot wait for the write lock: once
        # another writer has committed, SQLite refuses the upgrade at once ("database is locked"), busy
        # timeout or not. A transaction that will write takes the lock up front, so writers queue.
        writes = connection.get_execution_options().get(WRITES, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def open_session(factory: sessionmaker[Session], *, writes: bool) -> Session:
    """A session from the factory; one that `writes` takes SQLite's write lock when it begins.

    Readers never take it: in WAL mode they read beside a writer instead of queueing behind it."""
    if not writes:
        return factory()
    return factory(execution_options={WRITES: True})


@contextmanager
def transaction(factory: sessionmaker[Session], *, writes: bool = True) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    session = open_session(factory, writes=writes)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def connection_first(session: Session) -> None:
    """Take the session's database connection now, before a lock that requests also wait for: a thread
    holding such a lock must never wait for the connection pool, which the waiting requests may hold
    whole (measured: two workers, 16 clients, every match stalled until the pool's 30 s timeout)."""
    session.connection()
