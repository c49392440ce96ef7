"""The migrations build the schema the code declares, on the database under test."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Engine, inspect

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
