#!/usr/bin/env python
"""Benchmark: what the model of relevance costs a match (issue 12: at 5,000 offers, no more than 20% slower).

    .venv/bin/python bench/judged_ranking.py [--size 5000] [--needs 60] [--saved]

Imports `--size` offers (the relevance set's, repeated with a numbered suffix, as `match_after_import.py`
does) and its needs into a scratch SQLite database, starts the engine, and ranks each need with
`matching.service.rank_for_need` (the code behind `GET /needs/{id}/matches`) twice, side by side in the same
loop: with the model of relevance judging the candidates (the service's default) and with the hybrid
formula and its floor deciding (as before the model). It prints the median and p90 of each and the ratio
of the medians. It also times the vendor's view (the needs an offer fits), which with the model runs the
buyer's ranking of each need the offer could match. `--saved` starts a second engine from the index the
first saved, as a restarted server does, whose offers' texts are read from the database when first
judged: the first and later rankings of each need are then timed apart. A benchmark, not a test: figures
are printed, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for path in (REPO, REPO / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from match_after_import import RELEVANCE, catalogue, jittered_embedder  # noqa: E402

from matchmaker.cli import session_scope  # noqa: E402
from matchmaker.config import get_settings, scratch_settings  # noqa: E402
from matchmaker.imports import service as imports  # noqa: E402
from matchmaker.imports.readers import read_jsonl  # noqa: E402
from matchmaker.matching import evaluation  # noqa: E402
from matchmaker.matching.engine import Engine, engine_from_settings  # noqa: E402
from matchmaker.matching.service import match_offer, need_criteria, rank_for_need  # noqa: E402

REPEATS = 3
VENDOR_OFFERS = 30


def timed_rankings(engine: Engine, session: object, *, judged: bool) -> list[float]:
    """The last of `REPEATS` rankings of every open need, in seconds (the first pays for caches)."""
    model = engine.relevance
    times = []
    for need in evaluation.open_needs(session):  # type: ignore[arg-type]
        criteria = need_criteria(need)
        engine.relevance = model if judged else None
        for _ in range(REPEATS):
            began = time.perf_counter()
            rank_for_need(session=session, engine=engine, need=need, criteria=criteria, limit=10)  # type: ignore[arg-type]
            elapsed = time.perf_counter() - began
        times.append(elapsed)
        engine.relevance = model
    return times


def timed_vendor_views(engine: Engine, session: object, *, judged: bool) -> list[float]:
    """The vendor's view (`GET /offers/{id}/matches`, the needs an offer fits) of the first offers, in
    seconds, as the operator sees it (every open need)."""
    model = engine.relevance
    engine.relevance = model if judged else None
    times = []
    for offer_id in range(1, VENDOR_OFFERS + 1):
        began = time.perf_counter()
        match_offer(
            session=session, engine=engine, principal=evaluation.EVAL_OPERATOR, offer_id=offer_id, limit=10
        )  # type: ignore[arg-type]
        times.append(time.perf_counter() - began)
    engine.relevance = model
    return times


def line(label: str, times: list[float], *, of: str = "needs") -> str:
    return (
        f"{label:<50} median {1000 * statistics.median(times):6.1f} ms  "
        f"p90 {1000 * float(np.percentile(times, 90)):6.1f} ms  ({len(times)} {of})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--needs", type=int, default=60)
    parser.add_argument("--saved", action="store_true", help="also time a restart from the saved index")
    args = parser.parse_args()
    jittered_embedder(get_settings().model)
    with tempfile.TemporaryDirectory(prefix="matchmaker-bench-") as scratch:
        settings = scratch_settings(Path(scratch))
        needs = (RELEVANCE / "needs.jsonl").read_text(encoding="utf-8").splitlines()[: args.needs]
        with session_scope(settings) as session:
            principal = evaluation.EVAL_OPERATOR
            imports.import_offers(
                session=session, principal=principal, records=read_jsonl(catalogue(args.size))
            )
            imports.import_needs(session=session, principal=principal, records=read_jsonl("\n".join(needs)))
        with session_scope(settings, writes=False) as session:
            engine = engine_from_settings(settings)
            engine.start(session)
            engine.refresh_snapshot(background=False)  # served, it is built in the background (from 50,000)
            if engine.relevance is None:
                print("the configured embedding model has no model of relevance: nothing to compare")
                return 1
            # Interleaved by round, so that a noisy neighbour slows both alike.
            judged, formula = [], []
            for _ in range(2):
                judged += timed_rankings(engine, session, judged=True)
                formula += timed_rankings(engine, session, judged=False)
            print(f"{args.size} offers, {len(needs)} needs, each ranked {REPEATS} times, the last timed:")
            print(line("judged by the model of relevance", judged))
            print(line("the hybrid formula and its floor (before)", formula))
            print(f"ratio of the medians: x{statistics.median(judged) / statistics.median(formula):.3f}")
            vendor_judged, vendor_formula = [], []
            for _ in range(2):
                vendor_judged += timed_vendor_views(engine, session, judged=True)
                vendor_formula += timed_vendor_views(engine, session, judged=False)
            print(f"the vendor's view of {VENDOR_OFFERS} offers against the {len(needs)} open needs:")
            print(line("judged (the buyer's ranking where it could match)", vendor_judged, of="views"))
            print(line("the hybrid formula and its floor (before)", vendor_formula, of="views"))
            engine.save()
        if args.saved:
            with session_scope(settings, writes=False) as session:
                restarted = engine_from_settings(settings)
                restarted.start(session)
                first = []
                for need in evaluation.open_needs(session):
                    began = time.perf_counter()
                    rank_for_need(
                        session=session, engine=restarted, need=need, criteria=need_criteria(need), limit=10
                    )
                    first.append(time.perf_counter() - began)
                print(line("restarted from the saved index, first", first))
                print(
                    line(
                        "restarted from the saved index, later",
                        timed_rankings(restarted, session, judged=True),
                    )
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
