"""Helpers for running the `matchmaker` CLI as a subprocess, shared by tests/test_cli*.py.

Each test runs against its own fresh database: a SQLite file under its tmp_path by default, or a throwaway
PostgreSQL database when MATCHMAKER_TEST_DATABASE_URL names a server (the `cli_env` fixture in
tests/conftest.py). The shared data (../shared next to the repository) provides the evaluation offers and
needs and the Carbon Catalogue.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, text
from sqlalchemy.orm import Session

from matchmaker.config import Settings, normalise_database_url
from matchmaker.db.session import make_engine

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
EVAL_DEV = SHARED / "data" / "eval-dev"
CATALOGUE_CSV = SHARED / "data" / "carbon-catalogue" / "product_level.csv"


def cli_command() -> list[str]:
    """The installed console script next to this interpreter, else `python -m matchmaker.cli`."""
    script = Path(sys.executable).with_name("matchmaker")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "matchmaker.cli"]


def run(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `matchmaker <args>` from the repository root, as a user would."""
    return subprocess.run(
        [*cli_command(), *map(str, args)],
        env=env,
        cwd=REPO,
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
    )


def ok(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = run(*args, env=env)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


def settings_for(env: dict[str, str]) -> Settings:
    """The settings the CLI reads from this environment (to reach the same database)."""
    return Settings(
        environment="test",
        data_dir=Path(env["MATCHMAKER_DATA_DIR"]),
        database_url=env.get("MATCHMAKER_DATABASE_URL", ""),
    )


@contextmanager
def db_session(env: dict[str, str]) -> Iterator[Session]:
    engine = make_engine(settings_for(env).sqlalchemy_url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def shared_relative(path: Path) -> str:
    """The path as a user at the repository root would type it (../shared/...)."""
    return os.path.relpath(path, REPO)


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def assert_clean_failure(result: subprocess.CompletedProcess[str], code: int = 1) -> None:
    """A failure a user can cause: the given exit code, a short message, never a traceback."""
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.strip(), "a failure must say why on stderr"


@contextmanager
def throwaway_postgres(url: str) -> Iterator[str]:
    """Create a fresh database on the server of `url`, yield its URL, drop it afterwards."""
    server = make_url(normalise_database_url(url))
    admin = make_engine(server.set(database="postgres").render_as_string(hide_password=False))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    name = f"mm_cli_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
