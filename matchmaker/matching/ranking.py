"""Rank candidate offers for a query under hard filters: exact, explainable, the same for every caller.

The hard filters are decided first, for every candidate (`eligibility.judge`); exact cosines are then taken
for every eligible id, so no eligible offer can be cut off by a shortlist. Relevance adds the lexical and
category signals; offers under the relevance floor are not matches. Only the offers that can still reach
the top are scored in full (`top_scored`: a bound, not a guess). The nearest relevant offers that failed a
filter are reported apart, with the filters they failed. With a model of relevance (`_judged_ranking`),
the closest offers by that relevance are judged by the model instead of the floor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from matchmaker import verification
from matchmaker.matching.dense_snapshot import DenseSnapshot
from matchmaker.matching.eligibility import Criteria, OfferFacts, Verdict, judge
from matchmaker.matching.indexer import Catalogue
from matchmaker.matching.offer_table import OfferTable
from matchmaker.matching.relevance import RelevanceJudge, probabilities
from matchmaker.matching.scoring import (
    DEFAULT_WEIGHTS,
    Judged,
    Secondary,
    Signals,
    Weights,
    category_agreement,
    is_relevant,
    most_bonus,
    relevance,
    secondary_bonus,
)
from matchmaker.matching.text import Analysis, lexical_coverage
from matchmaker.regions import in_region
from matchmaker.vectors.embedder import Vectors
from matchmaker.visibility import Viewer

logger = logging.getLogger(__name__)
NEAR_MISSES = 5
# Float sums in another order can differ in the last bits: bounds are widened by this much, so a pair whose
# bound ties the count-th key is still scored.
BOUND_MARGIN = 1e-9
# Up to this id, `lexical_upper` adds coverage up in a table indexed by id (8 bytes an id).
LOOKUP_IDS_UP_TO = 50_000_000
# Candidates in a first shortlist from a dense snapshot (`nearest_scored`); it grows 8x at a time.
SHORTLIST_FIRST = 64
# The model of relevance judges this many eligible offers, the closest by the hybrid relevance, and as many
# that failed a filter (for near misses): on the relevance set, nDCG@10 (all) 0.774 judging every offer
# (cross-validated), 0.7735 judging 50 and 0.7676 judging 20 (in-sample); at 5,000 offers a match judging 20
# takes about the formula's time (bench/judged_ranking.py). It caps a list's length.
JUDGED = 20


def lexical_upper(
    ids: npt.NDArray[np.int64], query: Analysis, catalogue: Catalogue
) -> npt.NDArray[np.float64]:
    """Each candidate's lexical coverage, from the catalogue's postings, for all candidates at once.

    Summed in another order than `lexical_coverage`, so it can differ from it in the last bits: callers
    use it as a bound (with `BOUND_MARGIN`), never as the score."""
    weights = {term: catalogue.statistics.weight(term) for term in query.lexical_terms}
    total = sum(weights.values())
    if total == 0 or len(ids) == 0:
        return np.zeros(len(ids), dtype=np.float64)
    postings = [
        (weight, catalogue.statistics.rows_array(term))
        for term, weight in weights.items()
        if weight > 0 and term in catalogue.statistics.postings
    ]
    top = max([int(ids.max()), *(int(rows[-1]) for _, rows in postings if len(rows))])
    if top > LOOKUP_IDS_UP_TO:  # ids too large for a table by id: one membership test per term
        covered = np.zeros(len(ids), dtype=np.float64)
        for weight, rows in postings:
            covered += weight * np.isin(ids, rows)
        return covered / total
    # Each id's coverage added up in a table by id, then read for every candidate at once: the cost is
    # the postings and one gather, not a membership search per term.
    by_id = np.zeros(top + 1, dtype=np.float64)
    for weight, rows in postings:
        by_id[rows] += weight
    return by_id[ids] / total


@dataclass(frozen=True, slots=True)
class Query:
    """What an offer is matched against: a need, or free text with optional soft preferences."""

    analysis: Analysis
    vector: Vectors
    category: str | None = None
    region_preference: str | None = None


@dataclass(frozen=True, slots=True)
class Scored:
    """One offer with its verdict and scores."""

    facts: OfferFacts
    verdict: Verdict
    signals: Signals
    relevance: float
    score: float
    secondary: Secondary
    shared_terms: tuple[str, ...]
    judged: Judged | None = None  # the model's verdict, when a model judged it (its relevance is then
    # the probability, and its score the probability plus the bonuses)


@dataclass(frozen=True, slots=True)
class Ranking:
    matches: list[Scored]
    near_misses: list[Scored]
    candidates: int
    eligible: int
    relevant: int  # eligible offers that are matches, shown or not (above the floor, when it applies; of the
    # `JUDGED` closest, when a model judges them)


def score_offers(
    *, query: Query, facts: Sequence[OfferFacts], verdicts: Sequence[Verdict], dense: np.ndarray,
    catalogue: Catalogue, weights: Weights,
) -> list[Scored]:  # fmt: skip
    idf = {term: catalogue.statistics.weight(term) for term in query.analysis.lexical_terms}
    scored = []
    now = datetime.now(UTC)  # the verified bonus is a bonus, not a filter: the filter drew its line already
    for offer, verdict, similarity in zip(facts, verdicts, dense.tolist(), strict=True):
        terms = catalogue.analyses.lexical_terms_of(offer.id)
        signals = Signals(
            dense=float(similarity),
            lexical=lexical_coverage(query.analysis.lexical_terms, terms, idf),
            category_agreement=category_agreement(query.category, offer.category),
        )
        topical = relevance(signals, weights)
        secondary = Secondary(
            verified=verification.holds(
                verified=offer.pcf_verified and offer.pcf_value is not None,
                until=offer.verified_until,
                now=now,
            ),
            headroom_ratio=verdict.footprint.headroom_ratio if verdict.footprint else None,
            region_preferred=None
            if query.region_preference is None
            else in_region(query.region_preference, offer.region),
        )
        scored.append(
            Scored(
                facts=offer,
                verdict=verdict,
                signals=signals,
                relevance=topical,
                score=topical + secondary_bonus(secondary, weights),
                secondary=secondary,
                shared_terms=tuple(sorted(query.analysis.lexical_terms & terms)),
            )
        )
    return scored


@dataclass(frozen=True)
class Candidates:
    """Offers to rank: their ids and category agreement with the query, for all of them at once, and their
    facts and verdicts only for those that get scored (`materialise`, by position)."""

    ids: npt.NDArray[np.int64]
    agreement: npt.NDArray[np.float64]
    materialise: Callable[[list[int]], list[tuple[OfferFacts, Verdict]]]
    rows: npt.NDArray[np.int64] | None = None  # their rows in the offer table (ascending), if from it

    @classmethod
    def of_pairs(cls, pairs: Sequence[tuple[OfferFacts, Verdict]], query: Query) -> Candidates:
        return cls(
            ids=np.asarray([offer.id for offer, _ in pairs], dtype=np.int64),
            agreement=np.asarray([category_agreement(query.category, o.category) for o, _ in pairs]),
            materialise=lambda positions: [pairs[i] for i in positions],
        )

    def subset(self, positions: npt.NDArray[np.int64]) -> Candidates:
        """The candidates at these positions."""
        return Candidates(
            self.ids[positions],
            self.agreement[positions],
            lambda chosen: self.materialise([int(positions[i]) for i in chosen]),
            None if self.rows is None else self.rows[positions],
        )

    def __len__(self) -> int:
        return len(self.ids)


def rank_offers(
    *,
    query: Query,
    candidates: Sequence[OfferFacts],
    criteria: Criteria,
    catalogue: Catalogue,
    limit: int,
    weights: Weights = DEFAULT_WEIGHTS,
    apply_floor: bool = True,
    relevance_judge: RelevanceJudge | None = None,
) -> Ranking:
    """Rank the eligible candidates for the query; report near misses that failed a filter."""
    eligible: list[tuple[OfferFacts, Verdict]] = []
    failed: list[tuple[OfferFacts, Verdict]] = []
    for offer in candidates:  # one pass: a verdict's `eligible` looks at every check
        verdict = judge(offer, criteria)
        (eligible if verdict.eligible else failed).append((offer, verdict))
    return _ranking(
        query=query,
        eligible=Candidates.of_pairs(eligible, query),
        failed=Candidates.of_pairs(failed, query),
        catalogue=catalogue,
        limit=limit,
        weights=weights,
        apply_floor=apply_floor,
        relevance_judge=relevance_judge,
    )


def rank_table_offers(
    *,
    query: Query,
    table: OfferTable,
    viewer: Viewer,
    criteria: Criteria,
    catalogue: Catalogue,
    limit: int,
    weights: Weights = DEFAULT_WEIGHTS,
    apply_floor: bool = True,
    snapshot: DenseSnapshot | None = None,
    relevance_judge: RelevanceJudge | None = None,
) -> Ranking:
    """`rank_offers` over the offers of the in-memory table the viewer may see: the filters are decided on
    columns, and only the offers scored are judged one by one (the same `judge`, for their verdicts).
    With a `snapshot` of the table's vectors, the near misses are found nearest first (`nearest_scored`)."""
    eligible_rows, failed_rows = table.partition(criteria, viewer=viewer)

    def candidates(rows: npt.NDArray[np.int64]) -> Candidates:
        def materialise(positions: list[int]) -> list[tuple[OfferFacts, Verdict]]:
            facts = [table.facts(int(rows[p])) for p in positions]
            return [(offer, judge(offer, criteria)) for offer in facts]

        ids = table.column("id")[rows]
        return Candidates(ids, table.category_agreement(rows, query.category), materialise, rows)

    return _ranking(
        query=query,
        eligible=candidates(eligible_rows),
        failed=candidates(failed_rows),
        catalogue=catalogue,
        limit=limit,
        weights=weights,
        apply_floor=apply_floor,
        snapshot=snapshot,
        relevance_judge=relevance_judge,
    )


