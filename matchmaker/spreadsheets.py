"""Cells a spreadsheet opens as they were written: text that would run as a formula (=, +, -, @ first) is
kept as text, and characters a workbook cannot hold (ASCII control characters) are dropped. Every export
to CSV or XLSX writes its text cells through `cell_text`."""

from __future__ import annotations

import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What the XLSX format cannot store (openpyxl refuses it): C0 controls but tab, newline and carriage return.
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def cell_text(value: Any) -> Any:
    """A text value made safe for a spreadsheet cell; anything else as it is."""
    if not isinstance(value, str):
        return value
    value = _UNSTORABLE.sub("", value)
    return "'" + value if value[:1] in FORMULA_STARTS else value
