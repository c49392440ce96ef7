"""Request and response bodies for shortlists."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from matchmaker.matching.schemas import OfferBrief
from matchmaker.schema_types import RequestModel

MAX_NOTE = 2_000


class ShortlistEntryWrite(RequestModel):
    """An offer kept on a need's shortlist, with an optional note (a second PUT replaces the note)."""

    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, Field(max_length=MAX_NOTE)] = ""


class ComparedFootprint(BaseModel):
    """An offer's footprint as stated and in the shortlist's unit, against the need's ceiling."""

    stated_value: float | None
    stated_unit: str | None
    value: float | None = Field(
        description="in the shortlist's unit; null when none is stated or it is of another unit family"
    )
    unit: str | None = Field(description="the shortlist's unit: the need's ceiling's, else the first stated")
    ceiling: float | None = Field(description="the need's ceiling in that unit, if any")
    headroom: float | None = Field(description="ceiling minus value, in that unit")
    headroom_percent: float | None


class ShortlistItem(BaseModel):
    offer: OfferBrief
    note: str
    added_at: datetime
    footprint: ComparedFootprint
    match_score: int | None = Field(description="the offer's 0-100 match score now; null if not a match now")
    rank: int | None = Field(description="its place in the need's matches now; null if not a match now")


class Shortlist(BaseModel):
    """A need's shortlist, in the order offers were added."""

    need_id: int
    unit: str | None = Field(description="the unit every comparable footprint is given in")
    ceiling: float | None
    items: list[ShortlistItem]


class ShortlistEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    need_id: int
    offer_id: int
    note: str
    created_at: datetime
    updated_at: datetime