def _ranking(
    *, query: Query, eligible: Candidates, failed: Candidates, catalogue: Catalogue, limit: int,
    weights: Weights, apply_floor: bool, snapshot: DenseSnapshot | None = None,
    relevance_judge: RelevanceJudge | None = None,
) -> Ranking:  # fmt: skip
    common: dict[str, Any] = {"query": query, "catalogue": catalogue, "weights": weights}
    dense = catalogue.index.similarities(query.vector, eligible.ids) if len(eligible) else None
    if relevance_judge is not None and apply_floor:
        return _judged_ranking(
            eligible=eligible,
            failed=failed,
            limit=limit,
            snapshot=snapshot,
            relevance_judge=relevance_judge,
            dense=dense,
            **common,
        )
    matches = top_scored(
        eligible, count=limit, by="score", floor=apply_floor, expect=True, dense=dense, **common
    )
    near_misses = nearest_scored(
        failed, snapshot=snapshot, count=NEAR_MISSES, by="relevance", floor=True, expect=False, **common
    )
    return Ranking(
        matches=matches,
        near_misses=near_misses,
        candidates=len(eligible) + len(failed),
        eligible=len(eligible),
        relevant=count_relevant(eligible, dense=dense, **common) if apply_floor else len(eligible),
    )


def _judged_ranking(
    *, query: Query, eligible: Candidates, failed: Candidates, catalogue: Catalogue, limit: int,
    weights: Weights, snapshot: DenseSnapshot | None, relevance_judge: RelevanceJudge,
    dense: npt.NDArray[np.float32] | None,
) -> Ranking:  # fmt: skip
    """The ranking with relevance decided by the model (`relevance.RelevanceJudge`).

    The `JUDGED` eligible offers closest by the hybrid relevance are judged, whatever the limit (so the
    counts, the order and whether the list has an answer never depend on it): those at or above the model's
    threshold are matches, and the list is empty unless one is an answer (what a buyer must not be shown:
    ten neighbours of a product nobody lists). A near miss is one of the `JUDGED` closest offers that failed a
    filter (of those nearest by cosine, in a catalogue with a dense snapshot) and would be an answer but for
    it."""
    common: dict[str, Any] = {"query": query, "catalogue": catalogue, "weights": weights}
    pool = top_scored(
        eligible, count=JUDGED, by="relevance", floor=False, expect=True, dense=dense, first_batch=JUDGED,
        **common,
    )  # fmt: skip
    if snapshot is not None and failed.rows is not None and shortlists(snapshot, failed):
        # A large catalogue: the failed offers nearest by cosine, from the snapshot, at once (near misses
        # may be approximate: a pointer to what failed a filter, never a match).
        shortlist = snapshot.shortlist(query.vector, failed.rows, failed.ids, SHORTLIST_FIRST)
        nearest, failed_dense = failed.subset(shortlist.positions), shortlist.dense
    else:
        nearest, failed_dense = failed, catalogue.index.similarities(query.vector, failed.ids)
    near = top_scored(
        nearest, count=JUDGED, by="relevance", floor=False, expect=False, dense=failed_dense,
        first_batch=JUDGED, **common,
    )  # fmt: skip
    visible = np.concatenate([values for values in (dense, failed_dense) if values is not None])
    visible = visible[~np.isnan(visible)]
    # The best cosine of any offer the viewer may see, eligible or not: the model's `gap` is measured from
    # it, so the filters do not move an offer's relevance.
    best = float(visible.max()) if len(visible) else 0.0

    def judged(rows: list[Scored]) -> list[Scored]:
        return _judged(rows, relevance_judge=relevance_judge, best=best, weights=weights)

    matches = [row for row in judged(pool) if row.relevance >= relevance_judge.model.threshold]
    if not any(_is_answer(row) for row in matches):
        matches = []
    matches.sort(key=lambda row: (-row.score, row.facts.id))
    near_misses = sorted(
        (row for row in judged(near) if _is_answer(row)), key=lambda row: (-row.relevance, row.facts.id)
    )
    return Ranking(
        matches=matches[:limit],
        near_misses=near_misses[:NEAR_MISSES],
        candidates=len(eligible) + len(failed),
        eligible=len(eligible),
        relevant=len(matches),
    )


