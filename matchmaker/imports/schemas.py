"""The report every import returns, over HTTP and in the CLI."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class LineError(BaseModel):
    line: int
    id: str | None = None
    message: str


class ImportReport(BaseModel):
    """What an import did: counts per outcome, and each line it could not take, with the reason."""

    kind: Literal["offers", "needs"]
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[LineError] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
