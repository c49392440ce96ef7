"""Matching as the API and the CLI use it: offers for a need, offers for free text, needs for an offer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sqlalchemy.orm import Session

from matchmaker.alliances import repository as alliances
from matchmaker.auth import Principal
from matchmaker.db.base import utcnow
from matchmaker.db.models import Need, Offer
from matchmaker.errors import NotFound, ValidationFailed, field_error
from matchmaker.exchange import InvalidValue, check_footprint_pair
from matchmaker.footprints import stored_footprint, yearly_abatement
from matchmaker.matching import repository
from matchmaker.matching.eligibility import Criteria, OfferFacts, Verdict, judge
from matchmaker.matching.engine import Engine
from matchmaker.matching.explain import (
    criteria_read,
    explain,
    filter_results,
    need_brief,
    offer_brief,
    scored_points,
)
from matchmaker.matching.ranking import (
    JUDGED,
    Query,
    Ranking,
    Scored,
    could_match,
    rank_offers,
    rank_table_offers,
    score_offers,
)
from matchmaker.matching.schemas import (
    NearMiss,
    NeedMatch,
    NeedMatches,
    OfferMatch,
    OfferMatches,
    SearchRequest,
)
from matchmaker.matching.scoring import DEFAULT_WEIGHTS, is_relevant
from matchmaker.matching.text import Analysis
from matchmaker.matching.visibility import can_see_matches
from matchmaker.needs import repository as need_repository
from matchmaker.needs import visibility as need_visibility
from matchmaker.offers import repository as offer_repository
from matchmaker.offers import visibility as offer_visibility
from matchmaker.parties import service as party_service
from matchmaker.vectors.embedder import Vectors
from matchmaker.visibility import EVERYONE, Viewer
from matchmaker.written_constraints import find_ceiling

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Refinement:
    """Request-time filters on top of a need's own: narrower categories, kinds, regions, a certification,
    and optionally a tighter ceiling or verification (for a buyer trying what-ifs)."""

    categories: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    certification: str | None = None
    max_pcf: float | None = None
    max_pcf_unit: str | None = None
    require_verified: bool | None = None
    require_third_party: bool | None = None
    min_primary_share: float | None = None


def need_criteria(need: Need, refinement: Refinement = Refinement()) -> Criteria:
    """The hard filters of a need, with any refinement applied."""
    check_pair(refinement.max_pcf, refinement.max_pcf_unit)
    return Criteria(
        max_pcf=refinement.max_pcf if refinement.max_pcf is not None else need.max_pcf,
        max_pcf_unit=refinement.max_pcf_unit if refinement.max_pcf is not None else need.max_pcf_unit,
        require_verified=need.require_verified or bool(refinement.require_verified),
        require_third_party=need.require_third_party or bool(refinement.require_third_party),
        # A refinement may ask for more primary data than the need, not less.
        min_primary_share=max(
            (share for share in (need.min_primary_share, refinement.min_primary_share) if share is not None),
            default=None,
        ),
        exclude_expired=need.expired_footprints == "exclude",
        alliance_only=need.alliance_only.code if need.alliance_only else None,
        categories=refinement.categories,
        kinds=refinement.kinds,
        regions=refinement.regions,
        certification=refinement.certification,
        now=utcnow(),
    )


def check_pair(value: float | None, unit: str | None) -> None:
    """A ceiling needs both a value and a unit, or neither; refused with the check's code and values."""
    try:
        check_footprint_pair(value, unit, value_field="max_pcf", unit_field="max_pcf_unit")
    except InvalidValue as error:
        message = str(error)
        raise ValidationFailed(
            message,
            errors=[field_error("max_pcf_unit", message, code=error.code, **error.values)],
            code=error.code,
            values=error.values,
        ) from None


def text_query(
    engine: Engine,
    text: str,
    *,
    category: str | None,
    region_preference: str | None,
    analysis: Analysis | None = None,
    vector: Vectors | None = None,
) -> Query:
    """The query for a text; without a named category, the one its glossary terms clearly point to.

    `analysis` and `vector` are reused when the caller has them (an indexed need); what is missing is
    computed from the text, once."""
    if analysis is not None and not analysis.bridged:
        analysis = None  # loaded from a saved index, without the text the model of relevance reads
    fresh = engine.analyzer.analyze_query(text) if analysis is None or vector is None else None
    analysis = analysis or fresh
    assert analysis is not None
    if vector is None:
        assert fresh is not None
        vector = engine.encode_query(fresh)  # from a fresh analysis: an indexed one keeps no bridged text
    return Query(
        analysis=analysis,
        vector=vector,
        category=category or engine.analyzer.infer_category(analysis),
        region_preference=region_preference,
    )


