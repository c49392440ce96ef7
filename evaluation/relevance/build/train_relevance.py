"""Fit, cross-validate and write the model of relevance (`matchmaker.matching.relevance`, issue 12 items 2-4).

    .venv/bin/python evaluation/relevance/build/train_relevance.py [--write | --variants]   # 2 / 4 minutes

1. Both development sets (this one and eval-dev) are imported into scratch SQLite databases and indexed
   exactly as `matchmaker eval` does; for every need and every offer its buyer may see, the features of
   `relevance.FEATURES` are computed with the package's own code, with the eligibility under the need's hard
   filters and today's secondary bonus.
2. A logistic regression of "relevant" (first grading, grade >= 2) over the graded pool pairs is
   cross-validated in 5 folds grouped by need. For each regularisation C, the out-of-fold probabilities of
   every offer rank every need as the service would (eligible, probability >= threshold, the list empty
   unless some eligible offer reaches answer_threshold, ordered by probability + bonus) and score.py scores
   the lists. C and the two thresholds are chosen on these folds: the best filtered nDCG@10 (all) whose
   Recall@10 stays within 0.03 of today's.
3. Printed: today's figures in the same harness, the k-fold figures of the chosen model, eval-dev with the
   model fitted on every fold (a check, never tuned on), cross-lingual parity on translated_pairs.tsv.
   `--write` writes models/relevance.json.
4. `--variants` instead scores every feature set of `VARIANTS` the same way (the language-neutral
   candidates of `neutral_features`, for cross-lingual parity) and prints one table row each.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from matchmaker.cli import session_scope
from matchmaker.config import scratch_settings
from matchmaker.matching import evaluation
from matchmaker.matching.eligibility import judge
from matchmaker.matching.engine import engine_from_settings
from matchmaker.matching.relevance import (
    DEFAULT_MODEL,
    FEATURES,
    RelevanceModel,
    Side,
    need_side,
    offer_side,
    title_of,
    tokens,
)
from matchmaker.matching.repository import offers_by_id
from matchmaker.matching.scoring import DEFAULT_WEIGHTS, Secondary, secondary_bonus
from matchmaker.matching.service import need_criteria, need_query
from matchmaker.matching.text import lexical_coverage
from matchmaker.parties import service as party_service
from matchmaker.regions import in_region

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from dataset import load_scorer  # noqa: E402

REL = HERE.parent
DEV = REL.parents[2] / "shared" / "data" / "eval-dev"
FOLDS = 5
C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)
THRESHOLDS = (0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
RECALL_ALLOWANCE = 0.03
_CJK = re.compile(r"[\u3400-\u9fff]")
# Feature sets tried for cross-lingual parity (`--variants`); the extra names are `neutral_features`'.
VARIANTS: dict[str, tuple[str, ...]] = {
    "current (models/relevance.json)": FEATURES,
    "current + gap in the offer's language": (*FEATURES, "gap_language"),
    "concepts and codes, centred cosine": (
        "centred", "gap_language", "same", "unknown", "concept_cover", "title_concept_cover",
        "title_concept_reverse", "concept_reverse", "code_cover",
    ),
    "concepts and codes, USE cosine": (
        "dense", "gap", "gap_language", "same", "unknown", "concept_cover", "title_concept_cover",
        "title_concept_reverse", "concept_reverse", "code_cover",
    ),
    "shared vocabulary": (
        "dense", "gap", "gap_language", "same", "unknown", "shared_cover", "shared_title_cover",
        "shared_title_reverse", "concept_reverse",
    ),
    "mixed: current without title_reverse and lexical, + shared vocabulary": (
        "dense", "gap", "gap_language", "same", "unknown", "cover", "title_cover", "concept_reverse",
        "shared_cover", "shared_title_cover", "shared_title_reverse",
    ),
}  # fmt: skip


@dataclass
class NeedRows:
    """Every offer the need's buyer may see, as the ranking sees it."""

    offers: list[str]
    eligible: np.ndarray
    bonus: np.ndarray
    cheap: np.ndarray  # columns in CHEAP order
    expensive: np.ndarray  # columns in EXPENSIVE order
    today: np.ndarray  # today's relevance (dense + 0.35 lexical + 0.3 category)
    extra: dict[str, np.ndarray]  # the language-neutral candidates (`neutral_features`)

    def matrix(self, names: tuple[str, ...] = FEATURES) -> np.ndarray:
        if names == FEATURES:
            return np.column_stack([self.cheap, self.expensive])
        named = dict(zip(FEATURES, np.column_stack([self.cheap, self.expensive]).T, strict=True)) | self.extra
        return np.column_stack([named[name] for name in names])


