"""Response bodies for matches: every match explains itself."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from matchmaker.exchange import (
    AllianceCode,
    Category,
    FootprintUnitText,
    OfferKind,
    PrimaryShare,
    Region,
    RegionName,
)
from matchmaker.matching.eligibility import Reason
from matchmaker.schema_types import Flag, FootprintNumber, NotText, RequestModel


class FilterResult(BaseModel):
    """One hard filter's verdict on an offer: in English words, and as a code a client can phrase itself."""

    filter: str
    passed: bool
    detail: str = Field(description="the verdict in English, e.g. '0.62 tCO2e/t = 0.62 kgCO2e/kg <= 0.8'")
    reason: Reason = Field(
        description="why the filter passed or failed, independent of language; `values` holds its numbers"
    )
    values: dict[str, str] = Field(
        description="the reason's values, formatted as in `detail`. footprint.within/above: stated_value, "
        "stated_unit, value, unit (the ceiling's), ceiling; footprint.unconvertible: stated_unit, "
        "stated_family, unit, family; alliance.*: alliance; listed.* (category, kind, region): value "
        "(the offer's; empty when it has none) and wanted (the accepted values, sorted, joined by ', '); "
        "certification.*: certification; footprint.missing and verified.*: none"
    )


class FootprintExplanation(BaseModel):
    """The offer's footprint as stated and converted into the need's unit, against the ceiling."""

    stated_value: float
    stated_unit: str
    value: float = Field(description="the footprint in the ceiling's unit")
    unit: str
    ceiling: float
    below_ceiling_by: float = Field(description="ceiling minus value, in the ceiling's unit")
    below_ceiling_percent: float | None


class ScoreParts(BaseModel):
    """The parts of a match score, in points that add up to it (`scoring.points`)."""

    fit: int = Field(
        description="how well the product fits: meaning and category; the relevance floor reads 50"
    )
    concepts: int = Field(description="what the concepts and terms both texts mention add")
    verified: int = Field(description="the bonus for a third-party verified footprint")
    headroom: int = Field(description="the bonus for a footprint below the ceiling")
    region: int = Field(description="the bonus for the preferred region")


MatchScore = Annotated[
    int,
    Field(
        ge=0,
        le=100,
        description="the match score, 0-100: the list is ordered by it (ties by the unrounded score). For an "
        "offer, the model of relevance's probability that it is the product asked for, plus small bonuses "
        "(the best possible reads 100); for a need found by text, the hybrid relevance, where a match scores "
        "at least 50. Its parts are `explanation.score_parts`",
    ),
]


class Explanation(BaseModel):
    score_parts: ScoreParts
    relevance: float = Field(
        description="topical fit: the model of relevance's probability that the offer is the product asked "
        "for (or, unjudged, dense similarity + lexical + category)"
    )
    dense_similarity: float
    lexical_overlap: float = Field(description="share of the query's weighted terms the offer mentions")
    same_category: bool
    shared_terms: list[str] = Field(description="glossary concepts and words both texts mention")
    footprint: FootprintExplanation | None
    verified: bool
    standard: str | None
    alliances: list[str]
    region: RegionName | None
    region_preferred: bool | None = Field(description="null when no region preference was stated")
    filters: list[FilterResult] = Field(description="every hard filter applied, each passed")
    other_product: bool = Field(
        False,
        description="the model of relevance finds it unlikely to be the product asked for (a neighbour of "
        "it, listed below the answers): its footprint is per its own product, not comparable with the "
        "ceiling's",
    )
    reasons: list[str]


class OfferBrief(BaseModel):
    id: int
    external_id: str
    title: str
    supplier: str
    category: str
    kind: str
    region: RegionName | None
    pcf_value: float | None
    pcf_unit: str | None
    pcf_verified: bool = Field(description="verified now (`verification_status` says how)")
    verification_status: Literal["verified", "expired", "self_declared"]
    verified_by: str | None
    verified_until: datetime | None
    verification_party: str | None = Field(description="first, second or third party, when verified")
    footprint_valid_until: datetime | None = Field(description="when the footprint stops being valid")
    footprint_expired: bool = Field(description="the footprint is past its validity")
    standard: str | None
    primary_data_share: float | None = Field(description="the share of primary data, in percent")
    dqr_technological: float | None = Field(description="data quality ratings, 1 (good) to 3 (fair)")
    dqr_temporal: float | None
    dqr_geographical: float | None
    pcf_basis: str | None = Field(description="retrospective (measured) or prospective (expected)")
    pcf_origin: str | None = Field(
        description="calculated (from a bill of materials, not verified), lca (an imported LCA result), "
        "or none"
    )
    alliances: list[str]


class NeedBrief(BaseModel):
    id: int
    external_id: str
    buyer: str
    text: str
    category: str | None
    max_pcf: float | None
    max_pcf_unit: str | None
    require_verified: bool
    require_third_party: bool
    min_primary_share: float | None
    expired_footprints: str
    alliance_only: str | None
    region_preference: RegionName | None


class OfferMatch(BaseModel):
    rank: int = Field(description="its place by match score (the list may be sorted otherwise)")
    match_score: MatchScore
    score: float = Field(description="relevance plus the small carbon, verification and region bonuses")
    offer: OfferBrief
    explanation: Explanation
    abatement_tco2e_per_year: float | None = Field(
        default=None,
        description="tCO2e a year avoided against the need's baseline at its yearly quantity; "
        "null unless the need states both, in the offer's unit family",
    )


