"""The offers upload template: the exchange format's columns with one example row, as CSV or as an Excel
workbook whose second sheet lists the values a column accepts. What the template says a column takes is
what the importer takes (the same lists)."""

from __future__ import annotations

import io
from typing import Any, get_args

from matchmaker.exchange import CATEGORIES, DATA_QUALITY_FIELDS, OFFER_KINDS, OfferStatus, PcfBasis
from matchmaker.spreadsheets import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, DownloadFile, cell_text, csv_file
from matchmaker.units import DECLARED_UNITS

# The columns a supplier fills in, in the order a person reads them (the exchange format's names).
COLUMNS = (
    "id", "supplier", "title", "description", "kind", "category", "region", "pcf_value", "pcf_unit",
    "declared_unit", "pcf_verified", "standard", "certifications", "status", *DATA_QUALITY_FIELDS,
)  # fmt: skip
EXAMPLE: dict[str, Any] = {
    "id": "rebar-01", "title": "Low-carbon rebar HRB400E",
    "description": "Hot-rolled ribbed bar from scrap in an electric arc furnace", "kind": "product",
    "category": "steel", "region": "江苏", "pcf_value": 0.62, "pcf_unit": "tCO2e/t", "declared_unit": "t",
    "pcf_verified": "true", "standard": "ISO 14067", "certifications": "EPD;ISO 14001", "status": "published",
    "primary_data_share": 60, "dqr_technological": 1, "dqr_temporal": 1, "dqr_geographical": 2,
    "pcf_basis": "retrospective",
}  # fmt: skip
STATUSES: tuple[str, ...] = get_args(OfferStatus)


def _rows(supplier: str) -> list[list[Any]]:
    example = {**EXAMPLE, "supplier": supplier}
    return [list(COLUMNS), [example.get(column, "") for column in COLUMNS]]


def template_csv(supplier: str) -> DownloadFile:
    return DownloadFile(csv_file(_rows(supplier)), CSV_MEDIA_TYPE, "offers-template.csv")


def template_xlsx(supplier: str) -> DownloadFile:
    from openpyxl import Workbook

    workbook = Workbook()
    offers = workbook.active
    assert offers is not None
    offers.title = "offers"
    for row in _rows(supplier):
        offers.append([cell_text(value) for value in row])
    accepted = workbook.create_sheet("accepted values")
    lists = {
        "kind": OFFER_KINDS, "category": CATEGORIES, "declared_unit": tuple(DECLARED_UNITS),
        "pcf_verified": ("true", "false"), "status": STATUSES, "pcf_basis": get_args(PcfBasis),
    }  # fmt: skip
    accepted.append(list(lists))
    for position in range(max(len(values) for values in lists.values())):
        accepted.append([values[position] if position < len(values) else None for values in lists.values()])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return DownloadFile(buffer.getvalue(), XLSX_MEDIA_TYPE, "offers-template.xlsx")
