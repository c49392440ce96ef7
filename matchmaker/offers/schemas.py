"""Request and response bodies for offers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from matchmaker.exchange import (
    AllianceCode,
    Category,
    FootprintUnitText,
    Language,
    OfferFields,
    OfferKind,
    OfferStatus,
    OfferVisibility,
    PcfBasis,
    PrimaryShare,
    QualityRating,
    Region,
    RegionName,
    Title,
    VerificationDay,
    VerificationParty,
)
from matchmaker.schema_types import BodyId, Flag, FootprintNumber, RequestModel

ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class OfferCreate(OfferFields):
    """A new offer. `owner_id` is for the operator acting for a vendor; vendors own what they create."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    external_id: ExternalId | None = Field(default=None, description="your own id; generated when absent")
    status: OfferStatus = "draft"
    visibility: OfferVisibility = "public"
    visibility_alliance: AllianceCode | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    owner_id: BodyId | None = None


class OfferUpdate(RequestModel):
    """A partial change; the merged offer is validated as a whole."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Title | None = None
    description: Annotated[str, Field(max_length=20_000)] | None = None
    language: Language | None = None
    kind: OfferKind | None = None
    category: Category | None = None
    region: Region | None = None
    pcf_value: FootprintNumber | None = None
    pcf_unit: FootprintUnitText | None = None
    declared_unit: Annotated[str, StringConstraints(max_length=32)] | None = None
    pcf_verified: Flag | None = None
    pcf_valid_until: VerificationDay | None = None
    verification_party: VerificationParty | None = None
    standard: Annotated[str, StringConstraints(max_length=100)] | None = None
    certifications: list[Annotated[str, StringConstraints(max_length=200)]] | None = Field(
        default=None, max_length=50
    )
    primary_data_share: PrimaryShare | None = None
    dqr_technological: QualityRating | None = None
    dqr_temporal: QualityRating | None = None
    dqr_geographical: QualityRating | None = None
    pcf_basis: PcfBasis | None = None
    status: OfferStatus | None = None
    visibility: OfferVisibility | None = None
    visibility_alliance: AllianceCode | None = None
    attributes: dict[str, Any] | None = None


VerificationStatus = Literal["verified", "expired", "self_declared"]


class OfferRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str
    owner_id: int
    supplier: str
    title: str
    description: str
    language: str
    kind: str
    category: str
    region: RegionName | None
    pcf_value: float | None
    pcf_unit: str | None
    pcf_family: str | None
    declared_unit: str | None
    pcf_verified: bool = Field(
        description="verified now: vouched for by the operator or by accepted evidence, and not expired"
    )
    verification_status: VerificationStatus = Field(description="verified, expired or self_declared")
    verification_source: str | None = Field(description="operator or evidence, when verified")
    verified_by: str | None = Field(description="the verifier, when accepted evidence names one")
    verified_until: datetime | None = Field(description="when the verification ends")
    footprint_valid_until: datetime | None = Field(
        description="when the footprint itself stops being valid (PACT's validityPeriodEnd)"
    )
    footprint_expired: bool = Field(description="the footprint is past its validity")
    verification_party: str | None = Field(
        description="who verified it: first (the vendor), second (a related party) or third (independent)"
    )
    standard: str | None
    certifications: list[str]
    primary_data_share: float | None = Field(description="the share of primary data, in percent")
    dqr_technological: float | None = Field(description="data quality rating, 1 (good) to 3 (fair)")
    dqr_temporal: float | None
    dqr_geographical: float | None
    pcf_basis: str | None = Field(description="retrospective (measured) or prospective (expected)")
    pcf_origin: str | None = Field(
        description="calculated (from a bill of materials: a draft, not verified), lca (an LCA tool's "
        "result, imported), or none: stated by hand"
    )
    pcf_provenance: dict[str, Any] | None = Field(
        description="which calculation, or which data set of which file by which method"
    )
    attributes: dict[str, Any]
    alliances: list[str] = Field(description="alliances the supplier is an active member of")
    status: str = Field(
        description="draft, published, archived, or held for the operator's plausibility review"
    )
    plausibility_reason: str | None = Field(
        description="why the operator sent the offer back to draft after its plausibility review"
    )
    visibility: str
    visibility_alliance: str | None
    version: int
    created_at: datetime
    updated_at: datetime
