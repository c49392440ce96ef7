"""Alembic environment: the URL comes from the caller's config or else from Settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from matchmaker.config import get_settings
from matchmaker.db import models  # noqa: F401  (registers the tables on Base.metadata)
from matchmaker.db.base import Base
from matchmaker.db.migrate import check_references, foreign_keys_off_on_sqlite
from matchmaker.db.session import make_engine

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        check_references(connection)


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().sqlalchemy_url
    engine = make_engine(url)
    try:
        with engine.connect() as connection, foreign_keys_off_on_sqlite(connection):
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them against a database")
run_migrations_online()
