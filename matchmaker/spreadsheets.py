"""Cells a spreadsheet opens as they were written: text that would run as a formula (=, +, -, @ first) is
kept as text, and characters a workbook cannot hold (ASCII control characters) are dropped. Every export
to CSV or XLSX writes its text cells through `cell_text`; every CSV file is made by `csv_file`."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What the XLSX format cannot store (openpyxl refuses it): C0 controls but tab, newline and carriage return.
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def cell_text(value: Any) -> Any:
    """A text value made safe for a spreadsheet cell; anything else as it is."""
    if not isinstance(value, str):
        return value
    value = _UNSTORABLE.sub("", value)
    return "'" + value if value[:1] in FORMULA_STARTS else value


def csv_file(rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows (the first the headings) as a CSV file: every text cell through `cell_text`, UTF-8 with a
    byte-order mark, so that spreadsheets open Chinese text as such."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([cell_text(value) for value in row] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


@dataclass(frozen=True, slots=True)
class DownloadFile:
    """A file to hand a user: its bytes, media type and name."""

    body: bytes
    media_type: str
    filename: str
