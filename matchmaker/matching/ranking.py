"""Rank candidate offers for a query under hard filters: exact, explainable, the same for every caller.

The hard filters are decided first, for every candidate (`eligibility.judge`); exact cosines are then taken
for every eligible id, so no eligible offer can be cut off by a shortlist. Relevance adds the lexical and
category signals; offers under the relevance floor are not matches. Only the offers that can still reach
the top are scored in full (`top_scored`: a bound, not a guess). The nearest relevant offers that failed a
filter are reported apart, with the filters they failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from matchmaker.matching.eligibility import Criteria, OfferFacts, Verdict, judge
from matchmaker.matching.indexer import Catalogue
from matchmaker.matching.regions import in_region
from matchmaker.matching.scoring import (
    DEFAULT_WEIGHTS,
    Secondary,
    Signals,
    Weights,
    category_agreement,
    is_relevant,
    relevance,
    secondary_bonus,
)
from matchmaker.matching.text import Analysis, lexical_coverage
from matchmaker.vectors.embedder import Vectors

NEAR_MISSES = 5
# Float sums in another order can differ in the last bits: bounds are widened by this much, so a pair whose
# bound ties the count-th key is still scored.
BOUND_MARGIN = 1e-9


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


@dataclass(frozen=True, slots=True)
class Ranking:
    matches: list[Scored]
    near_misses: list[Scored]
    candidates: int
    eligible: int


def score_offers(
    *, query: Query, facts: Sequence[OfferFacts], verdicts: Sequence[Verdict], dense: np.ndarray,
    catalogue: Catalogue, weights: Weights,
) -> list[Scored]:  # fmt: skip
    idf = {term: catalogue.statistics.weight(term) for term in query.analysis.lexical_terms}
    scored = []
    for offer, verdict, similarity in zip(facts, verdicts, dense.tolist(), strict=True):
        analysis = catalogue.analyses.get(offer.id)
        terms = analysis.lexical_terms if analysis else frozenset()
        signals = Signals(
            dense=float(similarity),
            lexical=lexical_coverage(query.analysis.lexical_terms, terms, idf),
            category_agreement=category_agreement(query.category, offer.category),
        )
        topical = relevance(signals, weights)
        secondary = Secondary(
            verified=offer.pcf_verified and offer.pcf_value is not None,
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


def rank_offers(
    *,
    query: Query,
    candidates: Sequence[OfferFacts],
    criteria: Criteria,
    catalogue: Catalogue,
    limit: int,
    weights: Weights = DEFAULT_WEIGHTS,
    apply_floor: bool = True,
) -> Ranking:
    """Rank the eligible candidates for the query; report near misses that failed a filter."""
    eligible: list[tuple[OfferFacts, Verdict]] = []
    failed: list[tuple[OfferFacts, Verdict]] = []
    for offer in candidates:  # one pass: a verdict's `eligible` looks at every check
        verdict = judge(offer, criteria)
        (eligible if verdict.eligible else failed).append((offer, verdict))
    matches = top_scored(
        eligible,
        query=query,
        catalogue=catalogue,
        weights=weights,
        count=limit,
        by="score",
        floor=apply_floor,
    )
    near_misses = top_scored(
        failed,
        query=query,
        catalogue=catalogue,
        weights=weights,
        count=NEAR_MISSES,
        by="relevance",
        floor=True,
    )
    return Ranking(
        matches=matches, near_misses=near_misses, candidates=len(candidates), eligible=len(eligible)
    )


def top_scored(
    pairs: Sequence[tuple[OfferFacts, Verdict]],
    *,
    query: Query,
    catalogue: Catalogue,
    weights: Weights,
    count: int,
    by: Literal["score", "relevance"],
    floor: bool,
    first_batch: int = 64,
) -> list[Scored]:
    """The `count` best of the pairs by score (or relevance), ties to the smaller id; with `floor`, only
    relevant ones. Exactly what scoring every pair and sorting would give, without scoring every pair.

    The dense cosines and category agreement are cheap for all pairs at once; the lexical coverage (a set
    intersection per offer) and the bonus are what cost. Both are bounded (coverage is at most 1, the bonus
    at most the sum of its weights), so each pair's key is at most its cheap part plus that slack. Pairs are
    scored fully in order of that upper bound, and scoring stops once the next bound falls below the
    count-th key found: no pair left can enter the top. The same bound drops pairs that cannot reach the
    relevance floor without being scored at all.
    """
    if count <= 0 or not pairs:
        return []
    # Exact cosines for exactly these ids (NaN if not indexed: such an offer cannot be scored; the
    # indexer's sync prevents it).
    dense = catalogue.index.similarities(query.vector, np.asarray([o.id for o, _ in pairs], dtype=np.int64))
    agreement = np.asarray([category_agreement(query.category, o.category) for o, _ in pairs])
    cheap = dense.astype(np.float64) + weights.category * agreement
    lexical_slack = max(weights.lexical, 0.0)
    bonus_slack = max(weights.verified, 0.0) + max(weights.headroom, 0.0) + max(weights.region, 0.0)
    upper = cheap + lexical_slack + (bonus_slack if by == "score" else 0.0) + BOUND_MARGIN
    keep = ~np.isnan(cheap)
    if floor:
        keep &= cheap + lexical_slack + BOUND_MARGIN >= weights.floor
    candidates = np.flatnonzero(keep)
    candidates = candidates[np.argsort(-upper[candidates], kind="stable")]

    def key(row: Scored) -> tuple[float, int]:
        return (-(row.score if by == "score" else row.relevance), row.facts.id)

    best: list[Scored] = []
    start, batch = 0, max(first_batch, 1)
    while start < len(candidates):
        if len(best) >= count and upper[candidates[start]] < -key(best[count - 1])[0]:
            break  # the best bound left is below the count-th key: nothing further can enter
        chosen = candidates[start : start + batch]
        rows = score_offers(
            query=query, facts=[pairs[i][0] for i in chosen], verdicts=[pairs[i][1] for i in chosen],
            dense=dense[chosen], catalogue=catalogue, weights=weights,
        )  # fmt: skip
        best.extend(row for row in rows if not floor or is_relevant(row.relevance, weights))
        best.sort(key=key)
        del best[count:]
        start, batch = start + len(chosen), batch * 2
    return best
