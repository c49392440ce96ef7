"""Request and response bodies for feedback on matches."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from matchmaker.schema_types import RequestModel

Verdict = Literal["relevant", "not_relevant", "contracted"]


class FeedbackWrite(RequestModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Verdict = Field(description="not_relevant takes the offer off the need's list (DELETE to undo)")


class FeedbackRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    need_id: int
    offer_id: int
    offer_title: str
    verdict: Verdict
    rank: int | None = Field(
        description="the offer's place in the need's matches when it was first judged (null: not among them)"
    )
    updated_at: datetime
