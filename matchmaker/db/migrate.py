"""Run Alembic migrations from code (the CLI, the app's tests and `alembic` itself share them)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """Return an Alembic config pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        # ConfigParser interpolation would eat a literal % in a password.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database behind `engine` up to `revision`."""
    config = alembic_config()
    with engine.connect() as connection, foreign_keys_off_on_sqlite(connection), connection.begin():
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@contextmanager
def foreign_keys_off_on_sqlite(connection: Connection) -> Iterator[None]:
    """SQLite alters a table by building a copy, dropping the original and renaming the copy; with foreign
    keys enforced, that drop deletes every row referring to the table (ON DELETE CASCADE): an organisation's
    keys, offers and needs. So they are off while migrating; `check_references` then looks at every one
    before the migration commits (the migrations' env does).

    Enter before the migration's transaction begins: SQLite ignores the pragma inside one."""
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys=ON")


def check_references(connection: Connection) -> None:
    """Refuse to commit a migration that left a row referring to one that does not exist (SQLite)."""
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(
            f"the migration left {len(broken)} references broken, the first {tuple(broken[0])}"
        )


def check(engine: Engine) -> None:
    """Raise if the tables declared in code differ from what the migrations build."""
    config = alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.check(config)