def language_of(text: str) -> str:
    """The language of a text of these sets (each is in one): Chinese characters make it "zh"."""
    return "zh" if _CJK.search(text) else "en"


@dataclass
class Neutral:
    """What the language-neutral features read beyond one pair: fitted on this set's catalogue."""

    means: dict[str, np.ndarray]  # each language's mean offer vector (USE), removed before the cosine
    shared: frozenset[str]  # tokens both languages' offers use (concepts, codes, bridged names)


def neutral_context(data: Path) -> Neutral:
    """Each language's mean offer vector and the tokens offers of both languages use."""
    with tempfile.TemporaryDirectory() as scratch, _engine(data, Path(scratch)) as (session, engine):
        catalogue = engine.offers
        vectors: dict[str, list[np.ndarray]] = {"zh": [], "en": []}
        used: dict[str, set[str]] = {"zh": set(), "en": set()}
        for identifier, analysis in catalogue.analyses.items():
            language = language_of(title_of(analysis))
            vectors[language].append(np.asarray(catalogue.index.vector(identifier), dtype=np.float64).ravel())
            used[language].update(offer_side(analysis).tokens)
    return Neutral(
        means={language: np.mean(rows, axis=0) for language, rows in vectors.items()},
        shared=frozenset(used["zh"] & used["en"]),
    )


def title_bridge(glossary: Any, title: str) -> tuple[frozenset[str], frozenset[str]]:
    """The concepts an offer's title names, and the tokens of their names in both languages."""
    concepts = glossary.find(title)
    names = [
        name
        for concept in sorted(concepts)
        for name in (*glossary.concepts[concept].english[:1], *glossary.concepts[concept].chinese[:1])
    ]
    return frozenset(f"c:{concept}" for concept in concepts), tokens("; ".join(names))


def neutral_features(
    *,
    model: RelevanceModel,
    shared: frozenset[str],
    need: Side,
    offer: Side,
    title: tuple[frozenset[str], ...],
) -> dict[str, float]:
    """Set features read off language-free tokens only: glossary concepts, codes, the shared vocabulary."""
    weight = model.weight

    def total(items: frozenset[str]) -> float:
        return sum(weight(item) for item in items)

    def share(part: frozenset[str], whole: frozenset[str]) -> float:
        denominator = total(whole)
        return total(part) / denominator if denominator > 0 else 0.0

    title_concepts, title_names = title
    codes = frozenset(t for t in need.tokens if t.startswith("w:") and any(ch.isdigit() for ch in t))
    need_shared = need.tokens & shared
    title_shared = (offer.title | title_concepts | title_names) & shared
    return {
        "concept_cover": share(need.concepts & offer.concepts, need.concepts),
        "title_concept_cover": share(need.concepts & title_concepts, need.concepts),
        "title_concept_reverse": share(title_concepts & need.concepts, title_concepts),
        "code_cover": share(codes & offer.tokens, codes),
        "shared_cover": share(need_shared & offer.tokens, need_shared),
        "shared_title_cover": share(need_shared & title_shared, need_shared),
        "shared_title_reverse": share(title_shared & need.tokens, title_shared),
    }


def fitted_idf(data: Path) -> tuple[dict[str, float], float, dict[str, Any]]:
    """Token weights over a catalogue's offers, as `text.TermStatistics.weight` weighs lexical terms."""
    with tempfile.TemporaryDirectory() as scratch, _engine(data, Path(scratch)) as (session, engine):
        sides = [offer_side(analysis) for analysis in engine.offers.analyses.values()]
    frequency: Counter[str] = Counter()
    for side in sides:
        frequency.update(side.tokens | side.title)
    documents = len(sides)

    def weight(count: int) -> float:
        return max(0.0, math.log(1 + (documents + 1) / (count + 1)) - math.log(3))

    idf = {token: round(weight(count), 4) for token, count in sorted(frequency.items())}
    return idf, round(weight(0), 4), {"documents": documents, "tokens": len(idf)}


