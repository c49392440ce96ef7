"""A shortlist as a file for the purchasing committee: CSV or XLSX, in Chinese or English, each footprint
column naming its unit, with the date of export (in the platform's time zone, `local_time`)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from matchmaker.local_time import TIME_ZONE, local_time
from matchmaker.regions import display_name
from matchmaker.shortlists.schemas import Shortlist, ShortlistItem
from matchmaker.spreadsheets import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, DownloadFile, cell_text, csv_file

ExportLanguage = Literal["zh", "en"]
ExportFormat = Literal["csv", "xlsx"]
MEDIA_TYPES: dict[ExportFormat, str] = {"csv": CSV_MEDIA_TYPE, "xlsx": XLSX_MEDIA_TYPE}


@dataclass(frozen=True, slots=True)
class Column:
    labels: dict[ExportLanguage, str]
    value: Callable[[ShortlistItem], Any]


def _yes_no(flag: bool, language: ExportLanguage) -> str:
    return ("是" if flag else "否") if language == "zh" else ("yes" if flag else "no")


def _columns(shortlist: Shortlist) -> list[Column]:
    unit = shortlist.unit or "–"
    return [
        Column({"en": "Offer id", "zh": "报价编号"}, lambda i: i.offer.id),
        Column({"en": "Offer", "zh": "产品"}, lambda i: i.offer.title),
        Column({"en": "Supplier", "zh": "供应商"}, lambda i: i.offer.supplier),
        Column({"en": "Region", "zh": "地区"}, lambda i: _RegionCell(i.offer.region or "")),
        Column({"en": "Footprint as stated", "zh": "声明碳足迹"}, lambda i: i.footprint.stated_value),
        Column({"en": "Stated unit", "zh": "声明单位"}, lambda i: i.footprint.stated_unit or ""),
        Column({"en": f"Footprint ({unit})", "zh": f"碳足迹（{unit}）"}, lambda i: i.footprint.value),
        Column({"en": f"Ceiling ({unit})", "zh": f"上限（{unit}）"}, lambda i: i.footprint.ceiling),
        Column({"en": f"Headroom ({unit})", "zh": f"余量（{unit}）"}, lambda i: i.footprint.headroom),
        Column({"en": "Headroom (%)", "zh": "余量（%）"}, lambda i: i.footprint.headroom_percent),
        Column({"en": "Third-party verified", "zh": "第三方核查"}, lambda i: i.offer.pcf_verified),
        Column({"en": "Standard", "zh": "核算标准"}, lambda i: i.offer.standard or ""),
        Column({"en": "Alliances", "zh": "联盟"}, lambda i: ", ".join(i.offer.alliances)),
        Column({"en": "Match score (0-100)", "zh": "匹配分（0-100）"}, lambda i: i.match_score),
        Column({"en": "Note", "zh": "备注"}, lambda i: i.note),
    ]


class _RegionCell(str):
    """A region, written in the export's language."""


def _cell(value: Any, language: ExportLanguage) -> Any:
    if isinstance(value, _RegionCell):
        return display_name(value, language) if value else ""
    return _yes_no(value, language) if isinstance(value, bool) else value


def _rows(shortlist: Shortlist, language: ExportLanguage) -> tuple[list[str], list[list[Any]]]:
    columns = _columns(shortlist)
    header = [column.labels[language] for column in columns]
    rows = [[_cell(c.value(item), language) for c in columns] for item in shortlist.items]
    return header, rows


def exported_at(now: datetime) -> str:
    return f"{local_time(now)} (Asia/Shanghai)"


def to_csv(shortlist: Shortlist, *, language: ExportLanguage, now: datetime) -> bytes:
    """A header row, then one row per offer; the last column gives the date of export on every row."""
    header, rows = _rows(shortlist, language)
    stamp = exported_at(now)
    return csv_file(
        [[*header, "导出时间" if language == "zh" else "Exported"], *([*row, stamp] for row in rows)]
    )


def to_xlsx(shortlist: Shortlist, *, language: ExportLanguage, now: datetime, title: str) -> bytes:
    """A sheet with the need, the date of export and the unit above a table of the offers."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    header, rows = _rows(shortlist, language)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "候选清单" if language == "zh" else "Shortlist"
    zh = language == "zh"
    sheet.append([("需求：" if zh else "Need: ") + cell_text(title)])
    sheet.append([("导出时间：" if zh else "Exported: ") + exported_at(now)])
    sheet.append([("碳足迹单位：" if zh else "Footprint unit: ") + (shortlist.unit or "–")])
    sheet.append([])
    sheet.append(header)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([cell_text(value) for value in row])
    sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# The row of the column headings in the XLSX (after the need, the date and the unit, and a blank row).
HEADER_ROW = 5


def shortlist_file(
    shortlist: Shortlist,
    *,
    need_id: int,
    title: str,
    fmt: ExportFormat,
    language: ExportLanguage,
    now: datetime,
) -> DownloadFile:
    """The shortlist as a CSV or XLSX file, named after the need and the day of export."""
    body = (
        to_csv(shortlist, language=language, now=now)
        if fmt == "csv"
        else (to_xlsx(shortlist, language=language, now=now, title=title))
    )
    name = f"shortlist-need-{need_id}-{now.astimezone(TIME_ZONE):%Y%m%d}.{fmt}"
    return DownloadFile(body=body, media_type=MEDIA_TYPES[fmt], filename=name)