# How a need's matches may be listed: by match score (their rank), lowest footprint, most headroom under the
# ceiling, or most tCO2e avoided a year.
MatchOrder = Literal["score", "footprint", "headroom", "abatement"]
# The longest list of matches a caller may ask for.
MOST_LISTED = 100


@dataclass(frozen=True, slots=True)
class ShownRanking:
    """A ranking and the offers it shows (its matches and near misses), read from the database in the very
    versions the ranking judged."""

    ranking: Ranking
    offers: dict[int, Offer]


def _offer_matches(
    *, shown: ShownRanking, criteria: Criteria, query_text: str, need: Need | None,
    region_preference: str | None,
) -> OfferMatches:  # fmt: skip
    ranking, offers = shown.ranking, shown.offers
    matches = [
        OfferMatch(
            rank=position,
            match_score=scored_points(scored).total,
            score=round(scored.score, 4),
            offer=offer_brief(offers[scored.facts.id], sorted(scored.facts.supplier_alliances)),
            explanation=explain(scored, offers[scored.facts.id], region_preference=region_preference),
            abatement_tco2e_per_year=_abatement(need, offers[scored.facts.id]) if need else None,
        )
        for position, scored in enumerate(ranking.matches, start=1)
    ]
    near = [
        NearMiss(
            offer=offer_brief(offers[s.facts.id], sorted(s.facts.supplier_alliances)),
            match_score=scored_points(s, bonuses=False).total,
            relevance=round(s.relevance, 4),
            failed_filters=s.verdict.failed,
            filters=filter_results(s),
        )
        for s in ranking.near_misses
    ]
    reason = None
    if not matches:
        if ranking.eligible == 0:
            reason = (
                f"no qualifying offer: none of the {ranking.candidates} offers you may see passes the filters"
            )
        else:
            reason = (
                f"no qualifying offer: {ranking.eligible} of {ranking.candidates} offers pass the filters, "
                "but none is relevant enough to this need"
            )
    return OfferMatches(
        need=need_brief(need) if need else None,
        query=query_text,
        criteria=criteria_read(criteria, region_preference),
        matches=matches,
        candidates=ranking.candidates,
        eligible=ranking.eligible,
        relevant=ranking.relevant,
        shown=len(matches),
        more=max(ranking.relevant - len(matches), 0),
        no_match_reason=reason,
        near_misses=near,
    )


def _abatement(need: Need, offer: Offer) -> float | None:
    return yearly_abatement(
        quantity=need.quantity,
        quantity_unit=need.quantity_unit,
        baseline=stored_footprint(need.baseline_pcf, need.baseline_pcf_unit),
        offered=stored_footprint(offer.pcf_value, offer.pcf_unit),
    )


def rank_for_need(
    *, session: Session, engine: Engine, need: Need, criteria: Criteria, limit: int, apply_floor: bool = True,
    buyer: Viewer | None = None, read_shown: bool = True,
) -> ShownRanking:  # fmt: skip
    """Rank the offers the need's buyer may see (`buyer`, when the caller has it already). The CLI's
    `match` and `eval` use exactly this."""
    if buyer is None:
        buyer = party_service.viewer_for(session=session, organisation_id=need.owner_id, role="buyer")
    return rank_visible_offers(
        session=session,
        engine=engine,
        query=need_query(engine, need),
        viewer=buyer,
        criteria=criteria,
        limit=limit,
        apply_floor=apply_floor,
        read_shown=read_shown,
    )


def rank_visible_offers(
    *, session: Session, engine: Engine, query: Query, viewer: Viewer, criteria: Criteria, limit: int,
    apply_floor: bool = True, read_shown: bool = True,
) -> ShownRanking:  # fmt: skip
    """Rank the offers matching may rank for the viewer (`offers.visibility.MATCHED`), on the engine's
    offer table.

    The offers it shows are read from the database (for the caller to show them; only their versions
    without `read_shown`) and must be in the versions the table holds: an offer another process deleted,
    or changed since the sync, would otherwise slip through. Those are read into the table and the ranking
    runs again; should the table still disagree, the ranking runs on the database's own reading
    (`visible_offer_facts`), as it did before the table existed.
    """
    engine.sync_offers(session)
    common: dict[str, Any] = {
        "query": query,
        "criteria": criteria,
        "catalogue": engine.offers,
        "limit": limit,
        "relevance_judge": engine.relevance_judge(session, query.analysis),
    }
    for _ in range(2):
        ranking = rank_table_offers(
            table=engine.offer_table, viewer=viewer, apply_floor=apply_floor, snapshot=engine.snapshot,
            **common,
        )  # fmt: skip
        shown = shown_ids(ranking)
        if read_shown:
            offers = repository.offers_by_id(session, shown)
            versions = {identifier: offer.version for identifier, offer in offers.items()}
        else:
            offers, versions = {}, repository.offer_versions(session, shown)
        stale = engine.offer_table.stale(shown, versions=versions)
        if not stale:
            return ShownRanking(ranking, offers)
        logger.info("offer table out of step for offers %s; read again", stale)
        engine.offer_table.refresh(session, stale)
    logger.warning("offer table still out of step; ranking from the database")
    ranking = rank_offers(
        candidates=repository.visible_offer_facts(session, viewer=viewer),
        apply_floor=apply_floor,
        **common,
    )
    return ShownRanking(ranking, repository.offers_by_id(session, shown_ids(ranking)) if read_shown else {})