class _engine:
    """A scratch database holding a development set, imported and indexed as `matchmaker eval` does."""

    def __init__(self, data: Path, scratch: Path) -> None:
        self.data, self.scratch = data, scratch

    def __enter__(self) -> tuple[Any, Any]:
        settings = scratch_settings(self.scratch)
        self._scope = session_scope(settings)
        session = self._scope.__enter__()
        evaluation.import_dataset(session, self.data)
        engine = engine_from_settings(settings)
        engine.start(session)
        engine.offers.sync(session)
        engine.offer_table.sync(session)
        return session, engine

    def __exit__(self, *exc: object) -> None:
        self._scope.__exit__(*exc)


def need_rows(data: Path, model: RelevanceModel, context: Neutral) -> dict[str, NeedRows]:
    """The features of every (need, visible offer) pair of a development set."""
    rows: dict[str, NeedRows] = {}
    with tempfile.TemporaryDirectory() as scratch, _engine(data, Path(scratch)) as (session, engine):
        table, catalogue = engine.offer_table, engine.offers
        glossary = engine.analyzer.glossary
        languages, centred, titles = {}, {}, {}
        for identifier, analysis in catalogue.analyses.items():
            language = languages[identifier] = language_of(title_of(analysis))
            vector = (
                np.asarray(catalogue.index.vector(identifier), dtype=np.float64).ravel()
                - context.means[language]
            )
            centred[identifier] = vector / np.linalg.norm(vector)
            titles[identifier] = title_bridge(glossary, title_of(analysis))
        for need in evaluation.open_needs(session):
            query = need_query(engine, need)
            viewer = party_service.viewer_for(session=session, organisation_id=need.owner_id, role="buyer")
            criteria = need_criteria(need)
            eligible_rows, failed_rows = table.partition(criteria, viewer=viewer)
            positions = np.sort(np.concatenate([eligible_rows, failed_rows]))
            ids = table.column("id")[positions]
            external = offers_by_id(session, [int(i) for i in ids])
            dense = catalogue.index.similarities(query.vector, ids).astype(np.float64)
            agreement = table.category_agreement(positions, query.category)
            eligible = np.isin(positions, eligible_rows)
            bonus = np.zeros(len(ids))
            for j in np.flatnonzero(eligible):
                facts = table.facts(int(positions[j]))
                verdict = judge(facts, criteria)
                bonus[j] = secondary_bonus(
                    Secondary(
                        verified=facts.pcf_verified and facts.pcf_value is not None,
                        headroom_ratio=verdict.footprint.headroom_ratio if verdict.footprint else None,
                        region_preferred=None
                        if query.region_preference is None
                        else in_region(query.region_preference, facts.region),
                    )
                )
            side = need_side(query.analysis)
            terms = query.analysis.lexical_terms
            idf = {term: catalogue.statistics.weight(term) for term in terms}
            expensive, extra = [], []
            for identifier in ids.tolist():
                analysis = catalogue.analyses[identifier]
                lexical = lexical_coverage(terms, analysis.lexical_terms, idf)
                expensive.append(model.expensive(need=side, offer=offer_side(analysis), lexical=lexical))
                extra.append(
                    neutral_features(
                        model=model, shared=context.shared, need=side, offer=offer_side(analysis),
                        title=titles[identifier],
                    )
                )  # fmt: skip
            language = language_of(need.text)
            offer_languages = np.asarray([languages[i] for i in ids.tolist()])
            vector = np.asarray(query.vector, dtype=np.float64).ravel() - context.means[language]
            centred_cosine = np.asarray([centred[i] for i in ids.tolist()]) @ (
                vector / np.linalg.norm(vector)
            )
            named = (
                {name: np.asarray([values[name] for values in extra]) for name in extra[0]} if extra else {}
            )
            gap_language = np.zeros(len(ids))
            for each in ("zh", "en"):
                mine = offer_languages == each
                if mine.any():
                    gap_language[mine] = dense[mine] - dense[mine].max()
            named |= {"centred": centred_cosine, "gap_language": gap_language}
            cheap = np.column_stack(
                [
                    dense,
                    dense - dense.max(),
                    (agreement == 1.0).astype(float),
                    (agreement == 0.5).astype(float),
                ]
            )
            expensive_matrix = np.asarray(expensive)
            rows[need.external_id] = NeedRows(
                offers=[external[int(i)].external_id for i in ids],
                eligible=eligible,
                bonus=bonus,
                cheap=cheap,
                expensive=expensive_matrix,
                today=dense
                + DEFAULT_WEIGHTS.lexical * expensive_matrix[:, 0]
                + DEFAULT_WEIGHTS.category * agreement,
                extra=named,
            )
    return rows