def descending_head(
    order: npt.NDArray[np.int64], upper: npt.NDArray[np.float64], *, head: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """`order` by descending `upper` (ties in their order in `order`, ascending), sorted only as far as its
    `head` first, and the rest unsorted: each of the rest is at most the head's last. Scoring usually stops
    inside the head, so a large candidate set (every eligible offer, unfloored) is not sorted whole."""
    if len(order) <= head:
        return order[np.argsort(-upper[order], kind="stable")], order[:0]
    part = np.argpartition(-upper[order], head - 1)
    first, rest = np.sort(part[:head]), part[head:]
    return order[first[np.argsort(-upper[order[first]], kind="stable")]], order[rest]


def could_match(row: Scored, relevance_judge: RelevanceJudge) -> bool:
    """Whether the model could judge this scored offer a match in some list: with the best cosine its
    query's offers have taken as its own. The distance from the best only lowers the probability (`gap`
    weighs up: the offer itself is visible, so its gap is at most 0); a model where it does not is never
    sure."""
    if relevance_judge.model.coefficient("gap") < 0:
        return True
    (judged,) = _judged(
        [row], relevance_judge=relevance_judge, best=row.signals.dense, weights=DEFAULT_WEIGHTS
    )
    return judged.relevance >= relevance_judge.model.threshold


def _is_answer(row: Scored) -> bool:
    return row.judged is not None and row.judged.answer


def shortlists(snapshot: DenseSnapshot | None, candidates: Candidates) -> bool:
    """Whether the snapshot finds these candidates' nearest (rather than every cosine taken)."""
    return snapshot is not None and candidates.rows is not None and len(candidates) >= snapshot.use_from


def _judged(
    rows: list[Scored], *, relevance_judge: RelevanceJudge, best: float, weights: Weights
) -> list[Scored]:
    """The rows with the model's probability as their relevance and the bonuses added to it as their score."""
    if not rows:
        return []
    without_text, logits = relevance_judge.logits(
        ids=[row.facts.id for row in rows],
        dense=np.asarray([row.signals.dense for row in rows], dtype=np.float64),
        best=best,
        agreement=np.asarray([row.signals.category_agreement for row in rows], dtype=np.float64),
        lexical=[row.signals.lexical for row in rows],
    )
    judged = []
    for row, base, probability in zip(
        rows, probabilities(without_text).tolist(), probabilities(logits).tolist(), strict=True
    ):
        verdict = Judged(
            probability=probability,
            without_text=base,
            answer=probability >= relevance_judge.model.answer_threshold,
        )
        bonus = secondary_bonus(row.secondary, weights) if verdict.earns_bonuses else 0.0
        judged.append(replace(row, relevance=probability, score=probability + bonus, judged=verdict))
    return judged


def count_relevant(
    candidates: Candidates, *, query: Query, catalogue: Catalogue, weights: Weights,
    dense: npt.NDArray[np.float32] | None,
) -> int:  # fmt: skip
    """How many candidates are relevant (`is_relevant`, as `top_scored` decides it), scored or not.

    Only those whose cheap part (cosine and category) leaves the floor to their lexical coverage, and whose
    coverage from the postings (`lexical_upper`) may lift them over it, get it computed exactly: the rest
    are over the floor or cannot reach it.
    """
    if dense is None or len(candidates) == 0:
        return 0
    cheap = dense.astype(np.float64) + weights.category * candidates.agreement
    # Float addition never falls when a non-negative term is added: `cheap` over the floor, relevance too.
    certain = cheap >= weights.floor if weights.lexical >= 0 else np.zeros(len(cheap), dtype=bool)
    lexical = max(weights.lexical, 0.0)
    # Undecided: under the floor, but full coverage could lift them; of those, the postings say which
    # mention enough of the query's terms to reach it (mentioning none, relevance is the cheap part).
    undecided = np.flatnonzero(~certain & (cheap + lexical + BOUND_MARGIN >= weights.floor))
    covered = lexical_upper(candidates.ids[undecided], query.analysis, catalogue)
    undecided = undecided[cheap[undecided] + lexical * covered + BOUND_MARGIN >= weights.floor]
    found = int(np.count_nonzero(certain))
    query_terms = query.analysis.lexical_terms
    idf = {term: catalogue.statistics.weight(term) for term in query_terms}
    for position in undecided.tolist():
        terms = catalogue.analyses.lexical_terms_of(int(candidates.ids[position]))
        signals = Signals(
            dense=float(dense[position]),
            lexical=lexical_coverage(query_terms, terms, idf),
            category_agreement=float(candidates.agreement[position]),
        )
        found += is_relevant(relevance(signals, weights), weights)
    return found


def nearest_scored(
    candidates: Candidates, *, snapshot: DenseSnapshot | None, query: Query, catalogue: Catalogue,
    weights: Weights, count: int, by: Literal["score", "relevance"], floor: bool, expect: bool | None,
) -> list[Scored]:  # fmt: skip
    """`top_scored`, with the candidates taken nearest first from the snapshot instead of all scored.

    Every candidate left out of a shortlist has a cosine at most the shortlist's bound, so its key is at
    most that bound plus the most category, lexical and bonus can add. When the count-th key found is
    above that (or the floor is), no candidate left out can enter, and the result is exactly
    `top_scored`'s over all of them; otherwise the shortlist grows. A shortlist the planner found
    approximately (a set above its exact share) has no bound: the result is then approximate, which near
    misses (a pointer to what failed a filter, never a match) may be.
    """
    common: dict[str, Any] = {
        "query": query, "catalogue": catalogue, "weights": weights, "count": count, "by": by,
        "floor": floor, "expect": expect,
    }  # fmt: skip
    if snapshot is None or candidates.rows is None or not shortlists(snapshot, candidates):
        return top_scored(candidates, **common)
    extra = max(weights.category, 0.0) * float(candidates.agreement.max(initial=0.0))
    extra += max(weights.lexical, 0.0)
    if by == "score":
        extra += most_bonus(weights)
    reach = SHORTLIST_FIRST
    while True:
        shortlist = snapshot.shortlist(query.vector, candidates.rows, candidates.ids, reach)
        found = top_scored(candidates.subset(shortlist.positions), dense=shortlist.dense, **common)
        if shortlist.bound is None or reach >= len(candidates):
            return found
        left_out = shortlist.bound + extra + BOUND_MARGIN  # the best key a candidate left out can have
        if floor and left_out < weights.floor:
            return found
        if len(found) == count and (found[-1].score if by == "score" else found[-1].relevance) > left_out:
            return found
        reach *= 8


def top_scored(
    candidates: Candidates,
    *,
    query: Query,
    catalogue: Catalogue,
    weights: Weights,
    count: int,
    by: Literal["score", "relevance"],
    floor: bool,
    expect: bool | None = None,
    first_batch: int = 64,
    dense: npt.NDArray[np.float32] | None = None,
) -> list[Scored]:
    """The `count` best candidates by score (or relevance), ties to the smaller id; with `floor`, only
    relevant ones. Exactly what scoring every candidate and sorting would give, without scoring them all.

    The dense cosines, category agreement and lexical coverage (summed from the postings, `lexical_upper`) are
    cheap for all candidates at once; the verdict, the bonus and the exact scoring are what cost. The bonus is
    bounded (at most the sum of its weights), so each candidate's key is at most its cheap part, its coverage
    and that slack. Candidates are scored fully in order of that upper bound, and scoring stops once the next
    bound falls below the count-th key found: none left can enter the top. The same bound drops candidates
    that cannot reach the relevance floor without scoring them at all.

    `expect`: the verdict every candidate should have (eligible or not); one whose verdict differs (facts
    that changed under the caller) is left out rather than shown on the wrong side. `dense`: the cosines
    of the candidates, when the caller has them already.
    """
    if count <= 0 or len(candidates) == 0:
        return []
    # Exact cosines for exactly these ids (NaN if not indexed: such an offer cannot be scored; the
    # indexer's sync prevents it).
    if dense is None:
        dense = catalogue.index.similarities(query.vector, candidates.ids)
    cheap = dense.astype(np.float64) + weights.category * candidates.agreement
    lexical = max(weights.lexical, 0.0)
    keep = ~np.isnan(cheap)
    if floor:  # what full coverage cannot lift over the floor needs no look at the postings
        keep &= cheap + lexical + BOUND_MARGIN >= weights.floor
    order = np.flatnonzero(keep)
    lexical_slack = np.zeros(len(cheap))
    lexical_slack[order] = lexical * lexical_upper(candidates.ids[order], query.analysis, catalogue)
    if floor:
        order = order[cheap[order] + lexical_slack[order] + BOUND_MARGIN >= weights.floor]
    upper = cheap + lexical_slack + (most_bonus(weights) if by == "score" else 0.0) + BOUND_MARGIN
    order, rest = descending_head(order, upper, head=4 * max(count, first_batch))

    def key(row: Scored) -> tuple[float, int]:
        return (-(row.score if by == "score" else row.relevance), row.facts.id)

    best: list[Scored] = []
    start, batch = 0, max(first_batch, 1)
    while start < len(order) or len(rest):
        if start >= len(order):  # every candidate of the head scored: the rest follow it, in order
            order, rest = np.concatenate([order, rest[np.argsort(-upper[rest], kind="stable")]]), rest[:0]
        if len(best) >= count and upper[order[start]] < -key(best[count - 1])[0]:
            break  # the best bound left is below the count-th key: nothing further can enter
        chosen = order[start : start + batch]
        pairs = candidates.materialise(chosen.tolist())
        rows = score_offers(
            query=query, facts=[offer for offer, _ in pairs], verdicts=[verdict for _, verdict in pairs],
            dense=dense[chosen], catalogue=catalogue, weights=weights,
        )  # fmt: skip
        misjudged = [row.facts.id for row in rows if expect is not None and row.verdict.eligible != expect]
        if misjudged:  # the caller's filters and `judge` disagree: a bug or a race, worth hearing of
            logger.warning(
                "left out offers %s: their verdict is not the one their candidate set expects", misjudged
            )
        best.extend(
            row
            for row in rows
            if (not floor or is_relevant(row.relevance, weights)) and row.facts.id not in misjudged
        )
        best.sort(key=key)
        del best[count:]
        start, batch = start + len(chosen), batch * 2
    return best
