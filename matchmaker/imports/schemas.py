"""The report every import returns, over HTTP and in the CLI."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class LineError(BaseModel):
    """A line that was not imported: its number, its id when it has one, and why (in English).

    `code` and `values` (a reason of the whole line) or `fields` (one entry per bad field, as the API's
    problem documents carry them) name the reason so that a page can say it in the reader's language. They
    are never serialised: the report's JSON is the same with or without them."""

    line: int
    id: str | None = None
    message: str
    code: str | None = Field(default=None, exclude=True)
    values: dict[str, Any] = Field(default_factory=dict, exclude=True)
    fields: list[dict[str, Any]] = Field(default_factory=list, exclude=True)


class ImportReport(BaseModel):
    """What an import did: counts per outcome, and each line it could not take, with the reason.

    `warning_codes` names the code and values of a warning (by its English text) for the pages; like a
    line's, it is never serialised."""

    kind: Literal["offers", "needs"]
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[LineError] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    warning_codes: dict[str, tuple[str, dict[str, Any]]] = Field(default_factory=dict, exclude=True)

    def warn(self, message: str, *, code: str, **values: Any) -> None:
        """Add a warning: its English text, and the code and values that say it in another language."""
        self.warnings.append(message)
        self.warning_codes[message] = (code, values)
