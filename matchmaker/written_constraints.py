"""Constraints written into free text: a footprint ceiling, verified-only, an alliance, a preferred region.

Three uses: a search text's ceiling becomes a hard filter when the request names none; a need's text is
read when the need is posted or changed, so that the buyer can confirm what the structured fields miss; and
the quantity is taken out of the text before it is embedded, because "0.8 kgCO2e/kg" says nothing about
what the product is and only blurs the topic.

The patterns are general (a bound word, a number, an emission mass, a denominator; a verification word not
negated; a known alliance code; a region named beside a word of preference), never fitted to one text:
`evaluation/constraints/` holds the labelled texts and how they were written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from matchmaker.regions import find, written_names
from matchmaker.units import MAX_FOOTPRINT_MAGNITUDE, UnknownUnitError, parse_unit

# Texts are read up to this length: a need is at most 5,000 characters, and nothing is stated after a novel.
_READ_AT_MOST = 20_000

# Full-width digits and punctuation (１．８, ＜, ：) and subscript digits (CO₂) folded one character for one
# character, so that positions found in the folded text cut the original text at the same places.
_FOLD = str.maketrans(
    {chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)}
    | {chr(0x2080 + digit): str(digit) for digit in range(10)}
    | {"\u3000": " ", "≦": "≤", "﹤": "<", "\u00a0": " "}
)

# Digits are ASCII ([0-9], not \d): full-width ones are folded to them, and other scripts' digits are no
# footprint; with \d, a run of 5,000 Arabic-Indic digits started a match at each one (quadratic time).
_NUMBER = (
    r"(?<![A-Za-z0-9.\-])(?<![0-9],)"
    # 1,000 or 1,000.5 (thousands); 1,8 (a decimal comma: one or two digits); 1.8; 18
    r"(?P<value>[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?(?![0-9])|[0-9]+,[0-9]{1,2}(?![0-9,])|[0-9]+(?:\.[0-9]+)?)"
)
_MASS = (
    r"(?P<mass>kilograms?|kilos?|kg|grams?|g|tonnes?|tons?|t|千克|公斤|克|吨)"
    # The emission words; without them, only a footprint clause makes the quantity a footprint.
    r"(?:\s*(?:of\s+)?(?P<co2>CO2[-\s]?e(?:q(?:uivalents?)?)?\.?|CO2[-\s]?equivalents?|CO2\s*当量|"
    r"二氧化碳当量|二氧化碳|CO2)(?![A-Za-z0-9])|(?![A-Za-z]))"
)
_ZH_UNITS = {
    "千瓦时": "kWh",
    "度": "kWh",
    "兆瓦时": "MWh",
    "千瓦": "kWp",
    "兆瓦": "MWp",
    "瓦": "Wp",
    "吨公里": "tkm",
    "吨": "t",
    "千克": "kg",
    "公斤": "kg",
    "克": "g",
    "兆焦": "MJ",
    "吉焦": "GJ",
    "平方米": "m2",
    "立方米": "m3",
    "升": "L",
    "台": "unit",
    "件": "unit",
    "个": "unit",
    "套": "unit",
    "块": "unit",
}
_ZH_UNIT = "|".join(sorted(_ZH_UNITS, key=len, reverse=True))
_PER = (
    r"(?:\s*(?:/|per\s+(?:one\s+|a\s+)?)\s*(?P<per>[A-Za-z][A-Za-z0-9²³\-]*)"
    r"|\s*(?P<each>each|apiece|per\s+unit|per\s+piece)"
    rf"|\s*(?:/|每)\s*(?P<per_zh>{_ZH_UNIT}))?"
)
_QUANTITY = re.compile(_NUMBER + r"\s*" + _MASS + _PER, re.IGNORECASE)

# English spellings canonical_declared_unit does not know, folded to ones it does.
_EN_UNITS = {
    "tonnes": "t",
    "tons": "t",
    "kilogram": "kg",
    "kilograms": "kg",
    "kilo": "kg",
    "kilos": "kg",
    "gram": "g",
    "grams": "g",
    "kw": "kWp",  # a footprint per kilowatt is per kilowatt of (peak) capacity
    "mw": "MWp",
    "kilowatt-hour": "kWh",
    "kilowatt-hours": "kWh",
    "pieces": "unit",
    "pcs": "unit",
    "units": "unit",
    "items": "unit",
    "litre": "L",
    "liter": "L",
}

# Words that put an upper bound on the number after them ("不高于 1.8", "at most 1.8", "上限为1.8").
_BOUND_BEFORE = re.compile(
    r"(?:(?<![A-Za-z])(?:under|below|beneath|at\s+most|no\s+more\s+than|not\s+more\s+than|"
    r"(?:must|shall|should|may|does|do|will)?\s*not\s+(?:to\s+)?exceed(?:ing)?|not\s+exceeding|"
    r"no\s+(?:higher|greater|larger)\s+than|not\s+(?:higher|greater|larger|above)\s+(?:than\s+)?|"
    r"less\s+than|lower\s+than|(?:a\s+)?max(?:imum)?\.?(?:\s+of)?|up\s+to|capped\s+at|"
    r"(?:an?\s+)?(?:upper\s+)?(?:cap|limit|ceiling|threshold)(?:\s+of)?|limited\s+to)"
    r"|<=?|=<|≤|不高于|不超过|不得超过|不得高于|不能超过|不可超过|不应超过|不应高于|不超出|不大于|低于|小于|"
    r"最高|至多|最多|上限|限值)"
    # "不超过每千瓦35千克": the denominator may sit between the bound and the number.
    rf"\s*(?:[:：]|为|是|在|of|is|be)?\s*(?:每\s*(?:{_ZH_UNIT})\s*)?$",
    re.IGNORECASE,
)
# ... or after it ("1.8 tCO2e/t以下", "1.8 tCO2e/t or less").
_BOUND_AFTER = re.compile(
    r"^\s*(?:以下|以内|或以下|及以下|或更低|为上限|封顶|(?:or|and)\s+(?:less|lower|below|under)(?![A-Za-z])|"
    r"max(?:imum)?(?![A-Za-z])|at\s+most(?![A-Za-z]))",
    re.IGNORECASE,
)
# "not below", "不低于": a floor, not a ceiling.
_FLOOR = re.compile(r"(?:不|not\s+|no\s+)(?:低于|小于|below|under|less\s+than|lower\s+than)", re.IGNORECASE)
# Without emission words ("碳足迹不高于1.8吨/吨"), the clause must say that it is about a footprint.
_FOOTPRINT_WORDS = re.compile(
    r"碳足迹|碳排放|碳强度|排放|carbon\s+footprint|footprint|pcf|carbon\s+intensity|"
    r"emissions?|emission\s+intensity|gwp",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[,;。；!?！？\n]|\.(?:\s|$)")
# A denominator written before the quantity, in the same clause ("每吨钢碳足迹不高于1.8吨CO2e").
_PER_BEFORE = re.compile(rf"每\s*(?P<per_zh>{_ZH_UNIT})")
_CLAUSE_WORDS = re.compile(
    r"(?:(?:product\s+)?carbon\s+footprint|pcf|carbon\s+intensity|footprint|碳足迹|碳强度|全生命周期碳强度)"
    r"\s*(?:of|is|must\s+be|should\s+be|须|应|要求)?\s*",
    re.IGNORECASE,
)

_NEGATION_BEFORE = re.compile(
    r"(?:无需|无须|不需|不必|不用|不要求|不强制|不限|未经|未|没有|免于|免|非|not|no\s+need\s+(?:for|of)|"
    r"without|regardless\s+of|need\s+not|needn't|don't\s+(?:need|require)|doesn't\s+(?:need|require)|"
    r"does\s+not\s+(?:need|require)|do\s+not\s+(?:need|require)|isn't|is\s+not|not\s+necessarily)"
    r"[^,;。；，]{0,12}$",
    re.IGNORECASE,
)
_NEGATION_AFTER = re.compile(
    r"^[^,;。；，]{0,16}?(?:不是必须|非必须|不做要求|不作要求|不强制|可选|不需要|非强制|"
    r"(?:is\s+|are\s+)?(?:not\s+(?:required|necessary|needed|mandatory)|optional)(?![A-Za-z]))",
    re.IGNORECASE,
)
# A nice-to-have is not a requirement ("可提供第三方核查报告者优先", "verified data a plus").
_SOFT = re.compile(
    r"优先|加分|更佳|为佳|最好|尽量|希望|欢迎|preferred|preferably|a\s+plus|nice\s+to\s+have|ideally|if\s+possible|"
    r"bonus|welcome",
    re.IGNORECASE,
)
_VERIFIED = re.compile(
    r"第三方(?:核查|核证|认证|验证|审核|鉴证|审定)|(?:核查|核证)|外部(?:核查|验证)|独立(?:核查|验证)|"
    r"(?<![A-Za-z])(?:third[-\s]?party[-\s](?:verified|verification|certified|assured|assurance|audited|"
    r"validated)|(?:independently|externally)\s+(?:verified|assured|audited)|verified(?=\s+(?:by|footprints?|"
    r"pcfs?|carbon|data|values?|figures?|intensit(?:y|ies)|emissions?|declarations?|epds?|lcas?|reports?|"
    r"results?|numbers?|only)|\s*(?:[,;)]|\.(?:\s|$)|$|≤|<|under\s|below\s|at\s+most\s))|"
    r"(?:be|been|is|are|being)\s+(?:third[-\s]party\s+)?verified|verification\s+(?:is\s+)?(?:required|"
    r"mandatory|needed)|requires?\s+(?:third[-\s]party\s+|independent\s+)?verification)",
    re.IGNORECASE,
)
# "核查机构", "verification services": who verifies, or the service being bought, not a requirement.
_VERIFIER = re.compile(
    r"\s*(?:机构|服务|公司|(?:services?|bod(?:y|ies)|firms?|providers?|agenc(?:y|ies))(?![A-Za-z]))",
    re.IGNORECASE,
)

_PREFERENCE = re.compile(
    r"优先|首选|最好|最佳|偏好|倾向|就近|本地|地区的?供应商|区域的?供应商|的供应商|供应商(?:位于|在|来自)|位于|来自|"
    r"产地|生产基地|境内|供应|供货|(?<![A-Za-z])(?:prefer(?:red|ably|ence)?|ideally|priority|prioriti[sz]ed?|local(?:ly)?|"
    r"based\s+in|located\s+in|suppliers?\s+(?:in|from)|(?:made|produced|manufactured|sourced|generated)\s+in|"
    r"sourced\s+from|from)(?![A-Za-z])",
    re.IGNORECASE,
)
# A place the goods go to, or where the buyer is, is not where the buyer prefers its suppliers to be.
_DESTINATION = re.compile(
    r"交付|交货|送达|送至|运至|运到|到厂|到港|我司|我方|我们的|项目|工地|(?<![A-Za-z])(?:deliver(?:ed|y|ies)?|"
    r"ship(?:ped|ping)?\s+to|to\s+our|for\s+our|our\s+(?:plant|site|factory|project|mill|hangar)s?|project|"
    r"site)(?![A-Za-z])",
    re.IGNORECASE,
)


@cache
def _region_pattern() -> re.Pattern[str]:
    names = sorted(written_names(), key=len, reverse=True)
    alternatives = "|".join(
        re.escape(name) if not name.isascii() else rf"(?<![A-Za-z0-9\-]){re.escape(name)}(?![A-Za-z0-9\-])"
        for name in names
    )
    return re.compile(alternatives, re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Ceiling:
    value: float
    unit: str


@dataclass(frozen=True, slots=True)
class WrittenConstraints:
    """What a text states: each part None (or False) when the text does not state it."""

    ceiling: Ceiling | None = None
    require_verified: bool = False
    alliance: str | None = None
    region: str | None = None

    def __bool__(self) -> bool:
        return bool(self.ceiling or self.require_verified or self.alliance or self.region)


def fold(text: str) -> str:
    """The text with full-width and subscript characters made plain, position for position."""
    return text[:_READ_AT_MOST].translate(_FOLD)


def _declared(match: re.Match[str], folded: str) -> str | None:
    if match.group("per_zh"):
        return _ZH_UNITS[match.group("per_zh")]
    if match.group("per"):
        per = match.group("per")
        return _EN_UNITS.get(per.lower(), per)
    if match.group("each"):
        return "unit"
    # No denominator after the quantity: one written before it, in the same clause, else per product.
    before = _clause_before(folded, match.start())
    written = _PER_BEFORE.search(before)
    return _ZH_UNITS[written.group("per_zh")] if written else None


def _unit(match: re.Match[str], folded: str) -> str | None:
    mass = match.group("mass").lower()
    mass = {"千克": "kg", "公斤": "kg", "克": "g", "吨": "t"}.get(mass, mass)
    mass = "kg" if mass.startswith("kilo") else "g" if mass.startswith("gram") else mass
    mass = "t" if mass.startswith("ton") else mass
    per = _declared(match, folded)
    if per is None:
        if not match.group("co2"):
            return None  # "不高于1.8吨": a quantity of what, per what?
        per = "unit"  # "350 kgCO2e" is per product
    try:
        # parse_unit knows the spellings (case, tonne, ton, piece, item).
        return str(parse_unit(f"{mass}CO2e/{per}"))
    except UnknownUnitError:
        return None  # "2 tCO2e per year" is not a product's footprint


def _clause_before(folded: str, position: int, *, reach: int = 60) -> str:
    before = folded[max(0, position - reach) : position]
    ends = list(_CLAUSE_END.finditer(before))
    return before[ends[-1].end() :] if ends else before


def _is_ceiling(match: re.Match[str], folded: str) -> bool:
    before = folded[max(0, match.start() - 40) : match.start()]
    bound = _BOUND_BEFORE.search(before)
    if bound is not None and _FLOOR.search(before[max(0, bound.start() - 4) : bound.end()]):
        bound = None
    after = folded[match.end() : match.end() + 20]
    if bound is None and not _BOUND_AFTER.search(after):
        return False
    # Emission words make the quantity a footprint; a bare mass ("1.8吨/吨") only within a footprint clause.
    return bool(match.group("co2")) or bool(_FOOTPRINT_WORDS.search(_clause_before(folded, match.start())))


def _ceilings(folded: str) -> Iterable[tuple[re.Match[str], Ceiling]]:
    for match in _QUANTITY.finditer(folded):
        if not _is_ceiling(match, folded):
            continue
        unit = _unit(match, folded)
        if unit is None:
            continue
        written = match.group("value")
        number = (
            written.replace(",", ".")
            if re.fullmatch(r"[0-9]+,[0-9]{1,2}", written)
            else written.replace(",", "")
        )
        value = float(number)
        if not abs(value) <= MAX_FOOTPRINT_MAGNITUDE or (value == 0 and number.strip("0.")):
            # "under 10^309 kgCO2e" bounds nothing, and as a filter it would be beyond exact arithmetic;
            # "under 0.(400 zeros)1" is no zero ceiling, though it reads as one in floating point.
            continue
        yield match, Ceiling(value=value, unit=unit)


def find_ceiling(text: str) -> Ceiling | None:
    """The first footprint quantity the text states as an upper bound ("under 350 kgCO2e each")."""
    return next((ceiling for _, ceiling in _ceilings(fold(text))), None)


def _negated(folded: str, start: int, end: int) -> bool:
    before = _clause_before(folded, start, reach=24)
    after = folded[end : end + 24]
    return bool(_NEGATION_BEFORE.search(before) or _NEGATION_AFTER.search(after))


def _clause_around(folded: str, start: int, end: int) -> str:
    after = folded[end : end + 80]
    stop = _CLAUSE_END.search(after)
    return (
        _clause_before(folded, start, reach=80)
        + folded[start:end]
        + (after[: stop.start()] if stop else after)
    )


def _requires_verified(folded: str) -> bool:
    for match in _VERIFIED.finditer(folded):
        if _negated(folded, match.start(), match.end()) or _VERIFIER.match(folded, match.end()):
            continue
        if _SOFT.search(_clause_around(folded, match.start(), match.end())):
            continue
        return True
    return False


def _alliance(folded: str, codes: Iterable[str]) -> str | None:
    found: set[str] = set()
    for code in codes:
        pattern = re.compile(rf"(?<![A-Za-z0-9\-]){re.escape(code)}(?![A-Za-z0-9\-])", re.IGNORECASE)
        for match in pattern.finditer(folded):
            soft = _SOFT.search(_clause_around(folded, match.start(), match.end()))
            if not soft and not _negated(folded, match.start(), match.end()):
                found.add(code)
                break
    # Two alliances named cannot be one restriction: the buyer says which.
    return found.pop() if len(found) == 1 else None


def _region(folded: str) -> str | None:
    for match in _region_pattern().finditer(folded):
        clause = _clause_around(folded, match.start(), match.end())
        if _DESTINATION.search(clause) or not _PREFERENCE.search(clause):
            continue
        if _negated(folded, match.start(), match.end()):
            continue
        region = find(match.group(0))
        return region.code if region else None
    return None


def read_constraints(text: str, *, alliances: Iterable[str] = ()) -> WrittenConstraints:
    """The constraints a need's or a search's text states; `alliances` are the codes the platform knows."""
    folded = fold(text)
    ceiling = next((ceiling for _, ceiling in _ceilings(folded)), None)
    return WrittenConstraints(
        ceiling=ceiling,
        require_verified=_requires_verified(folded),
        alliance=_alliance(folded, alliances),
        region=_region(folded),
    )


def without_quantities(text: str) -> str:
    """The text with its footprint quantities and the words that introduce them taken out."""
    folded = fold(text)
    stripped = text
    for match in reversed(list(_QUANTITY.finditer(folded))):
        if not match.group("co2") and not _is_ceiling(match, folded):
            continue  # "年需求2000吨" says what is bought; only footprints are taken out
        start, end = match.start(), match.end()
        bound = _BOUND_BEFORE.search(folded[max(0, start - 40) : start])
        if bound:
            start = max(0, start - 40) + bound.start()
        after = _BOUND_AFTER.search(folded[end : end + 20])
        if after:
            end += after.end()
        clause = _CLAUSE_WORDS.search(folded[max(0, start - 30) : start])
        if clause and clause.end() == min(start, 30):
            start = max(0, start - 30) + clause.start()
        stripped = stripped[:start] + " " + stripped[end:]
    return re.sub(r"\s{2,}", " ", stripped).strip(" ,，;；")
