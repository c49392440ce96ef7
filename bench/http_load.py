#!/usr/bin/env python
"""Benchmark: the served API under load on PostgreSQL, with several worker processes (issue 13).

    .venv/bin/python bench/http_load.py [--offers 100000] [--workers 2] [--concurrency 16] [--seconds 60]

It creates a throwaway database on the PostgreSQL server MATCHMAKER_BENCH_POSTGRES names (default the
local one), imports the offers and the relevance set's needs (the catalogue and embedding of
`match_after_import.py`), saves the indexes as an import leaves them, and starts `matchmaker serve
--workers N`. Once every worker is ready it runs, for the given seconds: `concurrency` clients asking for a
random need's matches (`GET /needs/{id}/matches`, as the operator), one writer creating and publishing an
offer every half second (as a vendor), and a probe of /healthz every 50 ms. It prints matches/s, the p50
and p99 of a match and of /healthz, every error, and whether each write that was acknowledged is in the
database afterwards. A benchmark, not a test: figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import create_engine, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from match_after_import import RELEVANCE, REPO, catalogue, jittered_embedder  # noqa: E402
from start_up import free_port  # noqa: E402

from matchmaker.cli import session_scope  # noqa: E402
from matchmaker.config import Settings, get_settings  # noqa: E402
from matchmaker.db.models import Need, Offer, Organisation  # noqa: E402
from matchmaker.db.session import make_engine, make_session_factory  # noqa: E402
from matchmaker.imports import service as imports  # noqa: E402
from matchmaker.imports.readers import read_jsonl  # noqa: E402
from matchmaker.matching import evaluation  # noqa: E402
from matchmaker.matching.lifecycle import start_engine  # noqa: E402
from matchmaker.parties import service as parties  # noqa: E402

SERVER = os.environ.get("MATCHMAKER_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
WRITE_EVERY_SECONDS = 0.5
PROBE_EVERY_SECONDS = 0.05


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A database of its own on the server, dropped afterwards; its URL."""
    name = f"matchmaker_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield SERVER.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(settings: Settings, offers: int) -> dict[str, str]:
    """Import the catalogue and needs, save the indexes; API keys of an operator and a vendor."""
    with session_scope(settings) as session:
        started = time.perf_counter()
        imports.import_offers(
            session=session, principal=evaluation.EVAL_OPERATOR, records=read_jsonl(catalogue(offers))
        )
        needs = (RELEVANCE / "needs.jsonl").read_text(encoding="utf-8")
        imports.import_needs(session=session, principal=evaluation.EVAL_OPERATOR, records=read_jsonl(needs))
        print(f"imported {offers} offers in {time.perf_counter() - started:.0f} s", flush=True)
        keys = {}
        for role, kind in (("operator", "operator"), ("vendor", "vendor")):
            organisation = Organisation(name=f"Bench {role}", kind=kind, admission_status="admitted")
            session.add(organisation)
            session.flush()
            _, keys[role] = parties.issue_key(session=session, organisation=organisation, role=role)
    database = make_engine(settings.sqlalchemy_url)
    start_engine(settings, make_session_factory(database)).save()
    database.dispose()
    return keys


@contextmanager
def serving(settings: Settings, workers: int) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "MATCHMAKER_DATA_DIR": str(settings.data_dir),
        "MATCHMAKER_DATABASE_URL": settings.database_url,
        "MATCHMAKER_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "matchmaker.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen([*command, "--workers", str(workers)], env=env, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_every_worker_is_ready(url, workers)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)


def wait_until_every_worker_is_ready(url: str, workers: int) -> None:
    """Ready answers in a row, many more than workers: each worker has had its turn at the socket."""
    deadline, in_a_row = time.monotonic() + 900, 0
    while in_a_row < 20 * workers:
        if time.monotonic() > deadline:
            raise SystemExit("the server did not become ready within 900 s")
        try:
            in_a_row = in_a_row + 1 if httpx.get(f"{url}/readyz", timeout=5).status_code == 200 else 0
        except httpx.TransportError:
            in_a_row = 0
        time.sleep(0.05)