def read_grades() -> dict[tuple[str, str], int]:
    grades: dict[tuple[str, str], int] = {}
    for path in sorted((REL / "grades").glob("g*.tsv")):
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                grades[(row["need_id"], row["offer_id"])] = int(row["grade"])
    return grades


def ranked(rows: NeedRows, probability: np.ndarray, *, threshold: float, answer: float) -> list[str]:
    """The list the service shows: eligible offers at or above the threshold, by probability plus bonus,
    empty unless some eligible offer reaches the answer threshold."""
    eligible = rows.eligible
    if not eligible.any() or probability[eligible].max() < answer:
        return []
    keep = eligible & (probability >= threshold)
    order = np.argsort(-(probability + rows.bonus), kind="stable")
    return [rows.offers[i] for i in order if keep[i]][:10]


def today_ranked(rows: NeedRows) -> list[str]:
    keep = rows.eligible & (rows.today >= DEFAULT_WEIGHTS.floor)
    order = np.argsort(-(rows.today + rows.bonus), kind="stable")
    return [rows.offers[i] for i in order if keep[i]][:10]


def scores(scorer: ModuleType, data: Path, runs: dict[str, list[str]]) -> dict[str, Any]:
    offers, needs, filtered, _ = scorer.load_data(str(data))
    summary: dict[str, Any] = scorer.summarize(scorer.evaluate(runs, offers, needs, filtered, k=10))
    return summary


def line(label: str, summary: dict[str, Any]) -> str:
    return (
        f"{label:<34} nDCG@10 (all) {summary['ndcg_all']:.3f}  answerable {summary['ndcg']:.3f}  "
        f"Recall@10 {summary['recall']:.3f}  empty-answer accuracy {summary['empty_correct']:.3f} "
        f"({round(summary['empty_correct'] * summary['empty_answer_needs'])} of "
        f"{summary['empty_answer_needs']})"
        f"  violations {summary['violations']}"
    )


