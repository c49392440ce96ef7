"""Field types shared by request schemas: database ids within range, text without NUL characters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, Field, field_validator

# Ids are INTEGER columns: 32-bit on PostgreSQL. A larger number is a client error, not a database one.
MAX_ID = 2**31 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]


def contains_nul(value: Any) -> bool:
    """Whether a value, or anything inside it, is text with a NUL character (PostgreSQL refuses those)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(item) for item in value)
    return False


class RequestModel(BaseModel):
    """Base of every request body and import record: refuses NUL characters in any field."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if contains_nul(value):
            raise ValueError("text must not contain NUL characters")
        return value