async def load(
    url: str, keys: dict[str, str], need_ids: list[int], args: argparse.Namespace
) -> dict[str, Any]:
    matches: list[float] = []
    finished: list[float] = []  # when each match finished (seconds into the run), in `matches`' order
    probes: list[float] = []
    errors: Counter[str] = Counter()
    written: list[int] = []
    stop = time.monotonic() + args.seconds
    operator = {"Authorization": f"Bearer {keys['operator']}"}
    vendor = {"Authorization": f"Bearer {keys['vendor']}"}
    limits = httpx.Limits(max_connections=args.concurrency + 4)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def timed(method: str, path: str, into: list[float] | None, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                response = await client.request(method, path, **kwargs)
            except httpx.HTTPError as error:
                errors[f"{method} {path.split('/')[1]}: {type(error).__name__}"] += 1
                return None
            if response.status_code >= 400:
                errors[f"{method} {path.split('/')[1]}: {response.status_code}"] += 1
                return None
            if into is not None:
                into.append(time.perf_counter() - began)
                if into is matches:
                    finished.append(time.monotonic() - (stop - args.seconds))
            return response

        async def matcher(seed: int) -> None:
            rng = random.Random(seed)
            while time.monotonic() < stop:
                need = rng.choice(need_ids)
                await timed("GET", f"/needs/{need}/matches?limit=10", matches, headers=operator)

        async def writer() -> None:
            number = 0
            while time.monotonic() < stop:
                number += 1
                body = {
                    "external_id": f"load-{number}", "title": f"Scrap-EAF rebar HRB400E, lot {number}",
                    "description": "Rebar from scrap in an electric arc furnace.", "kind": "product",
                    "category": "steel", "region": "Jiangsu", "pcf_value": 0.62, "pcf_unit": "tCO2e/t",
                    "pcf_verified": True, "standard": "ISO 14067",
                }  # fmt: skip
                created = await timed("POST", "/offers", None, json=body, headers=vendor)
                if created is not None:
                    identifier = created.json()["id"]
                    path = f"/offers/{identifier}"
                    if await timed("PATCH", path, None, json={"status": "published"}, headers=vendor):
                        written.append(identifier)
                await asyncio.sleep(WRITE_EVERY_SECONDS)

        async def prober() -> None:
            while time.monotonic() < stop:
                await timed("GET", "/healthz", probes)
                await asyncio.sleep(PROBE_EVERY_SECONDS)

        began = time.monotonic()
        await asyncio.gather(*(matcher(seed) for seed in range(args.concurrency)), writer(), prober())
        elapsed = time.monotonic() - began
    return {
        "matches": matches, "finished": finished, "probes": probes, "errors": errors, "written": written,
        "elapsed": elapsed,
    }  # fmt: skip


def missing_writes(settings: Settings, written: list[int]) -> list[int]:
    """Acknowledged writes the database does not hold as published."""
    database = make_engine(settings.sqlalchemy_url)
    try:
        with database.connect() as connection:
            rows = connection.execute(
                select(Offer.id).where(Offer.id.in_(written), Offer.status == "published")
            )
            present = {row.id for row in rows}
    finally:
        database.dispose()
    return [identifier for identifier in written if identifier not in present]


def ms(values: list[float], q: float) -> float:
    return 1000 * float(np.percentile(values, q)) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    jittered_embedder(get_settings().model)
    with tempfile.TemporaryDirectory(prefix="matchmaker-bench-") as scratch, throwaway_database() as url:
        settings = Settings(
            data_dir=Path(scratch), database_url=url, model=get_settings().model, environment="test"
        )
        keys = prepare(settings, args.offers)
        with session_scope(settings, writes=False) as session:
            need_ids = list(session.scalars(select(Need.id).where(Need.status == "open")))
        with serving(settings, args.workers) as served:
            result = asyncio.run(load(served, keys, need_ids, args))
        lost = missing_writes(settings, result["written"])
    matches, probes = result["matches"], result["probes"]
    print(
        f"{args.offers} offers, {args.workers} workers, {args.concurrency} clients "
        f"for {result['elapsed']:.0f} s: "
        f"{len(matches) / result['elapsed']:.1f} matches/s, match p50 {ms(matches, 50):.1f} ms, "
        f"p99 {ms(matches, 99):.1f} ms; /healthz p50 {ms(probes, 50):.1f} ms, p99 {ms(probes, 99):.1f} ms "
        f"({len(probes)} probes); {len(result['written'])} writes acknowledged, {len(lost)} missing; "
        f"errors: {dict(result['errors']) or 'none'}",
        flush=True,
    )
    if matches:
        print(f"match median {1000 * statistics.median(matches):.1f} ms over {len(matches)} matches")
        # The first seconds pay for each worker's start: its dense snapshot is built, and what the model of
        # relevance reads of each offer judged is analysed once, in the first pass over the needs.
        later = [t for t, at in zip(matches, result["finished"], strict=True) if at >= args.seconds / 2]
        print(
            f"second half of the run: {len(later) / (args.seconds / 2):.1f} matches/s, "
            f"match p50 {ms(later, 50):.1f} ms, p99 {ms(later, 99):.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
