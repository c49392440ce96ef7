"""Footprint ceilings written into free text ("under 350 kgCO2e each", "碳足迹不高于2 kgCO2e/kg").

Two uses: a search text's ceiling becomes a hard filter when the request names none, and the quantity
is taken out of the text before it is embedded, because "0.8 kgCO2e/kg" says nothing about what the
product is and only blurs the topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from matchmaker.units import MAX_FOOTPRINT_MAGNITUDE, UnknownUnitError, parse_unit

_NUMBER = r"(?P<value>-?\d+(?:[.,]\d+)*)"
_MASS = r"(?P<mass>g|kg|t)\s*CO2[-\s]?e(?:q)?"
# What the footprint is per: "/kg", "per tonne", "each", "每吨", or nothing (then: per unit).
_PER = (
    r"(?:\s*(?:/|per\s+)\s*(?P<per>[A-Za-z0-9²³]+)"
    r"|\s+(?P<each>each|apiece|per\s+unit)"
    r"|\s*/\s*(?P<per_zh>[吨千克度台件个]))?"
)
_QUANTITY = re.compile(_NUMBER + r"\s*" + _MASS + _PER, re.IGNORECASE)
_UPPER_BOUND = re.compile(
    r"(?:under|below|at\s+most|no\s+more\s+than|not\s+(?:to\s+)?exceed(?:ing)?|not\s+higher\s+than|"
    r"no\s+higher\s+than|max(?:imum)?\.?|up\s+to|less\s+than|lower\s+than|<=?|≤|"
    r"不高于|不超过|低于|小于|不大于|以下|以内|最高|至多)\s*[:：]?\s*$",
    re.IGNORECASE,
)
_CLAUSE_WORDS = re.compile(
    r"(?:(?:product\s+)?carbon\s+footprint|pcf|carbon\s+intensity|footprint|碳足迹|碳强度|全生命周期碳强度)"
    r"\s*(?:of|is|must\s+be|should\s+be|须|应|要求)?\s*",
    re.IGNORECASE,
)
_ZH_PER = {"吨": "t", "千克": "kg", "度": "kWh", "台": "unit", "件": "unit", "个": "unit"}


@dataclass(frozen=True, slots=True)
class Ceiling:
    value: float
    unit: str


def _unit(match: re.Match[str]) -> str | None:
    # "350 kgCO2e each" or a bare "350 kgCO2e" is per product.
    per = _ZH_PER[match.group("per_zh")] if match.group("per_zh") else match.group("per") or "unit"
    try:
        # parse_unit knows the spellings (case, tonne, ton, piece, item).
        return str(parse_unit(f"{match.group('mass')}CO2e/{per}"))
    except UnknownUnitError:
        return None


def find_ceiling(text: str) -> Ceiling | None:
    """The first footprint quantity the text states as an upper bound ("under 350 kgCO2e each")."""
    for match in _QUANTITY.finditer(text):
        before = text[max(0, match.start() - 40) : match.start()]
        if not _UPPER_BOUND.search(before):
            continue
        unit = _unit(match)
        if unit is None:
            continue
        value = float(match.group("value").replace(",", ""))
        if not abs(value) <= MAX_FOOTPRINT_MAGNITUDE:
            # "under 10^309 kgCO2e" bounds nothing, and as a filter it would be beyond exact arithmetic.
            continue
        return Ceiling(value=value, unit=unit)
    return None


def without_quantities(text: str) -> str:
    """The text with its footprint quantities and the words that introduce them taken out."""
    stripped = text
    for match in reversed(list(_QUANTITY.finditer(text))):
        start = match.start()
        bound = _UPPER_BOUND.search(text[max(0, start - 40) : start])
        if bound:
            start = max(0, start - 40) + bound.start()
        clause = _CLAUSE_WORDS.search(text[max(0, start - 30) : start])
        if clause and clause.end() == min(start, 30):
            start = max(0, start - 30) + clause.start()
        stripped = stripped[:start] + " " + stripped[match.end() :]
    return re.sub(r"\s{2,}", " ", stripped).strip(" ,，;；")
