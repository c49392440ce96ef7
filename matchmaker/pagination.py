"""Page-numbered list responses, the same shape for every list endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int = 1
    per_page: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total count and the next page number (null on the last page)."""

    items: list[T]
    total: int
    page: int
    per_page: int
    next_page: int | None

    @classmethod
    def build(cls, *, items: list[T], total: int, request: PageRequest) -> Page[T]:
        has_more = request.offset + len(items) < total
        return cls(
            items=items,
            total=total,
            page=request.page,
            per_page=request.per_page,
            next_page=request.page + 1 if has_more else None,
        )