class NearMiss(BaseModel):
    """A relevant offer that failed a hard filter, and which."""

    offer: OfferBrief
    match_score: int = Field(ge=0, le=100, description="the relevance alone on the 0-100 scale of matches")
    relevance: float
    failed_filters: list[str]
    filters: list[FilterResult]


class CriteriaRead(BaseModel):
    max_pcf: float | None
    max_pcf_unit: str | None
    require_verified: bool
    require_third_party: bool
    min_primary_share: float | None
    exclude_expired: bool
    alliance_only: str | None
    category: list[str]
    kind: list[str]
    region: list[RegionName]
    certification: str | None
    region_preference: RegionName | None


class OfferMatches(BaseModel):
    """Offers for a need or a search, best first; empty with a reason when none qualifies."""

    need: NeedBrief | None
    query: str
    criteria: CriteriaRead
    matches: list[OfferMatch]
    candidates: int = Field(description="offers the caller may see")
    eligible: int = Field(description="of those, offers passing every hard filter")
    relevant: int = Field(description="of the eligible, offers relevant enough to be matches")
    shown: int = Field(description="of the relevant, offers in `matches` (at most the limit)")
    more: int = Field(description="relevant offers beyond the limit: a higher limit shows them")
    no_match_reason: str | None
    near_misses: list[NearMiss]
    dismissed: int = Field(default=0, description="offers the need's buyer marked not relevant: left out")
    page: int = Field(default=1, description="the page of the matches shown (`limit` to a page)")


class NeedMatch(BaseModel):
    rank: int
    match_score: MatchScore
    score: float = Field(description="relevance plus the small carbon, verification and region bonuses")
    need: NeedBrief
    explanation: Explanation


class NeedMatches(BaseModel):
    """Open needs that an offer fits, best first (the vendor's view)."""

    offer: OfferBrief
    matches: list[NeedMatch]
    candidates: int = Field(description="open needs the vendor may see")
    eligible: int = Field(description="of those, needs whose hard filters the offer passes")
    relevant: int = Field(description="of the eligible, needs relevant enough to be matches")
    shown: int = Field(description="of the relevant, needs in `matches` (at most the limit)")
    more: int = Field(description="relevant needs beyond the limit: a higher limit shows them")
    no_match_reason: str | None


Limit = Annotated[int, NotText, Field(ge=1, le=100)]


class SearchRequest(RequestModel):
    """Free-text search across offers, with the same hard filters a need has."""

    # A misspelt filter would otherwise be dropped in silence, and the search run without it.
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=5_000)]
    max_pcf: FootprintNumber | None = None
    max_pcf_unit: FootprintUnitText | None = None
    require_verified: Flag = False
    require_third_party: Flag = False
    min_primary_share: PrimaryShare | None = None
    exclude_expired: Flag = False
    alliance_only: AllianceCode | None = None
    category: list[Category] = Field(default_factory=list, max_length=17)
    kind: list[OfferKind] = Field(default_factory=list, max_length=3)
    region: list[Region] = Field(default_factory=list, max_length=50)
    certification: Annotated[str, Field(max_length=200)] | None = None
    region_preference: Region | None = None
    limit: Limit = 10


# Stripped first, so text of spaces alone is refused as empty rather than searched for.
SearchText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5_000)]


class NeedSearchRequest(RequestModel):
    """Free-text search across the open needs the caller may see (the vendor's search)."""

    # A misspelt filter would otherwise be dropped in silence, and the search run without it.
    model_config = ConfigDict(extra="forbid")

    text: SearchText
    category: list[Category] = Field(
        default_factory=list, max_length=17, description="only needs of these categories (hard)"
    )
    region: list[Region] = Field(
        default_factory=list, max_length=50, description="only needs preferring one of these regions (hard)"
    )
    limit: Annotated[int, NotText, Field(ge=1, le=50)] = 10


class NeedSearchExplanation(BaseModel):
    """Why a need was found: the topical signals of relevance, in the direction text → need."""

    score_parts: ScoreParts = Field(description="as in offer search; needs carry no footprint: no bonuses")
    relevance: float = Field(description="dense similarity + lexical + category, as in offer search")
    dense_similarity: float
    lexical_overlap: float = Field(description="share of the query's weighted terms the need mentions")
    same_category: bool = Field(description="the need's category is the one the query's terms point to")
    shared_terms: list[str] = Field(description="glossary concepts and words both texts mention")


class NeedSearchMatch(BaseModel):
    rank: int
    match_score: MatchScore
    score: float = Field(description="the relevance: needs carry no footprint to earn bonuses")
    need: NeedBrief
    explanation: NeedSearchExplanation


class NeedSearchResults(BaseModel):
    """Open needs for a free-text search, best first; empty with a reason when none is relevant."""

    query: str
    category: str | None = Field(description="the category the query's terms point to, if any")
    matches: list[NeedSearchMatch]
    candidates: int = Field(description="open needs the caller may see")
    eligible: int = Field(description="of those, needs passing the category and region filters")
    relevant: int = Field(description="of the eligible, needs relevant enough to be matches")
    shown: int = Field(description="of the relevant, needs in `matches` (at most the limit)")
    more: int = Field(description="relevant needs beyond the limit: a higher limit shows them")
    no_match_reason: str | None