def shown_ids(ranking: Ranking) -> list[int]:
    """The offers a ranking shows: its matches, then its near misses."""
    return [scored.facts.id for scored in (*ranking.matches, *ranking.near_misses)]


def need_query(engine: Engine, need: Need, *, vector: Vectors | None = None) -> Query:
    """A need as a query, the same in the buyer's and the vendor's view: its indexed analysis (when the
    index holds this version), its category named or read from its text, its region preference."""
    indexed = (
        engine.needs.analyses.get(need.id) if engine.needs.versions.get(need.id) == need.version else None
    )
    if indexed is not None and vector is None:
        # The index embedded this very analysis (documents and queries are encoded alike, as the vendor's
        # view already relies on): no need to encode the text again per request.
        vector = engine.needs.vector(need.id)
    return text_query(
        engine,
        need.text,
        category=need.category,
        region_preference=need.region_preference,
        analysis=indexed,
        vector=vector,
    )


def match_need(
    *,
    session: Session,
    engine: Engine,
    principal: Principal,
    need_id: int,
    refinement: Refinement,
    limit: int,
    order: MatchOrder = "score",
    page: int = 1,
) -> OfferMatches:
    """Offers for a need, ranked as the need's buyer sees them: for its buyer and the operator only (404
    for anyone else, who would otherwise see what the buyer may see)."""
    caller = party_service.viewer_of(session=session, principal=principal)
    need = need_of_matches(session=session, viewer=caller, need_id=need_id)
    criteria = need_criteria(need, refinement)
    # The need's own buyer asking: it is the viewer the ranking needs, already read.
    own = caller.role == "buyer" and caller.organisation_id == need.owner_id
    dismissed = repository.dismissed_offer_ids(session, need.id)
    # A page further down ranks the pages above it too; listed in another order, every match (as far as a
    # list goes) is ranked first, then sorted and cut.
    ranked = min(limit * page, MOST_LISTED) if order == "score" else MOST_LISTED
    shown = rank_for_need(
        session=session,
        engine=engine,
        need=need,
        criteria=criteria,
        limit=ranked + len(dismissed),
        buyer=caller if own else None,
    )
    matches = _offer_matches(
        shown=shown,
        criteria=criteria,
        query_text=need.text,
        need=need,
        region_preference=need.region_preference,
    )
    matches = _without(matches, dismissed, limit=ranked) if dismissed else matches
    return page_of(matches, order, limit=limit, page=page)


def page_of(matches: OfferMatches, order: MatchOrder, *, limit: int, page: int) -> OfferMatches:
    """One page of the matches, in their order (by score, their rank, or another), `limit` to a page;
    `more` counts the relevant offers after it."""
    ordered = matches.matches if order == "score" else sorted(matches.matches, key=_ORDERS[order])
    start = (page - 1) * limit
    shown = ordered[start : start + limit]
    return matches.model_copy(
        update={
            "matches": shown,
            "shown": len(shown),
            "more": max(matches.relevant - start - len(shown), 0),
            "page": page,
        }
    )


def _footprint_key(match: OfferMatch) -> tuple[bool, str, float]:
    stated = stored_footprint(match.offer.pcf_value, match.offer.pcf_unit)
    # Lowest first, within a unit family; offers without a footprint last.
    return (stated.canonical is None, stated.family or "", stated.canonical or 0.0)


def _headroom_key(match: OfferMatch) -> tuple[bool, float]:
    footprint = match.explanation.footprint
    room = footprint.below_ceiling_percent if footprint else None
    return (room is None, -(room or 0.0))


