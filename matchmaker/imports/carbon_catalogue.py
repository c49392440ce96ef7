"""Map the Carbon Catalogue (Meinrenken et al., product_level.csv) to offers.

Each product becomes an offer of its company: the `*PCF-ID` as the offer id, the product name and detail as
title and description, the country as region, the footprint per product as kgCO2e/unit. The GICS
classification, sector, year, weight and protocol are kept in the offer's attributes. Company-reported
figures are not third-party verified, so `pcf_verified` is false.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from typing import Any

from matchmaker.errors import BadRequest
from matchmaker.imports.readers import RawRecord, numbered_rows, open_csv

ID = "*PCF-ID"
NAME = "Product name (and functional unit)"
DETAIL = "Product detail"
COMPANY = "Company"
COUNTRY = "Country (where company is incorporated)"
INDUSTRY_GROUP = "Company's GICS Industry Group"
INDUSTRY = "Company's GICS Industry"
SECTOR = "*Company's sector"
WEIGHT = "Product weight (kg)"
PCF = "Product's carbon footprint (PCF, kg CO2e)"
INTENSITY = "*Carbon intensity"
PROTOCOL = "Protocol used for PCF"
YEAR = "Year of reporting"
REQUIRED_COLUMNS = (ID, NAME, COMPANY, PCF)
TITLE_LIMIT = 200

# Our categories, by words in the product's name or detail; the first that fits wins, else `other`.
# Matched on words, so "steel" in "stainless steel sink" counts while "steelcase" does not.
CATEGORY_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("solar_pv", ("solar", "photovoltaic", "pv module")),
    ("wind", ("wind turbine",)),
    ("energy_storage", ("battery", "batteries", "energy storage")),
    ("hydrogen", ("hydrogen",)),
    ("aluminium", ("aluminium", "aluminum")),
    ("steel", ("steel", "rebar", "stainless")),
    ("cement_concrete", ("cement", "concrete", "clinker")),
    ("building_materials_insulation", ("insulation", "gypsum", "plasterboard", "glass wool", "mineral wool")),
    ("biobased_chemicals", ("bio-based", "biobased", "bioplastic")),
    ("green_fuels", ("biodiesel", "bioethanol", "biofuel", "renewable diesel")),
    ("pesticide_formulation", ("pesticide", "herbicide", "insecticide", "fungicide")),
)
_NOT_REPORTED = {"", "not reported", "n/a", "(not reported by company)"}
# The compilers' placeholders for a missing product detail: they describe nothing.
_PLACEHOLDER_DETAIL = re.compile(r"^field not included in \d{4} data$", re.IGNORECASE)


def category_for(name: str, detail: str) -> str:
    """Pick our category where the product clearly is one, else `other` (a general catalogue)."""
    text = f"{name} {detail}".lower()
    for category, keywords in CATEGORY_KEYWORDS:
        if any(re.search(rf"\b{re.escape(keyword)}\b", text) for keyword in keywords):
            return category
    return "other"


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _reported(text: str | None) -> str | None:
    value = (text or "").strip()
    return None if value.lower() in _NOT_REPORTED else value


def map_row(row: dict[str, str]) -> dict[str, Any]:
    """Turn one catalogue row into an exchange-format offer record."""
    name = (row.get(NAME) or "").strip()
    detail = (row.get(DETAIL) or "").strip()
    if _PLACEHOLDER_DETAIL.match(detail):
        detail = ""
    pcf_text = (row.get(PCF) or "").strip()
    pcf_value: Any = _number(pcf_text)
    if pcf_value is None and pcf_text:
        pcf_value = pcf_text  # keep the bad text, so validation names it
    industry = _reported(row.get(INDUSTRY))
    if industry and industry.lower().startswith("not used"):
        industry = None
    attributes = {
        "source": "Carbon Catalogue (Meinrenken et al.)",
        "reporting_year": _number(row.get(YEAR)),
        "gics_industry_group": _reported(row.get(INDUSTRY_GROUP)),
        "gics_industry": industry,
        "sector": _reported(row.get(SECTOR)),
        "product_weight_kg": _number(row.get(WEIGHT)),
        "carbon_intensity_kgco2e_per_kg": _number(row.get(INTENSITY)),
    }
    # Repeating the title is noise: many rows' detail is empty or repeats the name.
    description = detail if detail and detail != name else ""
    title = name
    if len(name) > TITLE_LIMIT:
        # A few companies wrote a paragraph as the product name: keep it whole in the description.
        title = name[: TITLE_LIMIT - 1].rstrip() + "…"
        description = f"{name}\n{description}".strip()
    return {
        "id": (row.get(ID) or "").strip(),
        "title": title,
        "description": description,
        "language": "en",
        "kind": "product",
        "category": category_for(name, detail),
        "supplier": (row.get(COMPANY) or "").strip(),
        "region": (row.get(COUNTRY) or "").strip() or None,
        "pcf_value": pcf_value,
        "pcf_unit": "kgCO2e/unit" if pcf_value is not None else None,
        "declared_unit": "unit" if pcf_value is not None else None,
        "pcf_verified": False,
        "standard": _reported(row.get(PROTOCOL)),
        "alliance": [],
        "certifications": [],
        "attributes": {key: value for key, value in attributes.items() if value is not None},
    }


def read_catalogue(text: str) -> Iterator[RawRecord]:
    """Return the catalogue's products as numbered offer records; refuse a file without its columns."""
    reader = open_csv(text.lstrip("\ufeff"))
    missing = [column for column in REQUIRED_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise BadRequest(f"not a Carbon Catalogue product_level.csv: missing columns {', '.join(missing)}")
    return _rows(reader)


def _rows(reader: csv.DictReader[str]) -> Iterator[RawRecord]:
    for line, row, problem in numbered_rows(reader):
        yield RawRecord(line=line, data=map_row(row) if row else {}, error=problem)
