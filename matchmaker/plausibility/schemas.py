"""The plausibility review as the API shows it and takes the operator's decision."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from matchmaker.offers.schemas import OfferRead
from matchmaker.schema_types import RequestModel


class HeldOffer(BaseModel):
    offer: OfferRead
    hold: dict[str, Any] = Field(
        description="why it is held: its intensity and basis, the reference and threshold it was compared "
        "with, the peers used and the sector's quantiles"
    )


class PlausibilityDecision(RequestModel):
    """Release the held offer (published; this footprint is not held again) or send it back to draft with
    a reason its vendor reads."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["release", "return"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
