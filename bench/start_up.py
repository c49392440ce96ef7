#!/usr/bin/env python
"""Benchmark: how soon `matchmaker serve` answers /healthz and becomes ready (/readyz), from a saved index.

    .venv/bin/python bench/start_up.py [--sizes 2000,20000] [--replicas]

For each size N it imports N offers into a scratch SQLite database (the catalogue and the embedding of
`match_after_import.py`), storing their vectors and saving the indexes as `matchmaker import` does, then
starts `matchmaker serve` in a subprocess and polls /healthz and /readyz every 20 ms. It prints the seconds
from launch to the first answer of each, and the ratio between the largest and the smallest size.

`--replicas` also starts a server on a data directory of its own (a new replica: no saved index) over the
same database, first with the stored vectors, then with them deleted (it embeds the catalogue with the real
model). A benchmark, not a test: figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import functools
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import delete

sys.path.insert(0, str(Path(__file__).resolve().parent))
from match_after_import import RELEVANCE, REPO, catalogue, jittered_embedder  # noqa: E402

from matchmaker.cli import session_scope  # noqa: E402
from matchmaker.config import get_settings, scratch_settings  # noqa: E402
from matchmaker.db.models import StoredVector  # noqa: E402
from matchmaker.db.session import make_engine, make_session_factory  # noqa: E402
from matchmaker.imports import service as imports  # noqa: E402
from matchmaker.imports.readers import read_jsonl  # noqa: E402
from matchmaker.matching import evaluation  # noqa: E402
from matchmaker.matching.engine import engine_from_settings  # noqa: E402
from matchmaker.matching.stored_vectors import store_apart  # noqa: E402

POLL_SECONDS = 0.02
GIVE_UP_SECONDS = 600


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def prepare(directory: Path, size: int) -> str:
    """Import the catalogue and save the indexes; the database URL."""
    settings = scratch_settings(directory)
    url = settings.sqlalchemy_url
    needs = "\n".join((RELEVANCE / "needs.jsonl").read_text(encoding="utf-8").splitlines()[:30])
    with session_scope(settings) as session:
        imports.import_offers(
            session=session, principal=evaluation.EVAL_OPERATOR, records=read_jsonl(catalogue(size))
        )
        imports.import_needs(session=session, principal=evaluation.EVAL_OPERATOR, records=read_jsonl(needs))
    # As `matchmaker import` leaves it: the vectors stored, the indexes saved.
    engine = engine_from_settings(settings)
    database = make_engine(url)
    keep = functools.partial(store_apart, make_session_factory(database))
    with session_scope(settings, writes=False) as session:
        for item in (engine.offers, engine.needs):
            item.reconcile(session, keep=keep)
            item.save()
    database.dispose()
    return url


def time_start(directory: Path, url: str) -> tuple[float, float]:
    """Seconds from launching `serve` to the first /healthz answer, and to /readyz saying ready."""
    port = free_port()
    env = {**os.environ, "MATCHMAKER_DATA_DIR": str(directory), "MATCHMAKER_DATABASE_URL": url}
    command = [sys.executable, "-m", "matchmaker.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    launched = time.perf_counter()
    server = subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    healthy = ready = None
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=2) as client:
            while ready is None and time.perf_counter() - launched < GIVE_UP_SECONDS:
                try:
                    if healthy is None and client.get("/healthz").status_code == 200:
                        healthy = time.perf_counter() - launched
                    if client.get("/readyz").status_code == 200:
                        ready = time.perf_counter() - launched
                except httpx.TransportError:
                    pass
                time.sleep(POLL_SECONDS)
    finally:
        server.terminate()
        server.wait(timeout=30)
    if healthy is None or ready is None:
        raise SystemExit(f"the server did not become ready within {GIVE_UP_SECONDS} s")
    return healthy, ready


def replica_starts(directory: Path, url: str, size: int) -> None:
    """Start new replicas (data directories without an index) over the database: with stored vectors, and
    after deleting them."""
    (directory / "replica-stored").mkdir()
    (directory / "replica-embedding").mkdir()
    healthy, ready = time_start(directory / "replica-stored", url)
    print(f"{size:>8} offers, a new replica reading stored vectors: ready after {ready:.2f} s", flush=True)
    database = make_engine(url)
    with database.begin() as connection:
        connection.execute(delete(StoredVector))
    database.dispose()
    healthy, ready = time_start(directory / "replica-embedding", url)
    print(f"{size:>8} offers, a new replica embedding them: ready after {ready:.2f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--replicas", action="store_true", help="also start new replicas (no saved index)")
    args = parser.parse_args()
    jittered_embedder(get_settings().model)
    results = []
    for size in (int(value) for value in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="matchmaker-bench-") as scratch:
            directory = Path(scratch)
            url = prepare(directory, size)
            healthy, ready = time_start(directory, url)
            print(f"{size:>8} offers: /healthz after {healthy:.2f} s, ready after {ready:.2f} s", flush=True)
            if args.replicas:
                replica_starts(directory, url, size)
        results.append((size, healthy, ready))
    if len(results) > 1:
        (first, _, first_ready), (last, _, last_ready) = results[0], results[-1]
        print(f"growth {first} -> {last} offers: start-up to ready x{last_ready / first_ready:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
