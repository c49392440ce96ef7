"""Write pools/<need_id>.jsonl: a generous first-stage candidate pool per need, for graders to read.

    .venv/bin/python evaluation/relevance/build/make_pools.py

A pool is the union of
  (a) the top 40 of the service's own unfiltered ranking, without its relevance floor (imported and ranked
      exactly as `matchmaker eval` does, in a scratch SQLite database);
  (b) the top 20 by BM25 over title + description (English words, Chinese character bigrams);
  (c) every offer of the need's category that shares a glossary concept with the need (product concepts:
      the glossary's "general" ones, such as carbon footprint or PPA, are left out).
Line 1 of a pool file is the need; then one candidate per line, sorted by offer id, with what a grader needs
to judge it (and the hard-filter failures, for qrels.tsv). Which stage found a candidate is kept out of the
pool files (so grading stays blind) and written to pool_sources.tsv.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from dataset import load_jsonl, load_scorer  # noqa: E402

OUT = HERE.parent
ROOT = OUT.parents[1]
sys.path.insert(0, str(ROOT))

from matchmaker.config import scratch_settings  # noqa: E402
from matchmaker.matching.evaluation import import_dataset, open_needs, ranked_external_ids  # noqa: E402
from matchmaker.matching.glossary import english_words, load_glossary  # noqa: E402

SYSTEM_TOP, BM25_TOP = 40, 20
CJK_RUN = re.compile(r"[\u3400-\u9fff]+")


def tokens(text: str) -> list[str]:
    """English words (lowercased, singular) and Chinese character bigrams (a lone character stays one)."""
    found = english_words(text)
    for run in CJK_RUN.findall(text):
        found.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
    return found


class BM25:
    def __init__(self, documents: dict[str, str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.terms = {key: Counter(tokens(text)) for key, text in documents.items()}
        self.lengths = {key: sum(counts.values()) for key, counts in self.terms.items()}
        self.average = sum(self.lengths.values()) / max(1, len(self.lengths))
        frequency: Counter[str] = Counter()
        for counts in self.terms.values():
            frequency.update(counts.keys())
        total = len(self.terms)
        self.idf = {term: math.log(1 + (total - df + 0.5) / (df + 0.5)) for term, df in frequency.items()}

    def top(self, query: str, k: int) -> list[str]:
        wanted = set(tokens(query))
        scores: dict[str, float] = {}
        for key, counts in self.terms.items():
            score = 0.0
            norm = self.k1 * (1 - self.b + self.b * self.lengths[key] / self.average)
            for term in wanted & counts.keys():
                tf = counts[term]
                score += self.idf[term] * tf * (self.k1 + 1) / (tf + norm)
            if score > 0:
                scores[key] = score
        return sorted(scores, key=lambda key: (-scores[key], key))[:k]


def system_rankings(data_dir: Path) -> dict[str, list[str]]:
    """The service's unfiltered top 40 per need, no floor, imported and ranked as `matchmaker eval` does."""
    from matchmaker.cli import _engine, session_scope

    with tempfile.TemporaryDirectory(prefix="relevance-pools-") as scratch:
        settings = scratch_settings(Path(scratch))
        rankings: dict[str, list[str]] = {}
        with session_scope(settings) as session:
            import_dataset(session, data_dir)
            engine = _engine(settings)
            engine.start(session)
            for need in open_needs(session):
                rankings[need.external_id] = ranked_external_ids(
                    session=session, engine=engine, need=need, limit=SYSTEM_TOP, filtered=False
                )
    return rankings


def main() -> None:
    scorer = load_scorer()
    offers = {offer["id"]: offer for offer in load_jsonl(OUT / "offers.jsonl")}
    needs = load_jsonl(OUT / "needs.jsonl")
    system = system_rankings(OUT)
    bm25 = BM25({key: f"{offer['title']} {offer['description']}" for key, offer in offers.items()})
    glossary = load_glossary(None)
    # Concepts of the glossary's "general" category (carbon footprint, EPD, PPA, low carbon...) are about the
    # footprint or the contract, not the product: sharing one says nothing about being the same product.
    general = {cid for cid, concept in glossary.concepts.items() if concept.category == "general"}
    concepts = {
        key: glossary.find(f"{offer['title']} {offer['description']}") - general
        for key, offer in offers.items()
    }
    pools_dir = OUT / "pools"
    pools_dir.mkdir(exist_ok=True)
    for stale in pools_dir.glob("*.jsonl"):
        stale.unlink()
    sizes, sources_rows = [], []
    for need in needs:
        found: dict[str, set[str]] = {}
        for key in system.get(need["id"], []):
            found.setdefault(key, set()).add("system")
        for key in bm25.top(need["text"], BM25_TOP):
            found.setdefault(key, set()).add("bm25")
        need_concepts = glossary.find(need["text"]) - general
        for key, offer in offers.items():
            if offer["category"] == need["category"] and need_concepts & concepts[key]:
                found.setdefault(key, set()).add("concept")
        lines = [json.dumps({"need": need, "concepts": sorted(need_concepts)}, ensure_ascii=False)]
        for key in sorted(found):
            offer = offers[key]
            lines.append(
                json.dumps(
                    {
                        "offer_id": key,
                        "title": offer["title"],
                        "description": offer["description"],
                        "category": offer["category"],
                        "kind": offer["kind"],
                        "language": offer.get("language"),
                        "region": offer.get("region"),
                        "pcf_value": offer.get("pcf_value"),
                        "pcf_unit": offer.get("pcf_unit"),
                        "pcf_verified": offer.get("pcf_verified"),
                        "alliance": offer.get("alliance", []),
                        "filter_failures": scorer.filter_failures(offer, need),
                    },
                    ensure_ascii=False,
                )
            )
            sources_rows.append((need["id"], key, ",".join(sorted(found[key]))))
        (pools_dir / f"{need['id']}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        sizes.append(len(found))
    with (OUT / "pool_sources.tsv").open("w", encoding="utf-8") as handle:
        handle.write("need_id\toffer_id\tfound_by\n")
        handle.writelines(f"{n}\t{o}\t{s}\n" for n, o, s in sources_rows)
    print(
        f"{len(sizes)} pools; size median {statistics.median(sizes)}, min {min(sizes)}, max {max(sizes)}, "
        f"total {sum(sizes)} candidates"
    )


if __name__ == "__main__":
    main()
