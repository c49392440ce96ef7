"""Rank candidate offers for a query under hard filters: exact, explainable, the same for every caller.

The hard filters are decided first, for every candidate (`eligibility.judge`); the vector search then runs
over the eligible ids only, with k equal to their number, so no eligible offer can be cut off by a
shortlist. Relevance adds the lexical and category signals; offers under the relevance floor are not
matches. The nearest relevant offers that failed a filter are reported apart, with the filters they failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
    relevant_eligible: int


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
    verdicts = [judge(offer, criteria) for offer in candidates]
    eligible = [(o, v) for o, v in zip(candidates, verdicts, strict=True) if v.eligible]
    failed = [(o, v) for o, v in zip(candidates, verdicts, strict=True) if not v.eligible]

    def scored(pairs: list[tuple[OfferFacts, Verdict]]) -> list[Scored]:
        facts = [o for o, _ in pairs]
        # Exact cosine for exactly these ids (NaN if not indexed).
        dense = catalogue.index.similarities(query.vector, np.asarray([o.id for o in facts], dtype=np.int64))
        rows = score_offers(
            query=query, facts=facts, verdicts=[v for _, v in pairs], dense=dense, catalogue=catalogue,
            weights=weights,
        )  # fmt: skip
        # An offer the index does not hold yet (NaN) cannot be scored; the indexer's sync prevents this.
        return [row for row in rows if not np.isnan(row.signals.dense)]

    eligible_scored = scored(eligible)
    relevant = [s for s in eligible_scored if not apply_floor or is_relevant(s.relevance, weights)]
    relevant.sort(key=lambda s: (-s.score, s.facts.id))
    near = [s for s in scored(failed) if is_relevant(s.relevance, weights)]
    near.sort(key=lambda s: (-s.relevance, s.facts.id))
    return Ranking(
        matches=relevant[:limit],
        near_misses=near[:NEAR_MISSES],
        candidates=len(candidates),
        eligible=len(eligible),
        relevant_eligible=len(relevant),
    )