def training_rows(
    rows: dict[str, NeedRows],
    grades: dict[tuple[str, str], int],
    needs: list[str],
    names: tuple[str, ...] = FEATURES,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The graded pairs (the pools): features, relevant or not, and the need each belongs to."""
    features, labels, groups = [], [], []
    for group, need in enumerate(needs):
        need_rows = rows[need]
        matrix = need_rows.matrix(names)
        for position, offer in enumerate(need_rows.offers):
            grade = grades.get((need, offer))
            if grade is not None:
                features.append(matrix[position])
                labels.append(grade >= 2)
                groups.append(group)
    return np.asarray(features), np.asarray(labels), np.asarray(groups)


def fit(features: np.ndarray, labels: np.ndarray, c: float) -> LogisticRegression:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LogisticRegression(C=c, max_iter=5000).fit(features, labels)


def out_of_fold(
    rows: dict[str, NeedRows],
    grades: dict[tuple[str, str], int],
    needs: list[str],
    c: float,
    names: tuple[str, ...] = FEATURES,
) -> dict[str, np.ndarray]:
    """Every need's probabilities from the model fitted on the folds that do not hold it."""
    features, labels, groups = training_rows(rows, grades, needs, names)
    probabilities: dict[str, np.ndarray] = {}
    for train, test in GroupKFold(FOLDS).split(features, labels, groups):
        model = fit(features[train], labels[train], c)
        for group in sorted(set(groups[test].tolist())):
            need = needs[group]
            probabilities[need] = model.predict_proba(rows[need].matrix(names))[:, 1]
    return probabilities


def nested(
    rows: dict[str, NeedRows],
    grades: dict[tuple[str, str], int],
    needs: list[str],
    c: float,
    scorer: ModuleType,
) -> dict[str, Any]:
    """Figures with thresholds chosen inside each training fold (inner 5-fold), not on the needs scored."""
    offers, all_needs, filtered, _ = scorer.load_data(str(REL))

    def summary(runs: dict[str, list[str]], subset: list[str]) -> dict[str, Any]:
        chosen = {n: all_needs[n] for n in subset}
        result: dict[str, Any] = scorer.summarize(scorer.evaluate(runs, offers, chosen, filtered, k=10))
        return result

    outer_runs: dict[str, list[str]] = {}
    features, labels, groups = training_rows(rows, grades, needs)
    for train, test in GroupKFold(FOLDS).split(features, labels, groups):
        inner_needs = [needs[g] for g in sorted(set(groups[train].tolist()))]
        inner = out_of_fold(rows, grades, inner_needs, c)
        today = summary({n: today_ranked(rows[n]) for n in inner_needs}, inner_needs)
        best: tuple[tuple[bool, float], float, float] | None = None
        for threshold in THRESHOLDS:
            for answer in (t for t in THRESHOLDS if t >= threshold):
                runs = {n: ranked(rows[n], inner[n], threshold=threshold, answer=answer) for n in inner_needs}
                result = summary(runs, inner_needs)
                key = (result["recall"] >= today["recall"] - RECALL_ALLOWANCE, result["ndcg_all"])
                if best is None or key > best[0]:
                    best = (key, threshold, answer)
        assert best is not None
        model = fit(features[train], labels[train], c)
        for group in sorted(set(groups[test].tolist())):
            need = needs[group]
            probability = model.predict_proba(rows[need].matrix())[:, 1]
            outer_runs[need] = ranked(rows[need], probability, threshold=best[1], answer=best[2])
        print(f"  outer fold: thresholds chosen inside it {best[1]} / {best[2]}")
    return summary(outer_runs, needs)


def parity(
    rows: dict[str, NeedRows], probabilities: dict[str, np.ndarray], grades: dict[tuple[str, str], int]
):
    """Per (need, translated pair) where either listing is graded >= 2: the probability gap of the two."""
    with open(REL / "translated_pairs.tsv", encoding="utf-8", newline="") as handle:
        pairs = [(row["offer_id_zh"], row["offer_id_en"]) for row in csv.DictReader(handle, delimiter="\t")]
    gaps = []
    for need, need_rows in rows.items():
        where = {offer: i for i, offer in enumerate(need_rows.offers)}
        for zh, en in pairs:
            if zh in where and en in where and max(grades.get((need, zh), 0), grades.get((need, en), 0)) >= 2:
                gaps.append(abs(float(probabilities[need][where[zh]] - probabilities[need][where[en]])))
    return np.asarray(gaps)


Choice = tuple[tuple[bool, float], float, float, float, dict[str, Any], dict[str, np.ndarray]]


def grid_search(
    rows: dict[str, NeedRows], grades: dict[tuple[str, str], int], names: tuple[str, ...], floor: float
) -> tuple[Choice, tuple[float, float, float, dict[str, Any]]]:
    """C and both thresholds chosen on the folds: the best filtered nDCG@10 (all) whose Recall@10 is at
    least `floor` (key, C, threshold, answer threshold, summary, out-of-fold probabilities); and the best
    with one threshold for both decisions (C, threshold, threshold, summary)."""
    scorer, needs = load_scorer(REL), sorted(rows)
    best: Choice | None = None
    single: tuple[float, float, float, dict[str, Any]] | None = None
    for c in C_GRID:
        oof = out_of_fold(rows, grades, needs, c, names)
        for threshold in THRESHOLDS:
            for answer in (t for t in THRESHOLDS if t >= threshold):
                runs = {n: ranked(rows[n], oof[n], threshold=threshold, answer=answer) for n in needs}
                summary = scores(scorer, REL, runs)
                key = (summary["recall"] >= floor, summary["ndcg_all"])
                if best is None or key > best[0]:
                    best = (key, c, threshold, answer, summary, oof)
                if threshold == answer and (single is None or summary["ndcg_all"] > single[3]["ndcg_all"]):
                    single = (c, threshold, answer, summary)
        assert best is not None
        print(
            f"C {c:<5} best so far: C {best[1]} threshold {best[2]} answer {best[3]} "
            f"nDCG@10 (all) {best[4]['ndcg_all']:.3f}",
            flush=True,
        )
    assert best is not None and single is not None
    return best, single


def variant(
    names: tuple[str, ...],
    rows: dict[str, NeedRows],
    dev_rows: dict[str, NeedRows],
    grades: dict[tuple[str, str], int],
    floor: float,
) -> str:
    """One feature set chosen and scored as the main model is: its k-fold figures, parity and eval-dev."""
    scorer, dev_scorer, needs = load_scorer(REL), load_scorer(DEV), sorted(rows)
    (_, c, threshold, answer, summary, oof), _ = grid_search(rows, grades, names, floor)
    single = scores(
        scorer, REL, {n: ranked(rows[n], oof[n], threshold=threshold, answer=threshold) for n in needs}
    )
    features, labels, _ = training_rows(rows, grades, needs, names)
    final = fit(features, labels, c)
    dev = scores(
        dev_scorer,
        DEV,
        {
            n: ranked(r, final.predict_proba(r.matrix(names))[:, 1], threshold=threshold, answer=answer)
            for n, r in dev_rows.items()
        },
    )
    gaps = parity(rows, oof, grades)
    empty = round(summary["empty_correct"] * summary["empty_answer_needs"])
    return (
        f"| {summary['ndcg_all']:.3f} | {summary['ndcg']:.3f} | {summary['recall']:.3f} | {empty} "
        f"| {single['ndcg_all']:.3f} / {round(single['empty_correct'] * single['empty_answer_needs'])} "
        f"| {np.mean(gaps <= 0.05):.2f} ({np.median(gaps):.2f}) | {dev['ndcg_all']:.3f} "
        f"| C {c}, {threshold} / {answer} |"
    )


def pair_cost(model: RelevanceModel) -> float:
    """Microseconds to compute the expensive features of one (need, offer) pair, as the service would."""
    with tempfile.TemporaryDirectory() as scratch, _engine(REL, Path(scratch)) as (session, engine):
        catalogue = engine.offers
        analyses = list(catalogue.analyses.values())
        for analysis in analyses:  # the tokens of each text are cached, as in a running service
            offer_side(analysis)
        need = need_side(next(iter(engine.needs.analyses.values())))
        started = time.perf_counter()
        for _ in range(3):
            for analysis in analyses:
                model.expensive(need=need, offer=offer_side(analysis), lexical=0.0)
        return (time.perf_counter() - started) / (3 * len(analyses)) * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {DEFAULT_MODEL}")
    parser.add_argument(
        "--variants", action="store_true", help="score every feature set of VARIANTS, then stop"
    )
    args = parser.parse_args(argv)
    idf, unseen, vocabulary = fitted_idf(REL)
    context = neutral_context(REL)
    blank = RelevanceModel(
        features=FEATURES, coefficients=(0.0,) * len(FEATURES), intercept=0.0, threshold=0.5,
        answer_threshold=0.5, idf=idf, unseen_idf=unseen,
    )  # fmt: skip
    rows, dev_rows = need_rows(REL, blank, context), need_rows(DEV, blank, context)
    grades = read_grades()
    needs = sorted(rows)
    scorer, dev_scorer = load_scorer(REL), load_scorer(DEV)
    today = scores(scorer, REL, {need: today_ranked(rows[need]) for need in needs})
    print(
        f"{len(needs)} needs, {sum(len(r.offers) for r in rows.values())} need-offer pairs; "
        f"{len(grades)} graded; token vocabulary {vocabulary['tokens']} over {vocabulary['documents']} offers"
    )
    print(line("today (same harness)", today))
    print(line("eval-dev today", scores(dev_scorer, DEV, {n: today_ranked(r) for n, r in dev_rows.items()})))
    floor = today["recall"] - RECALL_ALLOWANCE
    if args.variants:
        print(f"shared vocabulary: {len(context.shared)} tokens")
        print(
            "| features | nDCG@10 (all) | answerable | Recall@10 | empty of 46 "
            "| one threshold: nDCG (all) / empty "
            "| parity within 0.05 (median gap) | eval-dev nDCG@10 (all) | chosen |"
        )
        for label, names in VARIANTS.items():
            print(f"| {label} " + variant(names, rows, dev_rows, grades, floor), flush=True)
        return
    best, single = grid_search(rows, grades, FEATURES, floor)
    print(line(f"one threshold (C {single[0]}, {single[1]})", single[3]))
    _, c, threshold, answer, summary, oof = best
    print(f"chosen on {FOLDS} folds grouped by need: C {c}, threshold {threshold}, answer threshold {answer}")
    print(line(f"{FOLDS}-fold (out-of-fold)", summary))
    features, labels, _ = training_rows(rows, grades, needs)
    final = fit(features, labels, c)
    model = replace(
        blank,
        coefficients=tuple(round(float(v), 6) for v in final.coef_[0]),
        intercept=round(float(final.intercept_[0]), 6),
        threshold=threshold,
        answer_threshold=answer,
    )
    print("coefficients:", dict(zip(FEATURES, model.coefficients, strict=True)), "intercept", model.intercept)
    dev_runs = {
        n: ranked(r, final.predict_proba(r.matrix())[:, 1], threshold=threshold, answer=answer)
        for n, r in dev_rows.items()
    }
    print(line("eval-dev (fitted on all folds)", scores(dev_scorer, DEV, dev_runs)))
    print(line("nested (thresholds in each fold)", nested(rows, grades, needs, c, scorer)))
    print("the trade-off at that C and threshold (eval-dev: a check, not used to choose):")
    for other in (t for t in THRESHOLDS if t >= threshold):
        cv = scores(
            scorer, REL, {n: ranked(rows[n], oof[n], threshold=threshold, answer=other) for n in needs}
        )
        dev = scores(
            dev_scorer,
            DEV,
            {
                n: ranked(r, final.predict_proba(r.matrix())[:, 1], threshold=threshold, answer=other)
                for n, r in dev_rows.items()
            },
        )
        print(
            f"  answer {other:<5} k-fold nDCG@10 (all) {cv['ndcg_all']:.3f} Recall@10 {cv['recall']:.3f} "
            f"empty {cv['empty_correct']:.3f} | eval-dev {dev['ndcg_all']:.3f} "
            f"empty {dev['empty_correct']:.1f}"
        )
    gaps = parity(rows, oof, grades)
    print(
        f"parity: {len(gaps)} (need, translated pair) with either graded >= 2; within 0.05: "
        f"{np.mean(gaps <= 0.05):.3f}; median gap {np.median(gaps):.3f}, max {gaps.max():.3f}"
    )
    print(f"features of one pair: {pair_cost(blank):.1f} microseconds (the set intersections)")
    if args.write:
        DEFAULT_MODEL.write_text(
            json.dumps(
                {
                    "about": "logistic model of relevance: evaluation/relevance/build/train_relevance.py",
                    "features": list(model.features),
                    "coefficients": list(model.coefficients),
                    "intercept": model.intercept,
                    "threshold": model.threshold,
                    "answer_threshold": model.answer_threshold,
                    "cv": {k: summary[k] for k in ("ndcg_all", "ndcg", "recall", "empty_correct")},
                    "unseen_idf": model.unseen_idf,
                    "idf": model.idf,
                },
                ensure_ascii=False,
                separators=(",", ":"),
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"wrote {DEFAULT_MODEL}")


if __name__ == "__main__":
    sys.exit(main())
