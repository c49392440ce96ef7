#!/usr/bin/env python
"""Benchmark: the memory of `matchmaker serve` with one and two worker processes, per way of holding the
vectors (issue 13: "several worker processes on one machine share one copy of the vectors").

    .venv/bin/python bench/worker_memory.py [--size 100000] [--kinds mapped,faiss] [--workers 1,2]

It imports SIZE offers into a scratch SQLite database and saves the indexes as `matchmaker import` does
(`start_up.prepare`), then, for each index kind and worker count, starts `matchmaker serve` from that save,
waits until /readyz says ready and the processes' memory has settled (the dense snapshot is built beside),
and sums over the server and its workers:

- PSS (proportional set size: a page mapped by two processes counts half in each), the memory the
  processes take between them;
- RSS, which counts a shared page once in every process that maps it.

The raw vectors (SIZE x dimension x 4 bytes) are printed for the ratio. A benchmark, not a test: figures
are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from match_after_import import REPO, jittered_embedder  # noqa: E402
from start_up import free_port, prepare  # noqa: E402

from matchmaker.cli import session_scope  # noqa: E402
from matchmaker.config import get_settings, scratch_settings  # noqa: E402
from matchmaker.matching.engine import engine_from_settings, shared_embedder  # noqa: E402

SETTLE_SECONDS = 10
GIVE_UP_SECONDS = 900
MB = 1024 * 1024


def process_tree(root: int) -> list[int]:
    """The process and every descendant, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, waiting = [], [root]
    while waiting:
        pid = waiting.pop()
        found.append(pid)
        waiting.extend(children.get(pid, []))
    return found


def memory_of(root: int) -> tuple[float, float, int]:
    """PSS and RSS in MB summed over the tree, and its process count."""
    pss = rss = 0
    pids = process_tree(root)
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                name, _, value = line.partition(":")
                if name == "Pss":
                    pss += int(value.split()[0]) * 1024
                elif name == "Rss":
                    rss += int(value.split()[0]) * 1024
        except OSError:
            continue
    return pss / MB, rss / MB, len(pids)


def measure(directory: Path, url: str, kind: str, workers: int) -> tuple[float, float, int]:
    """Start a server from the saved index; its settled memory once ready."""
    port = free_port()
    env = {
        **os.environ,
        "MATCHMAKER_DATA_DIR": str(directory),
        "MATCHMAKER_DATABASE_URL": url,
        "MATCHMAKER_INDEX_KIND": kind,
    }
    command = [
        sys.executable, "-m", "matchmaker.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers),
    ]  # fmt: skip
    server = subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    launched = time.perf_counter()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            ready = 0
            while ready < workers and time.perf_counter() - launched < GIVE_UP_SECONDS:
                try:  # each answer comes from one worker: several in a row, so that all are likely ready
                    ready = ready + 1 if client.get("/readyz").status_code == 200 else 0
                except httpx.TransportError:
                    ready = 0
                time.sleep(0.2)
        settled, last = 0.0, memory_of(server.pid)[0]
        while settled < SETTLE_SECONDS and time.perf_counter() - launched < GIVE_UP_SECONDS:
            time.sleep(1)
            now = memory_of(server.pid)[0]
            settled = settled + 1 if abs(now - last) < 0.01 * last else 0.0
            last = now
        return memory_of(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)


def save_as(kind: str, data: Path, url: str) -> None:
    """Save the indexes of the imported catalogue as this kind (a save is loaded as the kind it was written
    as), from the vectors the import stored."""
    settings = scratch_settings(data).model_copy(update={"database_url": url, "index_kind": kind})
    engine = engine_from_settings(settings)
    with session_scope(settings, writes=False) as session:
        for catalogue in (engine.offers, engine.needs):
            catalogue.reconcile(session)
            catalogue.save()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--kinds", default="mapped,faiss")
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    spec = get_settings().model
    jittered_embedder(spec)
    raw = args.size * shared_embedder(spec).identity.dim * 4 / MB
    with tempfile.TemporaryDirectory(prefix="matchmaker-bench-") as scratch:
        directory = Path(scratch)
        print(f"importing {args.size} offers ...", flush=True)
        url = prepare(directory, args.size)
        print(f"raw vectors: {raw:.0f} MB", flush=True)
        for kind in args.kinds.split(","):
            data = directory / kind
            save_as(kind, data, url)
            for workers in (int(value) for value in args.workers.split(",")):
                pss, rss, processes = measure(data, url, kind, workers)
                print(
                    f"{kind:>7}, {workers} worker(s), {processes} processes: PSS {pss:,.0f} MB "
                    f"({pss / raw:.2f}x the raw vectors), RSS {rss:,.0f} MB",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
