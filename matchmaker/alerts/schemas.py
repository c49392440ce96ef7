"""Request and response bodies for alerts and webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from matchmaker.alerts.rules import AlertKind
from matchmaker.schema_types import RequestModel


class AlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: AlertKind
    need_id: int | None = Field(description="null once the need is deleted")
    offer_id: int | None = Field(description="null once the offer is deleted")
    details: dict[str, Any] = Field(
        description="titles, the match score, and for a change the footprint's `old` and `new` values"
    )
    created_at: datetime
    read_at: datetime | None


class MarkedRead(BaseModel):
    marked: int


class WebhookWrite(RequestModel):
    """Where to post your alerts; the secret signs each post (see the README's "Webhook signature")."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=2000)]
    secret: Annotated[str, StringConstraints(min_length=16, max_length=200)]
    delivery: Literal["each", "daily"] = Field(
        default="each", description="each alert at once, or a daily digest"
    )


class WebhookRead(BaseModel):
    url: str
    delivery: str
    failures: int = Field(description="failed posts in a row; at the limit the webhook is disabled")
    disabled_at: datetime | None
    digest_sent_at: datetime | None
