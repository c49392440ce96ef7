"""Request and response bodies for needs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from matchmaker.exchange import (
    AllianceCode,
    Category,
    DeclaredUnitText,
    ExpiredFootprints,
    FootprintUnitText,
    Language,
    NeedFields,
    NeedStatus,
    NeedVisibility,
    PrimaryShare,
    Quantity,
    Region,
    RegionName,
)
from matchmaker.offers.schemas import ExternalId
from matchmaker.schema_types import BodyId, Flag, FootprintNumber, RequestModel


class NeedCreate(NeedFields):
    """A new need. `owner_id` is for the operator acting on a buyer's behalf."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    external_id: ExternalId | None = Field(default=None, description="your own id; generated when absent")
    status: NeedStatus = "open"
    visibility: NeedVisibility = "vendors"
    owner_id: BodyId | None = None


class NeedUpdate(RequestModel):
    """A partial change; the merged need is validated as a whole."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5_000)] | None = (
        None
    )
    language: Language | None = None
    category: Category | None = None
    max_pcf: FootprintNumber | None = None
    max_pcf_unit: FootprintUnitText | None = None
    require_verified: Flag | None = None
    require_third_party: Flag | None = None
    min_primary_share: PrimaryShare | None = None
    expired_footprints: ExpiredFootprints | None = None
    alliance_only: AllianceCode | None = None
    region_preference: Region | None = None
    quantity: Quantity | None = None
    quantity_unit: DeclaredUnitText | None = None
    baseline_pcf: FootprintNumber | None = None
    baseline_pcf_unit: FootprintUnitText | None = None
    delivery_from: date | None = None
    delivery_until: date | None = None
    respond_by: date | None = None
    status: NeedStatus | None = None
    visibility: NeedVisibility | None = None


class NeedRead(BaseModel):
    id: int
    external_id: str
    owner_id: int
    buyer: str
    text: str
    language: str
    category: str | None
    max_pcf: float | None
    max_pcf_unit: str | None
    max_pcf_family: str | None
    require_verified: bool
    require_third_party: bool = Field(description="footprints verified by a third party only")
    min_primary_share: float | None = Field(description="at least this share of primary data, in percent")
    expired_footprints: str = Field(description="rank_down (kept, without the verified bonus) or exclude")
    alliance_only: str | None
    region_preference: RegionName | None
    quantity: float | None = Field(description="a year's quantity, in quantity_unit")
    quantity_unit: str | None
    baseline_pcf: float | None = Field(description="the footprint of what is bought today")
    baseline_pcf_unit: str | None
    delivery_from: date | None
    delivery_until: date | None
    respond_by: date | None = Field(description="the last day offers are wanted; the need closes after it")
    status: str
    visibility: str
    version: int
    created_at: datetime
    updated_at: datetime


class DetectedConstraints(BaseModel):
    """Constraints the need's text states that its fields do not (or state otherwise): not applied.

    Named as the need's fields, so that a client can send them back in a change to apply them."""

    max_pcf: float | None = None
    max_pcf_unit: str | None = None
    require_verified: bool | None = None
    alliance_only: str | None = None
    region_preference: RegionName | None = None


class NeedWarning(BaseModel):
    code: str = Field(description="a stable slug, e.g. need.text_states_ceiling")
    field: str = Field(description="the need field the text speaks to")
    message: str


class NeedSaved(NeedRead):
    """The need as saved, with what its text states that its fields do not, for the buyer to confirm."""

    detected: DetectedConstraints | None = Field(
        default=None,
        description="constraints read from the text that the fields do not state; not applied to the need",
    )
    warnings: list[NeedWarning] = Field(
        default_factory=list, description="one per detected constraint, saying it is not applied"
    )
