"""The operator's metrics, as the API gives them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class NeedMetrics(BaseModel):
    need_id: int
    buyer: str
    created_at: datetime
    status: str
    matches: int | None = Field(description="relevant offers now (open needs only)")
    seconds_to_first_match: float | None = Field(description="from posting to the first offer found to fit")
    inquiries: int
    quotes: int
    won: int


class Funnel(BaseModel):
    sent: int
    quoted: int
    won: int
    lost: int
    declined: int


class FeedbackMetrics(BaseModel):
    given: int
    relevant: int
    not_relevant: int
    contracted: int
    precision_at_5: float | None = Field(
        description="of the verdicts on offers ranked 1-5 when given, the share relevant or contracted"
    )
    judged_in_top_5: int


class Metrics(BaseModel):
    counted_at: datetime
    needs_counted: int = Field(description="the most recent needs these figures cover")
    median_matches_per_open_need: float | None
    open_needs_without_match: int
    median_seconds_to_first_match: float | None
    inquiries: Funnel
    feedback: FeedbackMetrics
    needs: list[NeedMetrics]
