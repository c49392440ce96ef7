"""Free-text search over open needs (the vendor's search): offer search's relevance, the other way round.

The text is the query and each open need the caller may see is a document: the dense cosine of the text's
vector with the need's indexed one, the coverage of the text's terms in the need's indexed analysis, and
the agreement of the category the text's terms point to with the need's. `scoring.relevance` and its floor
decide, as in offer search, so a need under the floor is not a result however few others there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from matchmaker.auth import Principal
from matchmaker.db.models import Need
from matchmaker.matching.engine import Engine
from matchmaker.matching.explain import need_brief, score_parts, term_labels
from matchmaker.matching.ranking import Query
from matchmaker.matching.schemas import (
    NeedSearchExplanation,
    NeedSearchMatch,
    NeedSearchRequest,
    NeedSearchResults,
)
from matchmaker.matching.scoring import Signals, category_agreement, is_relevant, points, relevance
from matchmaker.matching.service import need_query, text_query, visible_open_needs
from matchmaker.matching.text import lexical_coverage
from matchmaker.regions import in_region


@dataclass(frozen=True, slots=True)
class FoundNeed:
    """One relevant need with the signals that made it so."""

    need: Need
    signals: Signals
    relevance: float
    shared_terms: tuple[str, ...]


def passes_filters(need: Need, request: NeedSearchRequest) -> bool:
    """The request's hard filters: the need's stated category and its region preference, when asked for. A
    preference meets a region filter when either holds the other: a vendor in Jiangsu finds the needs that
    prefer Jiangsu, 长三角 or China; one asking for China finds those preferring Jiangsu too."""
    return (not request.category or need.category in request.category) and (
        not request.region or _prefers_one_of(need.region_preference, request.region)
    )


def _prefers_one_of(preference: str | None, regions: Sequence[str]) -> bool:
    return preference is not None and any(
        in_region(preference, region) or in_region(region, preference) for region in regions
    )


def rank_needs_for_text(*, engine: Engine, query: Query, needs: Sequence[Need]) -> list[FoundNeed]:
    """The needs relevant to the query, best first (ties to the smaller id)."""
    if not needs:
        return []
    dense = engine.needs.index.similarities(query.vector, np.asarray([n.id for n in needs], dtype=np.int64))
    query_terms = query.analysis.lexical_terms
    idf = {term: engine.needs.statistics.weight(term) for term in query_terms}
    found: list[FoundNeed] = []
    for need, similarity in zip(needs, dense.tolist(), strict=True):
        # The need's indexed analysis and its category, named or read from its text. The vector passed is
        # only there so that a need missing from the index is not encoded here for nothing.
        read = need_query(engine, need, vector=query.vector)
        if np.isnan(similarity):  # not indexed yet (sync prevents this): embed it now
            similarity = float(need_query(engine, need).vector @ query.vector)
        need_terms = read.analysis.lexical_terms
        signals = Signals(
            dense=float(similarity),
            lexical=lexical_coverage(query_terms, need_terms, idf),
            category_agreement=category_agreement(query.category, read.category),
        )
        topical = relevance(signals)
        if is_relevant(topical):
            found.append(FoundNeed(need, signals, topical, tuple(sorted(query_terms & need_terms))))
    found.sort(key=lambda item: (-item.relevance, item.need.id))
    return found


def search_needs(
    *, session: Session, engine: Engine, principal: Principal, request: NeedSearchRequest
) -> NeedSearchResults:
    """Free-text search (Chinese or English) over the open needs the caller may see, under hard filters."""
    engine.needs.sync(session)
    needs = visible_open_needs(session=session, principal=principal)
    eligible = [need for need in needs if passes_filters(need, request)]
    query = text_query(engine, request.text, category=None, region_preference=None)
    found = rank_needs_for_text(engine=engine, query=query, needs=eligible)
    matches = [
        NeedSearchMatch(
            rank=position,
            match_score=parts.total,
            score=round(item.relevance, 4),
            need=need_brief(item.need),
            explanation=NeedSearchExplanation(
                score_parts=score_parts(parts),
                relevance=round(item.relevance, 4),
                dense_similarity=round(item.signals.dense, 4),
                lexical_overlap=round(item.signals.lexical, 4),
                same_category=item.signals.same_category,
                shared_terms=term_labels(item.shared_terms),
            ),
        )
        for position, item in enumerate(found[: request.limit], start=1)
        # Needs carry no footprint, and the search no region preference: no bonuses.
        for parts in [points(signals=item.signals, secondary=None)]
    ]
    reason = None
    if not matches:
        reason = "no open need passes the filters" if not eligible else "no open need is relevant enough"
    return NeedSearchResults(
        query=request.text,
        category=query.category,
        matches=matches,
        candidates=len(needs),
        eligible=len(eligible),
        relevant=len(found),
        shown=len(matches),
        more=len(found) - len(matches),
        no_match_reason=reason,
    )
