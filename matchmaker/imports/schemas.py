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


# Rejected lines listed in a report at most: a file of a million bad lines must not become a report (and
# a server's memory) a thousand times its size. The rest are counted in `errors_not_listed`.
MAX_LISTED_ERRORS = 1000


class ImportReport(BaseModel):
    """What an import did: counts per outcome, and each line it could not take, with the reason (the
    first MAX_LISTED_ERRORS of them; `failed` counts them all).

    `warning_codes` names the code and values of a warning (by its English text) for the pages; like a
    line's, it is never serialised."""

    kind: Literal["offers", "needs"]
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[LineError] = Field(default_factory=list)
    errors_not_listed: int = Field(
        default=0, description="rejected lines beyond the first listed in `errors`"
    )
    warnings: list[str] = Field(default_factory=list)
    warning_codes: dict[str, tuple[str, dict[str, Any]]] = Field(default_factory=dict, exclude=True)

    def reject(self, error: LineError) -> None:
        """Count a line not imported, and list it while the report lists fewer than MAX_LISTED_ERRORS."""
        self.failed += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(error)
        else:
            self.errors_not_listed += 1

    def warn(self, message: str, *, code: str, **values: Any) -> None:
        """Add a warning: its English text, and the code and values that say it in another language."""
        self.warnings.append(message)
        self.warning_codes[message] = (code, values)
