#!/usr/bin/env python
"""Benchmark: how fast `matchmaker import offers` takes a large file, and how much memory it uses (issue 13).

    .venv/bin/python bench/import_rate.py [--sizes 20000] [--slice 4000]

For each size N it writes N offers to a file (the relevance set's 1,605 offers repeated with a numbered
title, so every text is embedded for real), runs the CLI import into a scratch SQLite database as a user
would, and prints the offers per second from launch to exit (rows written, then the index embedded and
saved) and the peak memory of the import's processes together (sampled every 0.1 s from /proc).

Then, side by side on a slice, the two changes measured against what they replaced: rows written a batch at
a time (`imports.service.BATCH`) against one savepoint per record, and documents embedded on every core
(`vectors.pooled`) against one process. A benchmark, not a test: figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from match_after_import import REPO, catalogue  # noqa: E402

from matchmaker.cli import session_scope  # noqa: E402
from matchmaker.config import get_settings, scratch_settings  # noqa: E402
from matchmaker.imports import service as imports  # noqa: E402
from matchmaker.imports.readers import read_jsonl  # noqa: E402
from matchmaker.matching import evaluation  # noqa: E402
from matchmaker.matching.engine import shared_embedder  # noqa: E402
from matchmaker.matching.indexer import join_offer_text  # noqa: E402
from matchmaker.vectors import pooled  # noqa: E402
from matchmaker.vectors.pooled import PooledEmbedder, every_core  # noqa: E402

SAMPLE_SECONDS = 0.1


def tree_rss_bytes(root: int) -> int:
    """The resident memory of a process and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    total = 0
    for pid in tree:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def cli_import(size: int) -> tuple[float, int]:
    """Seconds for `matchmaker import offers` of `size` offers, and the peak memory of its processes."""
    with tempfile.TemporaryDirectory(prefix="matchmaker-bench-") as scratch:
        directory = Path(scratch)
        data = directory / "offers.jsonl"
        data.write_text(catalogue(size), encoding="utf-8")
        settings = scratch_settings(directory)
        env = {
            **os.environ,
            "MATCHMAKER_DATA_DIR": str(directory),
            "MATCHMAKER_DATABASE_URL": settings.sqlalchemy_url,
        }
        command = [sys.executable, "-m", "matchmaker.cli", "import", "offers", str(data)]
        peak = 0
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss_bytes(process.pid))
                time.sleep(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        if code != 0:
            raise SystemExit(f"the import failed (exit {code})")
        return elapsed, peak


def rows_per_second(size: int, batch: int) -> float:
    """Offers written per second by the service's importer with this batch size (no embedding)."""
    imports.BATCH = batch
    with tempfile.TemporaryDirectory(prefix="matchmaker-bench-") as scratch:
        settings = scratch_settings(Path(scratch))
        started = time.perf_counter()
        with session_scope(settings) as session:
            imports.import_offers(
                session=session, principal=evaluation.EVAL_OPERATOR, records=read_jsonl(catalogue(size))
            )
        return size / (time.perf_counter() - started)


def texts_per_second(texts: list[str], processes: int) -> float:
    spec = get_settings().model
    embedder = PooledEmbedder(spec, shared_embedder(spec), processes=processes)
    try:
        embedder.encode_documents(texts[:64])  # a worker started and its model loaded before the clock
        started = time.perf_counter()
        for start in range(0, len(texts), 256):  # as `Catalogue.put` hands them over
            embedder.encode_documents(texts[start : start + 256])
        return len(texts) / (time.perf_counter() - started)
    finally:
        embedder.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000")
    parser.add_argument("--slice", type=int, default=4000, help="offers in the side-by-side comparisons")
    args = parser.parse_args()
    for size in (int(value) for value in args.sizes.split(",")):
        elapsed, peak = cli_import(size)
        print(
            f"{size:>8} offers: `matchmaker import offers` in {elapsed:.1f} s, {size / elapsed:.0f} offers/s "
            f"(rows and index), peak memory {peak / 1e9:.2f} GB",
            flush=True,
        )
    batched = imports.BATCH
    one, many = [], []
    for _ in range(2):  # alternated, so a noisy neighbour weighs on both
        one.append(rows_per_second(args.slice, 1))
        many.append(rows_per_second(args.slice, batched))
    print(
        f"rows ({args.slice} offers): {max(many):.0f}/s in batches of {batched}, "
        f"{max(one):.0f}/s one savepoint per record (x{max(many) / max(one):.1f})",
        flush=True,
    )
    pooled.START_POOL_AFTER = 0
    records = [json.loads(line) for line in catalogue(args.slice).splitlines()]
    texts = [join_offer_text(record["title"], record.get("description") or "") for record in records]
    cores = every_core()
    alone, shared = [], []
    for _ in range(2):
        alone.append(texts_per_second(texts, 1))
        shared.append(texts_per_second(texts, cores))
    print(
        f"embedding ({len(texts)} offers' texts): {max(shared):.0f}/s on {cores} cores, "
        f"{max(alone):.0f}/s in one process (x{max(shared) / max(alone):.2f})",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
