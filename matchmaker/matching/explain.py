"""Turn scored matches into explanations a buyer or vendor can read."""

from __future__ import annotations

import re
from collections.abc import Sequence

from matchmaker import verification
from matchmaker.db.base import utcnow
from matchmaker.db.models import Need, Offer
from matchmaker.matching.eligibility import Criteria
from matchmaker.matching.ranking import Scored
from matchmaker.matching.schemas import (
    CriteriaRead,
    Explanation,
    FilterResult,
    FootprintExplanation,
    NeedBrief,
    OfferBrief,
    ScoreParts,
)
from matchmaker.matching.scoring import Points, judged_points, points
from matchmaker.regions import english_name


def offer_brief(offer: Offer, alliances: list[str]) -> OfferBrief:
    now = utcnow()  # one instant for the verification and the footprint's validity
    verified = verification.of_offer(offer, now=now)
    return OfferBrief(
        id=offer.id,
        external_id=offer.external_id,
        title=offer.title,
        supplier=offer.owner.name,
        category=offer.category,
        kind=offer.kind,
        region=offer.region,
        pcf_value=offer.pcf_value,
        pcf_unit=offer.pcf_unit,
        pcf_verified=verified.status == "verified",
        verification_status=verified.status,
        verified_by=offer.verified_by,
        verified_until=offer.verified_until,
        verification_party=offer.verification_party if verified.status != "self_declared" else None,
        footprint_valid_until=offer.footprint_valid_until,
        footprint_expired=verification.footprint_expired(offer, now=now),
        standard=offer.standard,
        primary_data_share=offer.primary_data_share,
        dqr_technological=offer.dqr_technological,
        dqr_temporal=offer.dqr_temporal,
        dqr_geographical=offer.dqr_geographical,
        pcf_basis=offer.pcf_basis,
        pcf_origin=offer.pcf_origin,
        alliances=alliances,
    )


def need_brief(need: Need) -> NeedBrief:
    return NeedBrief(
        id=need.id,
        external_id=need.external_id,
        buyer=need.owner.name,
        text=need.text,
        category=need.category,
        max_pcf=need.max_pcf,
        max_pcf_unit=need.max_pcf_unit,
        require_verified=need.require_verified,
        require_third_party=need.require_third_party,
        min_primary_share=need.min_primary_share,
        expired_footprints=need.expired_footprints,
        alliance_only=need.alliance_only.code if need.alliance_only else None,
        region_preference=need.region_preference,
    )


def criteria_read(criteria: Criteria, region_preference: str | None) -> CriteriaRead:
    return CriteriaRead(
        max_pcf=criteria.max_pcf,
        max_pcf_unit=criteria.max_pcf_unit,
        require_verified=criteria.require_verified,
        require_third_party=criteria.require_third_party,
        min_primary_share=criteria.min_primary_share,
        exclude_expired=criteria.exclude_expired,
        alliance_only=criteria.alliance_only,
        category=sorted(criteria.categories),
        kind=sorted(criteria.kinds),
        region=sorted(criteria.regions),
        certification=criteria.certification,
        region_preference=region_preference,
    )


def filter_results(scored: Scored) -> list[FilterResult]:
    return [
        FilterResult(
            filter=c.filter, passed=c.passed, detail=c.detail, reason=c.reason, values=dict(c.values)
        )
        for c in scored.verdict.checks
    ]


def term_label(term: str) -> str:
    return term.split(":", 1)[1].replace("_", " ")


def term_labels(terms: Sequence[str]) -> list[str]:
    """The shared terms as a reader sees them: each once ("steel" the concept and "steel" the word are one),
    without the words of a concept already named ("hot-rolled coil", not also "hot", "rolled")."""
    labels = list(dict.fromkeys(term_label(term) for term in terms))
    words = {label: re.split(r"[\s-]+", label) for label in labels}
    named = {word for parts in words.values() if len(parts) > 1 for word in parts}
    return [label for label in labels if len(words[label]) > 1 or label not in named]


def scored_points(scored: Scored, *, bonuses: bool = True) -> Points:
    """The scored match's 0-100 score and its parts (without the bonuses: its relevance alone)."""
    secondary = scored.secondary if bonuses else None
    if scored.judged is not None:
        return judged_points(scored.judged, secondary)
    return points(signals=scored.signals, secondary=secondary)


def score_parts(parts: Points) -> ScoreParts:
    return ScoreParts(
        fit=parts.fit,
        concepts=parts.concepts,
        verified=parts.verified,
        headroom=parts.headroom,
        region=parts.region,
    )


def points_reason(parts: Points) -> str:
    """The score as a sum, in English: 'match 74 of 100: fit 66 + shared concepts 7 + verified 1'."""
    named = [
        ("shared concepts", parts.concepts),
        ("verified", parts.verified),
        ("headroom under the ceiling", parts.headroom),
        ("preferred region", parts.region),
    ]
    added = "".join(f" + {name} {value}" for name, value in named if value)
    return f"match {parts.total} of 100: fit {parts.fit}{added}"


def explain(scored: Scored, offer: Offer, *, region_preference: str | None) -> Explanation:
    """Everything that decided this match, in numbers and in words."""
    parts = scored_points(scored)
    comparison = scored.verdict.footprint
    footprint = None
    if comparison is not None and offer.pcf_value is not None and offer.pcf_unit is not None:
        ratio = comparison.headroom_ratio
        footprint = FootprintExplanation(
            stated_value=offer.pcf_value,
            stated_unit=offer.pcf_unit,
            value=float(comparison.value),
            unit=comparison.unit,
            ceiling=float(comparison.ceiling),
            below_ceiling_by=float(comparison.headroom),
            below_ceiling_percent=round(ratio * 100, 1) if ratio is not None else None,
        )
    reasons = [points_reason(parts)]
    if scored.shared_terms:
        reasons.append("both mention " + ", ".join(term_labels(scored.shared_terms)[:8]))
    if scored.signals.same_category:
        reasons.append(f"same category: {offer.category}")
    if footprint is not None:
        percent = f" ({footprint.below_ceiling_percent:g}% below)" if footprint.below_ceiling_percent else ""
        against = f"against a ceiling of {footprint.ceiling:g}{percent}"
        reasons.append(f"footprint {footprint.value:g} {footprint.unit} {against}")
    if scored.secondary.verified:
        reasons.append(f"third-party verified{' to ' + offer.standard if offer.standard else ''}")
    if scored.secondary.region_preferred:
        reasons.append(
            f"in the preferred region ({english_name(region_preference)}): {english_name(offer.region)}"
        )
    other_product = scored.judged is not None and not scored.judged.answer
    if other_product:
        reasons.append(
            "probably not the product asked for but a neighbour of it: its footprint is per its own product"
        )
    return Explanation(
        score_parts=score_parts(parts),
        relevance=round(scored.relevance, 4),
        dense_similarity=round(scored.signals.dense, 4),
        lexical_overlap=round(scored.signals.lexical, 4),
        same_category=scored.signals.same_category,
        shared_terms=term_labels(scored.shared_terms),
        footprint=footprint,
        verified=scored.secondary.verified,
        standard=offer.standard,
        alliances=sorted(scored.facts.supplier_alliances),
        region=offer.region,
        region_preferred=scored.secondary.region_preferred,
        filters=filter_results(scored),
        other_product=other_product,
        reasons=reasons,
    )
