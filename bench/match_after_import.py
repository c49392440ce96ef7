#!/usr/bin/env python
"""Benchmark: the time to rank a need right after a bulk import, at growing catalogue sizes (issue 13).

    .venv/bin/python bench/match_after_import.py [--sizes 2000,20000] [--needs 30]

For each size N it imports N offers into a scratch SQLite database with the service's own importer (the
relevance set's 1,605 offers, repeated with a numbered suffix on the title), starts the matching engine
(which embeds them), and ranks the relevance set's needs with `matching.service.rank_for_need`, the code
behind `GET /needs/{id}/matches`, straight after: the moment when every offer was changed within the last
minutes. It prints the median and p90 of a match per size, for all needs and for the selective ones (a
hard filter leaves at most 2% of the offers eligible), and the ratio of the medians between the largest
and the smallest size. Each need is also ranked with the engine's dense snapshot set aside (every
candidate scored), side by side in the same loop: the median of that, and how many needs were shown
anything else (matches, near misses or the count of relevant offers). A benchmark, not a test: figures are
printed, never asserted.

Embedding: each distinct text of the relevance set is embedded once with the real model; a repeated text
gets that vector plus small seeded noise (so repeats are not identical), which keeps a 20,000-offer run to
minutes on two cores. What is timed, ranking, is the service's code unchanged.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from matchmaker.cli import session_scope  # noqa: E402
from matchmaker.config import get_settings, scratch_settings  # noqa: E402
from matchmaker.imports import service as imports  # noqa: E402
from matchmaker.imports.readers import read_jsonl  # noqa: E402
from matchmaker.matching import evaluation  # noqa: E402
from matchmaker.matching.engine import engine_from_settings, shared_embedder  # noqa: E402
from matchmaker.matching.ranking import Ranking  # noqa: E402
from matchmaker.matching.service import need_criteria, rank_for_need  # noqa: E402

RELEVANCE = REPO / "evaluation" / "relevance"
SELECTIVE_SHARE = 0.02
NOISE = 0.02


def jittered_embedder(spec: str) -> None:
    """Embed each distinct base text once; repeats (titles ending in " #n") get seeded noise on top."""
    embedder = shared_embedder(spec)
    encode = embedder.encode_documents
    cache: dict[str, np.ndarray] = {}

    def encode_documents(texts: Any) -> np.ndarray:
        rows = []
        for text in texts:
            base = text.split(" #", 1)[0]
            if base not in cache:
                cache[base] = encode([base])[0]
            seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
            noisy = cache[base] + np.random.default_rng(seed).normal(0, NOISE, len(cache[base]))
            rows.append(noisy / np.linalg.norm(noisy))
        return np.asarray(rows, dtype=np.float32)

    embedder.encode_documents = encode_documents  # type: ignore[method-assign]


def catalogue(size: int) -> str:
    text = (RELEVANCE / "offers.jsonl").read_text(encoding="utf-8")
    base = [json.loads(line) for line in text.splitlines()]
    lines = []
    for i in range(size):
        record = dict(base[i % len(base)], id=f"b{i}")
        if i >= len(base):
            record["title"] = f"{record['title']} #{i}"
        lines.append(json.dumps(record, ensure_ascii=False))
    return "\n".join(lines)


def run_size(size: int, needs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="matchmaker-bench-") as scratch:
        settings = scratch_settings(Path(scratch))
        need_lines = (RELEVANCE / "needs.jsonl").read_text(encoding="utf-8").splitlines()[:needs]
        with session_scope(settings) as session:
            started = time.perf_counter()
            imports.import_offers(
                session=session, principal=evaluation.EVAL_OPERATOR, records=read_jsonl(catalogue(size))
            )
            imports.import_needs(
                session=session, principal=evaluation.EVAL_OPERATOR, records=read_jsonl("\n".join(need_lines))
            )
            imported = time.perf_counter() - started
        with session_scope(settings, writes=False) as session:
            engine = engine_from_settings(settings)
            started = time.perf_counter()
            engine.start(session)
            start_up = time.perf_counter() - started
            engine.refresh_snapshot(background=False)  # served, it is built in the background
            snapshot = engine.snapshot
            times: list[float] = []
            selective: list[float] = []
            exact_times: list[float] = []
            exact_selective: list[float] = []
            differing = differing_matches = 0
            for need in evaluation.open_needs(session):
                criteria = need_criteria(need)
                rankings = []
                # Side by side: the snapshot's path, then every offer scored.
                for timed, planned in ((times, snapshot), (exact_times, None)):
                    engine.snapshot = planned
                    for _ in range(3):
                        began = time.perf_counter()
                        ranking = rank_for_need(
                            session=session, engine=engine, need=need, criteria=criteria, limit=10
                        ).ranking
                        elapsed = time.perf_counter() - began
                    rankings.append(ranking)
                    timed.append(elapsed)  # the last of three: the first pays for caches
                engine.snapshot = snapshot
                differing += shown(rankings[0]) != shown(rankings[1])
                # Matches and their count must be exact; near misses may be approximate (the snapshot).
                differing_matches += shown(rankings[0])[::2] != shown(rankings[1])[::2]
                if rankings[0].eligible <= SELECTIVE_SHARE * size:
                    selective.append(times[-1])
                    exact_selective.append(exact_times[-1])
    return {
        "size": size,
        "import_s": imported,
        "start_up_s": start_up,
        "snapshot": snapshot is not None,
        "snapshot_s": snapshot.build_seconds if snapshot is not None else 0.0,
        "snapshot_mb": snapshot.planner.nbytes() / 1e6 if snapshot is not None else 0.0,
        "median_ms": 1000 * statistics.median(times),
        "p90_ms": 1000 * float(np.percentile(times, 90)),
        "exact_median_ms": 1000 * statistics.median(exact_times),
        "differing": differing,
        "differing_matches": differing_matches,
        "needs": len(times),
        "selective_needs": len(selective),
        "selective_median_ms": 1000 * statistics.median(selective) if selective else float("nan"),
        "exact_selective_median_ms": (
            1000 * statistics.median(exact_selective) if exact_selective else float("nan")
        ),
    }


def shown(ranking: Ranking) -> tuple[list[int], list[int], int]:
    """What a buyer sees: the matches and near misses, in order, and the count of relevant offers."""
    return (
        [scored.facts.id for scored in ranking.matches],
        [scored.facts.id for scored in ranking.near_misses],
        ranking.relevant,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--needs", type=int, default=30)
    args = parser.parse_args()
    jittered_embedder(get_settings().model)
    results = []
    for size in (int(value) for value in args.sizes.split(",")):
        result = run_size(size, args.needs)
        results.append(result)
        print(
            f"{size:>8} offers: import {result['import_s']:.1f} s, "
            f"engine start {result['start_up_s']:.1f} s, "
            f"match median {result['median_ms']:.1f} ms (p90 {result['p90_ms']:.1f}); "
            f"{result['selective_needs']} selective needs: median {result['selective_median_ms']:.1f} ms; "
            + (
                f"dense snapshot built in {result['snapshot_s']:.1f} s, {result['snapshot_mb']:.0f} MB"
                if result["snapshot"]
                else "no dense snapshot"
            )
            + "; every offer scored: median "
            f"{result['exact_median_ms']:.1f} ms, selective {result['exact_selective_median_ms']:.1f} ms; "
            f"{result['differing']} of {result['needs']} needs shown otherwise "
            f"({result['differing_matches']} in their matches or count of relevant offers)",
            flush=True,
        )
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(
            f"growth {first['size']} -> {last['size']} offers: match median x"
            f"{last['median_ms'] / first['median_ms']:.2f}, selective x"
            f"{last['selective_median_ms'] / first['selective_median_ms']:.2f}, engine start x"
            f"{last['start_up_s'] / first['start_up_s']:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
