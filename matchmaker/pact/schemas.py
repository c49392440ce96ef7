"""Bodies of the operator's API for PACT OAuth clients (the PACT routes themselves speak PACT JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from matchmaker.schema_types import RequestModel

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class PactClientCreate(RequestModel):
    """A new client. The callback credentials are what our host presents to the client's own host when it
    delivers asynchronous events (answers to footprint requests)."""

    label: ShortText | None = None
    callback_client_id: ShortText | None = None
    callback_client_secret: ShortText | None = None


class PactClientRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organisation_id: int
    client_id: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


class PactClientCreated(PactClientRead):
    """A new client; `client_secret` is shown this once and cannot be recovered."""

    client_secret: str