def _abatement_key(match: OfferMatch) -> tuple[bool, float]:
    avoided = match.abatement_tco2e_per_year
    return (avoided is None, -(avoided or 0.0))


_ORDERS: dict[str, Callable[[OfferMatch], Any]] = {
    "footprint": _footprint_key,
    "headroom": _headroom_key,
    "abatement": _abatement_key,
}


def need_of_matches(*, session: Session, viewer: Viewer, need_id: int) -> Need:
    """A need whose matches (and what follows them: shortlist, feedback) the viewer may see, or 404."""
    need = need_repository.get(session, need_id)
    if need is None or not can_see_matches(viewer, need):
        raise NotFound(f"need {need_id} not found")
    return need


def _without(matches: OfferMatches, dismissed: set[int], *, limit: int) -> OfferMatches:
    """The list without the offers its buyer dismissed, ranked again from 1; they are counted apart."""
    kept = [m for m in matches.matches if m.offer.id not in dismissed]
    relevant = matches.relevant - (len(matches.matches) - len(kept))
    shown = [m.model_copy(update={"rank": rank}) for rank, m in enumerate(kept[:limit], start=1)]
    return matches.model_copy(
        update={
            "matches": shown,
            "relevant": relevant,
            "shown": len(shown),
            "more": max(relevant - len(shown), 0),
            "near_misses": [m for m in matches.near_misses if m.offer.id not in dismissed],
            "dismissed": len(dismissed),
        }
    )


def search(*, session: Session, engine: Engine, principal: Principal, request: SearchRequest) -> OfferMatches:
    """Free-text search over the offers the caller may see, under the given hard filters.

    A ceiling written in the text ("under 350 kgCO2e each") is applied when the request names none.
    """
    check_pair(request.max_pcf, request.max_pcf_unit)
    max_pcf, max_pcf_unit = request.max_pcf, request.max_pcf_unit
    if max_pcf is None:
        written = find_ceiling(request.text)
        if written is not None:
            max_pcf, max_pcf_unit = written.value, written.unit
    criteria = Criteria(
        max_pcf=max_pcf,
        max_pcf_unit=max_pcf_unit,
        require_verified=request.require_verified,
        require_third_party=request.require_third_party,
        min_primary_share=request.min_primary_share,
        exclude_expired=request.exclude_expired,
        alliance_only=request.alliance_only,
        categories=frozenset(request.category),
        kinds=frozenset(request.kind),
        regions=frozenset(request.region),
        certification=request.certification,
        now=utcnow(),
    )
    viewer = party_service.viewer_of(session=session, principal=principal)
    query = text_query(engine, request.text, category=None, region_preference=request.region_preference)
    shown = rank_visible_offers(
        session=session, engine=engine, query=query, viewer=viewer, criteria=criteria, limit=request.limit
    )
    return _offer_matches(
        shown=shown,
        criteria=criteria,
        query_text=request.text,
        need=None,
        region_preference=request.region_preference,
    )


def open_need_ids(*, session: Session) -> list[int]:
    """Every open need, by id (work done on nobody's behalf: the alerts)."""
    return [need.id for need in repository.open_needs(session, visible=need_visibility.seen_where(EVERYONE))]


def visible_open_needs(*, session: Session, principal: Principal) -> list[Need]:
    """The open needs the caller may see (`needs.visibility`). The vendor's views (fitting needs, needs
    search) both use this."""
    viewer = party_service.viewer_of(session=session, principal=principal)
    return repository.open_needs(session, visible=need_visibility.seen_where(viewer))


