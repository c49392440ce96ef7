"""Documents as the API shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class DocumentRead(BaseModel):
    """A stored document as its readers see it; the content is at the address of what it proves."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    filename: str
    media_type: str
    size: int
    sha256: str
    created_at: datetime
