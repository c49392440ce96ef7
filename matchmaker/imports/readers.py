"""Read import files into numbered raw records; a line that cannot be read is reported, not fatal."""

from __future__ import annotations

import csv
import io
import itertools
import json
import sys
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from matchmaker.clean_text import NotFiniteNumber, loads
from matchmaker.errors import BadRequest, ValidationFailed
from matchmaker.imports.decoding import decode_upload
from matchmaker.schema_types import plain_number

FileFormat = Literal["jsonl", "csv", "xlsx"]
# A workbook is a zip: one that would unpack to more than this is refused before it is opened (a zip bomb
# of a few megabytes can unpack to gigabytes).
XLSX_MOST_UNPACKED_BYTES = 64 * 1024 * 1024

# CSV cells hold text; these exchange-format columns are lists, booleans or numbers.
LIST_COLUMNS = {"alliance", "certifications"}
BOOL_COLUMNS = {"pcf_verified", "require_verified", "require_third_party"}
NUMBER_COLUMNS = {
    "pcf_value", "max_pcf", "primary_data_share", "dqr_technological", "dqr_temporal", "dqr_geographical",
    "min_primary_share",
}  # fmt: skip
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
    """Pick the format from a file name or a media type; JSON Lines unless it says CSV or Excel."""
    if content_type and "spreadsheetml" in content_type or name and name.lower().endswith(".xlsx"):
        return "xlsx"
    if content_type and "csv" in content_type:
        return "csv"
    if name and name.lower().endswith(".csv"):
        return "csv"
    return "jsonl"


def read_upload(body: bytes, file_format: FileFormat) -> Iterator[RawRecord]:
    """The numbered records of an uploaded file: a workbook as it is, text files decoded from UTF-8 first.
    A file that cannot be read at all is refused here, before any record is imported."""
    if file_format == "xlsx":
        return read_xlsx(body)
    return read_records(decode_upload(body), file_format)


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
        number = plain_number(value)
        if number is None:
            raise CellError(
                f"{column}: {cell!r} is not a number", code="import.cell_not_number", column=column, cell=cell
            )
        return number
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


def as_drafts(records: Iterable[RawRecord]) -> Iterator[RawRecord]:
    """The records, each to be saved as a draft whatever status it states: published by hand later."""
    for record in records:
        yield replace(record, data={**record.data, "status": "draft"}) if record.data else record


def read_xlsx(body: bytes) -> Iterator[RawRecord]:
    """The first sheet of an Excel workbook, read as CSV is: a header row of the exchange format's columns,
    then one offer or need a row, numbered by its row in the sheet (empty rows are skipped)."""
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
        if unpacked > XLSX_MOST_UNPACKED_BYTES:
            raise BadRequest(
                f"the workbook unpacks to {unpacked} bytes, more than {XLSX_MOST_UNPACKED_BYTES}",
                code="upload.xlsx_too_large",
                values={"limit": XLSX_MOST_UNPACKED_BYTES},
            )
        sheet = load_workbook(io.BytesIO(body), read_only=True, data_only=True).worksheets[0]
        # The cells the sheet holds, not the size it declares: a declared A1:XFD1048576 would be read as
        # that many empty cells, and a size declared too small would drop rows.
        sheet.reset_dimensions()
    except BadRequest:
        raise
    except Exception as error:  # openpyxl raises many kinds for a file that is not a workbook
        raise BadRequest(
            f"the file is not an Excel workbook (.xlsx): {type(error).__name__}", code="upload.not_xlsx"
        ) from None
    records = _xlsx_records(sheet.iter_rows(values_only=True))
    first = next(records, None)
    if first is None:  # as for a text file: an import of nothing is almost always the wrong file
        raise ValidationFailed("the file is empty: it holds no records", code="upload.empty")
    return itertools.chain([first], records)


def _xlsx_records(rows: Iterator[tuple[Any, ...]]) -> Iterator[RawRecord]:
    header: list[str] | None = None
    number = 0
    while True:
        number += 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as error:  # a sheet damaged past this row: reported on it, what came before stays
            yield RawRecord(
                line=number,
                data={},
                error=f"the sheet cannot be read from row {number} on: {type(error).__name__}",
                code="import.xlsx_unreadable",
                values={"row": number},
            )
            return
        cells = ["" if value is None else _xlsx_text(value) for value in row]
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = [cell.strip() for cell in cells]
            continue
        if any(cell.strip() for cell in cells[len(header) :]):
            yield RawRecord(
                line=number, data={}, error="more cells than header columns", code="import.csv_extra_cells"
            )
            continue
        yield _record_of_cells(number, dict(zip(header, cells, strict=False)))


def _xlsx_text(value: Any) -> str:
    """A cell as the text a CSV file would hold: true/false, numbers without a needless .0, dates in ISO."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _record_of_cells(line: int, row: dict[str, str]) -> RawRecord:
    """A record from a row's cells by column (CSV or a sheet), or the reason a cell cannot be read."""
    try:
        data = {column: _csv_cell(column, cell or "") for column, cell in row.items() if column}
    except ValueError as error:  # a CellError, which names its reason
        code, named = getattr(error, "code", None), getattr(error, "values", {})
        return RawRecord(line=line, data={}, error=str(error), code=code, values=named)
    return RawRecord(line=line, data=data)


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
        yield _record_of_cells(line, row)


def read_records(text: str, file_format: FileFormat) -> Iterator[RawRecord]:
    """Yield the numbered records of a text import file (JSON Lines or CSV)."""
    return read_csv(text) if file_format == "csv" else read_jsonl(text)


def count_records(text: str, file_format: FileFormat) -> int:
    """A cheap upper bound of the records of a text file, for a progress bar."""
    lines = sum(1 for line in text.split("\n") if line.strip())
    return max(lines - 1, 0) if file_format == "csv" else lines


def count_uploaded(body: bytes, file_format: FileFormat) -> int:
    """An upper bound of the records of an uploaded file, for a progress bar (a workbook's rows are read)."""
    if file_format == "xlsx":
        return sum(1 for _ in read_xlsx(body))
    return count_records(body.decode("utf-8-sig", errors="replace"), file_format)