def match_offer(
    *, session: Session, engine: Engine, principal: Principal, offer_id: int, limit: int
) -> NeedMatches:
    """Open needs, visible to the caller, whose hard filters the offer passes and whose buyer may see it.

    Relevance is the same function of (need, offer) as in the buyer's view, so both sides agree.
    """
    offer = offer_repository.get(session, offer_id)
    if offer is None or not can_see_matches(
        party_service.viewer_of(session=session, principal=principal), offer
    ):
        raise NotFound(f"offer {offer_id} not found")
    engine.sync(session)  # before the buyers' rankings are looked up (`Engine.kept_ranking`)
    # A need whose buyer dismissed the offer no longer lists it: nor does the offer's side.
    dismissing = repository.needs_dismissing(session, offer_id)
    needs = [n for n in visible_open_needs(session=session, principal=principal) if n.id not in dismissing]
    codes = alliances.active_codes_by_organisation(session, [offer.owner_id]).get(offer.owner_id, [])
    brief = offer_brief(offer, codes)
    matchable = repository.visible_offer_facts(session, viewer=EVERYONE, ids=[offer.id])
    if not matchable:
        return NeedMatches(
            offer=brief,
            matches=[],
            candidates=len(needs),
            eligible=0,
            relevant=0,
            shown=0,
            more=0,
            no_match_reason="the offer is not matchable: it must be published by an admitted supplier",
        )
    ranking = rank_needs_for_offer(
        session=session,
        engine=engine,
        facts=matchable[0],
        offer=offer,
        needs=needs,
        buyers=party_service.viewers_for(
            session=session, organisations=list({n.owner_id: n.owner for n in needs}.values()), role="buyer"
        ),
    )
    matches = [
        NeedMatch(
            rank=position,
            match_score=scored_points(scored).total,
            score=round(scored.score, 4),
            need=need_brief(need),
            explanation=explain(scored, offer, region_preference=need.region_preference),
        )
        for position, (scored, need) in enumerate(ranking.matches[:limit], start=1)
    ]
    reason = None
    if not matches:
        reason = (
            "no open need fits this offer" if ranking.eligible == 0 else "no open need is relevant enough"
        )
    return NeedMatches(
        offer=brief,
        matches=matches,
        candidates=len(needs),
        eligible=ranking.eligible,
        relevant=len(ranking.matches),
        shown=len(matches),
        more=len(ranking.matches) - len(matches),
        no_match_reason=reason,
    )


@dataclass(frozen=True, slots=True)
class NeedRanking:
    matches: list[tuple[Scored, Need]]
    eligible: int


def rank_needs_for_offer(
    *, session: Session, engine: Engine, facts: OfferFacts, offer: Offer, needs: list[Need],
    buyers: dict[int, Viewer],
) -> NeedRanking:  # fmt: skip
    """Score one offer against each need it is eligible for and whose buyer may see it (as the buyer's view
    decides it); relevant ones, best first. With a model of relevance, whether the offer is a match of a
    need depends on the need's other offers (its list may have no answer): the buyer's view decides it."""
    fitting: list[tuple[Need, Verdict]] = []
    for need in needs:
        visible = offer_visibility.can_match(buyers[need.owner_id], offer)
        verdict = judge(facts, need_criteria(need)) if visible else None
        if verdict is not None and verdict.eligible:
            fitting.append((need, verdict))
    if not fitting:
        return NeedRanking(matches=[], eligible=0)
    offer_vector = engine.offers.vector(facts.id)
    need_ids = np.asarray([need.id for need, _ in fitting], dtype=np.int64)
    dense = engine.needs.index.similarities(offer_vector, need_ids)
    scored: list[tuple[Scored, Need]] = []
    for (need, verdict), similarity in zip(fitting, dense.tolist(), strict=True):
        if np.isnan(similarity):  # not indexed yet (sync prevents this): embed it now
            similarity = float(need_query(engine, need).vector @ offer_vector)
        # The query's vector is not used here: the offer is one document, its cosine with each need is known.
        query = need_query(engine, need, vector=offer_vector)
        row = score_offers(
            query=query,
            facts=[facts],
            verdicts=[verdict],
            dense=np.asarray([similarity], dtype=np.float32),
            catalogue=engine.offers,
            weights=DEFAULT_WEIGHTS,
        )[0]
        if engine.relevance is not None:
            judged = _as_the_buyer_sees_it(
                session=session, engine=engine, need=need, query=query, row=row, buyer=buyers[need.owner_id]
            )
            if judged is not None:
                scored.append((judged, need))
        elif is_relevant(row.relevance, DEFAULT_WEIGHTS):
            scored.append((row, need))
    scored.sort(key=lambda pair: (-pair[0].score, pair[1].id))
    return NeedRanking(matches=scored, eligible=len(fitting))


def _as_the_buyer_sees_it(
    *, session: Session, engine: Engine, need: Need, query: Query, row: Scored, buyer: Viewer
) -> Scored | None:
    """The offer as the need's buyer's matches show it, or None when they do not show it (the buyer's
    ranking is run only when the model could find the offer relevant at all)."""
    relevance_judge = engine.relevance_judge(session, query.analysis)
    assert relevance_judge is not None
    if not could_match(row, relevance_judge):
        return None
    ranking = engine.kept_ranking(
        ("buyer's matches", need.id, need.version, buyer),
        lambda: (
            rank_for_need(
                session=session,
                engine=engine,
                need=need,
                criteria=need_criteria(need),
                limit=JUDGED,
                buyer=buyer,
            ).ranking
        ),
    )
    return next((match for match in ranking.matches if match.facts.id == row.facts.id), None)
