"""Read import files into numbered raw records; a line that cannot be read is reported, not fatal."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from matchmaker.clean_text import NotFiniteNumber, loads

FileFormat = Literal["jsonl", "csv"]

# CSV cells hold text; these exchange-format columns are lists, booleans or numbers.
LIST_COLUMNS = {"alliance", "certifications"}
BOOL_COLUMNS = {"pcf_verified", "require_verified"}
NUMBER_COLUMNS = {"pcf_value", "max_pcf"}
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as read, with the line it starts on; `error` is set when the line could not be read, in
    English, with the `code` and `values` that let a page say it in another language."""

    line: int
    data: dict[str, Any]
    error: str | None = None
    code: str | None = None
    values: dict[str, Any] = field(default_factory=dict)


class CellError(ValueError):
    """A CSV cell that cannot become its column's value; `code` and `values` name why."""

    def __init__(self, message: str, *, code: str, **values: Any) -> None:
        super().__init__(message)
        self.code = code
        self.values = values


def detect_format(name: str | None, content_type: str | None = None) -> FileFormat:
    """Pick the format from a file name or a media type; JSON Lines unless it says CSV."""
    if content_type and "csv" in content_type:
        return "csv"
    if name and name.lower().endswith(".csv"):
        return "csv"
    return "jsonl"


def read_jsonl(text: str) -> Iterator[RawRecord]:
    # Only "\n" ends a line: str.splitlines() would also split inside a JSON string at U+2028 and friends.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            data = loads(line)
        except json.JSONDecodeError as error:
            yield RawRecord(
                line=number,
                data={},
                error=f"invalid JSON: {error.msg} at column {error.colno}",
                code="import.json_invalid",
                values={"error": error.msg, "column": error.colno},
            )
            continue
        except RecursionError:
            yield RawRecord(
                line=number, data={}, error="invalid JSON: nested too deeply", code="import.json_too_deep"
            )
            continue
        except NotFiniteNumber as error:
            yield RawRecord(
                line=number,
                data={},
                error=f"invalid JSON: {error}",
                code="import.number_not_finite",
                values={"error": str(error)},
            )
            continue
        except ValueError:  # an integer longer than Python will convert (sys.get_int_max_str_digits())
            limit = sys.get_int_max_str_digits()
            yield RawRecord(
                line=number,
                data={},
                error=f"invalid JSON: a number has more than {limit} digits",
                code="import.number_too_long",
                values={"limit": limit},
            )
            continue
        if not isinstance(data, dict):
            yield RawRecord(line=number, data={}, error="expected a JSON object", code="import.not_an_object")
            continue
        yield RawRecord(line=number, data=data)


def _csv_cell(column: str, cell: str) -> Any:
    value = cell.strip()
    if column in LIST_COLUMNS:
        if value.startswith("["):
            try:
                return json.loads(value)
            except json.JSONDecodeError as error:
                raise CellError(
                    str(error), code="import.cell_json_invalid", column=column, error=error.msg
                ) from None
            except RecursionError:
                raise CellError(
                    f"{column}: nested too deeply", code="import.cell_too_deep", column=column
                ) from None
        return [part.strip() for part in value.split(";") if part.strip()]
    if column in BOOL_COLUMNS:
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise CellError(
            f"{column}: {cell!r} is not a boolean (true/false)",
            code="import.cell_not_boolean",
            column=column,
            cell=cell,
        )
    if value == "":
        return None
    if column in NUMBER_COLUMNS:
        try:
            return float(value)
        except ValueError:
            raise CellError(
                f"{column}: {cell!r} is not a number", code="import.cell_not_number", column=column, cell=cell
            ) from None
    return value


def open_csv(text: str) -> csv.DictReader[str]:
    """A CSV reader that takes any line ending: CRLF, LF, or the lone CR of old spreadsheet exports."""
    return csv.DictReader(io.StringIO(text.replace("\r\n", "\n").replace("\r", "\n")))


def numbered_rows(reader: csv.DictReader[str]) -> Iterator[tuple[int, dict[str, str] | None, str | None]]:
    """Yield (first line, row, error) per row; a row the csv module cannot parse is an error, not fatal.

    The error is the English text "unreadable CSV: <the csv module's reason>"."""
    # The underlying reader's count: the DictReader's own is not updated when a line fails.
    lines = reader.reader
    while True:
        try:
            # The header first, so that the first row is numbered after it (DictReader reads it lazily);
            # a line that cannot be read is reported, and the next one is tried as the header.
            if reader.fieldnames is None:
                return
            break
        except csv.Error as error:
            yield lines.line_num, None, f"unreadable CSV: {error}"
    start = lines.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield start, None, f"unreadable CSV: {error}"
            start = lines.line_num + 1
            continue
        yield start, row, None
        start = lines.line_num + 1


def read_csv(text: str) -> Iterator[RawRecord]:
    for line, row, problem in numbered_rows(open_csv(text)):
        if row is None:
            reason = (problem or "").removeprefix("unreadable CSV: ")
            yield RawRecord(
                line=line, data={}, error=problem, code="import.csv_unreadable", values={"error": reason}
            )
            continue
        if None in row:
            yield RawRecord(
                line=line, data={}, error="more cells than header columns", code="import.csv_extra_cells"
            )
            continue
        try:
            data = {column: _csv_cell(column, cell or "") for column, cell in row.items() if column}
        except ValueError as error:  # a CellError, which names its reason
            code, named = getattr(error, "code", None), getattr(error, "values", {})
            yield RawRecord(line=line, data={}, error=str(error), code=code, values=named)
            continue
        yield RawRecord(line=line, data=data)


def read_records(text: str, file_format: FileFormat) -> Iterator[RawRecord]:
    """Yield the numbered records of an import file."""
    return read_csv(text) if file_format == "csv" else read_jsonl(text)


def count_records(text: str, file_format: FileFormat) -> int:
    """A cheap upper bound of the records, for a progress bar."""
    lines = sum(1 for line in text.split("\n") if line.strip())
    return max(lines - 1, 0) if file_format == "csv" else lines
