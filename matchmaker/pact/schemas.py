"""Bodies of the operator's API for PACT OAuth clients (the PACT routes themselves speak PACT JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from matchmaker.schema_types import RequestModel

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _deliverable(url: str) -> str:
    from matchmaker.pact.events import may_deliver_to

    if not may_deliver_to(url):
        raise ValueError("must be an https URL (plain http only on this machine), without query or fragment")
    return url


CallbackUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(_deliverable)
]


class PactClientCreate(RequestModel):
    """A new client. The callback credentials are what our host presents to the client's own host when it
    delivers asynchronous events (answers to footprint requests)."""

    label: ShortText | None = None
    callback_url: CallbackUrl | None = None
    callback_client_id: ShortText | None = None
    callback_client_secret: ShortText | None = None


class PactClientRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organisation_id: int
    client_id: str
    label: str | None
    callback_url: str | None
    created_at: datetime
    revoked_at: datetime | None


class PactClientCreated(PactClientRead):
    """A new client; `client_secret` is shown this once and cannot be recovered."""

    client_secret: str
