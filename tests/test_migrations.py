"""The migrations build the schema the code declares, on the database under test."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Engine, inspect, text

from matchmaker.db import migrate
from matchmaker.db.session import make_engine


def test_migrations_match_the_models(engine: Engine) -> None:
    # Raises if a model changed without a migration (the `alembic check` of CI).
    migrate.check(engine)


def test_upgrade_from_empty_creates_every_table(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {
        "organisations",
        "api_keys",
        "alliances",
        "memberships",
        "offers",
        "needs",
        "alembic_version",
    } <= tables


def test_upgrade_twice_is_harmless(engine: Engine) -> None:
    migrate.upgrade(engine)
    migrate.check(engine)


def test_a_fresh_database_upgrades_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    try:
        migrate.upgrade(engine)
        migrate.check(engine)
        _downgrade_to_base(engine)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(engine)
        assert "offers" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _downgrade_to_base(engine: Engine) -> None:
    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")


def test_an_upgrade_that_rebuilds_a_table_keeps_every_row_that_refers_to_it(tmp_path: Path) -> None:
    """SQLite rebuilds `organisations` to add its registration (0012); its keys, offers and memberships
    refer to it with ON DELETE CASCADE, and must all be there after."""
    engine = make_engine(f"sqlite:///{tmp_path / 'rebuild.sqlite3'}")
    try:
        migrate.upgrade(engine, "0011")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO organisations (id, name, kind, admission_status, created_at, updated_at) "
                    "VALUES (7, 'Steel Co', 'vendor', 'admitted', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO api_keys (organisation_id, role, prefix, secret_hash, created_at) "
                    "VALUES (7, 'vendor', 'abc123', :hash, CURRENT_TIMESTAMP)"
                ),
                {"hash": "0" * 64},
            )
        migrate.upgrade(engine)
        with engine.connect() as connection:
            keys = connection.execute(text("SELECT organisation_id, prefix FROM api_keys")).all()
            foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
        assert [tuple(key) for key in keys] == [(7, "abc123")]
        assert foreign_keys == 1  # on again for the service
    finally:
        engine.dispose()
