"""One bilingual list of regions, used by every form, filter, import and the PACT mapping.

A region is stored as a code: ISO 3166-1 alpha-2 for a country (`DE`, `US`; Hong Kong, Macau and Taiwan
`HK`, `MO`, `TW`), ISO 3166-2 for a province, municipality or autonomous region of mainland China
(`CN-JS`), and a short code of our own for a group (`YRD` the Yangtze River Delta, `BTH` Beijing-Tianjin-
Hebei, `GBA` the Greater Bay Area, `EU`, `EUROPE`, the UN M49 world regions, `WORLD`). Any of its names
finds it, in either language and any case or spacing: 江苏 / 江苏省 / Jiangsu / jiangsu province / CN-JS are
one region. It is shown in the page's language. A country covers its provinces and a group its members,
so a preference for China is met by an offer in Jiangsu, and a filter for 长三角 keeps offers in Shanghai.

The countries come from ISO 3166 (`pycountry`, with its Chinese translations), each under its common
English name; the Chinese short forms of the few that ISO names at length (大韩民国 -> 韩国) are ours.
"""

from __future__ import annotations

import difflib
import gettext
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import pycountry

Code = str


@dataclass(frozen=True, slots=True)
class Region:
    """One region: its code, its names, and the regions it covers besides itself (by code)."""

    code: Code
    english: str
    chinese: str
    covers: frozenset[Code] = frozenset()

    def name(self, language: str) -> str:
        return self.chinese if language == "zh" else self.english


# Mainland China's provinces, municipalities and autonomous regions: code, English, Chinese (short forms;
# ISO's full forms, 江苏省 and Jiangsu Sheng, are names too), and other spellings.
_MAINLAND = (
    ("CN-BJ", "Beijing", "北京", ()), ("CN-TJ", "Tianjin", "天津", ()), ("CN-HE", "Hebei", "河北", ()),
    ("CN-SX", "Shanxi", "山西", ()), ("CN-NM", "Inner Mongolia", "内蒙古", ("Nei Mongol", "Neimenggu")),
    ("CN-LN", "Liaoning", "辽宁", ()), ("CN-JL", "Jilin", "吉林", ()),
    ("CN-HL", "Heilongjiang", "黑龙江", ()), ("CN-SH", "Shanghai", "上海", ()),
    ("CN-JS", "Jiangsu", "江苏", ()), ("CN-ZJ", "Zhejiang", "浙江", ()), ("CN-AH", "Anhui", "安徽", ()),
    ("CN-FJ", "Fujian", "福建", ()), ("CN-JX", "Jiangxi", "江西", ()), ("CN-SD", "Shandong", "山东", ()),
    ("CN-HA", "Henan", "河南", ()), ("CN-HB", "Hubei", "湖北", ()), ("CN-HN", "Hunan", "湖南", ()),
    ("CN-GD", "Guangdong", "广东", ()), ("CN-GX", "Guangxi", "广西", ()), ("CN-HI", "Hainan", "海南", ()),
    ("CN-CQ", "Chongqing", "重庆", ()), ("CN-SC", "Sichuan", "四川", ()), ("CN-GZ", "Guizhou", "贵州", ()),
    ("CN-YN", "Yunnan", "云南", ()), ("CN-XZ", "Tibet", "西藏", ("Xizang",)),
    ("CN-SN", "Shaanxi", "陕西", ()), ("CN-GS", "Gansu", "甘肃", ()), ("CN-QH", "Qinghai", "青海", ()),
    ("CN-NX", "Ningxia", "宁夏", ()), ("CN-XJ", "Xinjiang", "新疆", ()),
)  # fmt: skip
# Countries named at length by ISO (or in its Chinese translation): the names shown instead.
_SHOWN = {
    "BO": ("Bolivia", "玻利维亚"), "CN": ("China", "中国"), "GB": ("United Kingdom", "英国"),
    "HK": ("Hong Kong", "香港"), "IR": ("Iran", "伊朗"), "KP": ("North Korea", "朝鲜"),
    "KR": ("South Korea", "韩国"), "LA": ("Laos", "老挝"), "MD": ("Moldova", "摩尔多瓦"),
    "MO": ("Macau", "澳门"), "RU": ("Russia", "俄罗斯"), "SY": ("Syria", "叙利亚"),
    "TW": ("Taiwan", "台湾"), "TZ": ("Tanzania", "坦桑尼亚"), "US": ("United States", "美国"),
    "VE": ("Venezuela", "委内瑞拉"), "VN": ("Vietnam", "越南"), "CZ": ("Czechia", "捷克"),
    "TR": ("Türkiye", "土耳其"), "NL": ("Netherlands", "荷兰"),
}  # fmt: skip
# Other names people write for a region.
_ALIASES = {
    "CN": ("PRC", "Mainland China", "Chinese", "中国大陆", "国内", "内地", "中华人民共和国"),
    "US": ("USA", "U.S.A.", "U.S.", "United States of America", "美利坚合众国"),
    "GB": ("UK", "U.K.", "Britain", "Great Britain", "England", "大不列颠"),
    "KR": ("Korea", "Republic of Korea", "南韩"), "HK": ("CN-HK", "Hong Kong SAR"),
    "MO": ("CN-MO", "Macao", "Macau SAR"), "TW": ("CN-TW",), "AE": ("UAE",), "NL": ("Holland",),
    "TR": ("Turkey", "Turkiye"), "CZ": ("Czech Republic",), "CI": ("Ivory Coast",), "RU": ("俄罗斯联邦",),
    "YRD": ("Yangtze River Delta", "长江三角洲", "长三角地区"), "BTH": ("Jing-Jin-Ji", "Jingjinji"),
    "GBA": ("Greater Bay Area", "大湾区", "粤港澳"), "EU": ("European Union", "欧洲联盟"),
    "EUROPE": ("European",), "WORLD": ("Global", "Worldwide", "World", "RoW", "全世界", "世界", "全球各地"),
    "M49-021": ("North America", "北美洲"), "M49-419": ("Latin America", "South America", "南美", "拉美"),
}  # fmt: skip
# Codes a spreadsheet writes for "none": never taken as Namibia's.
_NOT_CODES = frozenset({"NA"})
_EU = (
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT",
    "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
)  # fmt: skip
_EUROPE = (
    *_EU, "AL", "AD", "BA", "BY", "CH", "FO", "GB", "GI", "IS", "LI", "MC", "MD", "ME", "MK", "NO", "RS",
    "SM", "UA", "VA",
)  # fmt: skip
# Groups: code, English, Chinese, members. Those of the UN M49 world regions PACT names
# (geographyRegionOrSubregion) have no members listed: each covers itself only.
_GROUPS = (
    ("YRD", "Yangtze River Delta", "长三角", ("CN-SH", "CN-JS", "CN-ZJ", "CN-AH")),
    ("BTH", "Beijing-Tianjin-Hebei", "京津冀", ("CN-BJ", "CN-TJ", "CN-HE")),
    ("GBA", "Guangdong-Hong Kong-Macao Greater Bay Area", "粤港澳大湾区", ("CN-GD", "HK", "MO")),
    ("EU", "European Union", "欧盟", _EU),
    ("EUROPE", "Europe", "欧洲", _EUROPE),
    ("M49-002", "Africa", "非洲", ()), ("M49-019", "Americas", "美洲", ()), ("M49-142", "Asia", "亚洲", ()),
    ("M49-009", "Oceania", "大洋洲", ()), ("M49-053", "Australia and New Zealand", "澳大利亚和新西兰", ()),
    ("M49-143", "Central Asia", "中亚", ()), ("M49-030", "Eastern Asia", "东亚", ()),
    ("M49-151", "Eastern Europe", "东欧", ()),
    ("M49-419", "Latin America and the Caribbean", "拉丁美洲和加勒比", ()),
    ("M49-054", "Melanesia", "美拉尼西亚", ()), ("M49-057", "Micronesia", "密克罗尼西亚地区", ()),
    ("M49-015", "Northern Africa", "北非", ()), ("M49-021", "Northern America", "北美", ()),
    ("M49-154", "Northern Europe", "北欧", ()), ("M49-061", "Polynesia", "波利尼西亚", ()),
    ("M49-035", "South-eastern Asia", "东南亚", ()), ("M49-034", "Southern Asia", "南亚", ()),
    ("M49-039", "Southern Europe", "南欧", ()), ("M49-202", "Sub-Saharan Africa", "撒哈拉以南非洲", ()),
    ("M49-145", "Western Asia", "西亚", ()), ("M49-155", "Western Europe", "西欧", ()),
    ("WORLD", "World", "全球", ()),
)  # fmt: skip
# Words around a name that do not change the region: "Jiangsu Province", "上海市", "Hong Kong SAR".
_SUFFIXES = re.compile(
    r"(特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区|省|市|地区|"
    r"specialadministrativeregion|autonomousregion|municipality|province|sheng|shi|zizhiqu|city|sar)$"
)
_IGNORED = re.compile(r"[\s\-_.,'’()（）·]+")


class UnknownRegion(ValueError):
    """A name no region has; `suggestions` are the closest regions' names."""

    def __init__(self, text: str, suggestions: list[Region]) -> None:
        self.text = text
        self.suggestions = suggestions
        hint = "; did you mean " + " or ".join(r.english for r in suggestions) + "?" if suggestions else ""
        super().__init__(f"unknown region {text!r}{hint}")


def _key(text: str) -> str:
    """A name folded for lookup: width and case folded, spaces and punctuation dropped."""
    return _IGNORED.sub("", unicodedata.normalize("NFKC", text).casefold())


@dataclass(frozen=True, slots=True)
class _Catalogue:
    regions: dict[Code, Region]
    by_key: dict[str, Code]  # names and aliases, folded
    by_code: dict[str, Code]  # codes (CN-JS, DE, DEU, YRD), written in capitals: "no" is not Norway


@cache
def _catalogue() -> _Catalogue:
    regions: dict[Code, Region] = {}
    names: dict[Code, list[str]] = {}
    codes: dict[str, Code] = {}

    def add(
        code: Code, english: str, chinese: str, others: Iterable[str], members: Iterable[Code] = ()
    ) -> None:
        regions[code] = Region(code, english, chinese, frozenset(members))
        names[code] = [english, chinese, *others, *_ALIASES.get(code, ())]
        codes[code] = code

    chinese_countries = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"])
    for country in pycountry.countries:
        iso_names = [country.name, getattr(country, "official_name", ""), getattr(country, "common_name", "")]
        translated = chinese_countries.gettext(country.name)
        english, chinese = _SHOWN.get(country.alpha_2, (iso_names[2] or country.name, translated))
        add(country.alpha_2, english, chinese, [translated, *filter(None, iso_names)])
        codes[country.alpha_3] = country.alpha_2
    chinese_subdivisions = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["zh_CN"])
    for code, english, chinese, others in _MAINLAND:
        subdivision = pycountry.subdivisions.get(code=code)  # type: ignore[no-untyped-call]
        iso = [subdivision.name, chinese_subdivisions.gettext(subdivision.name)] if subdivision else []
        add(code, english, chinese, [*others, *iso])
    china = regions["CN"]  # as before the list: the mainland, Hong Kong, Macau and Taiwan
    mainland = frozenset(code for code, *_ in _MAINLAND)
    regions["CN"] = Region("CN", china.english, china.chinese, mainland | {"HK", "MO", "TW"})
    for code, english, chinese, members in _GROUPS:
        add(code, english, chinese, (), members)
    regions["WORLD"] = Region("WORLD", "World", "全球", frozenset(regions) - {"WORLD"})  # everywhere
    # A group covers what its members cover (Europe's countries; the Greater Bay Area's Guangdong).
    for code, region in list(regions.items()):
        covered = set(region.covers)
        for member in region.covers:
            covered |= regions[member].covers
        regions[code] = Region(code, region.english, region.chinese, frozenset(covered))
    by_key: dict[str, Code] = {}
    claiming = [*mainland, *(code for code, *_ in _GROUPS), *(c.alpha_2 for c in pycountry.countries)]
    for code in claiming:  # the first to claim a name keeps it: China's provinces, then groups
        for name in names[code]:
            if re.fullmatch(r"[A-Z]{2}-[A-Z]{2}", name):  # CN-HK: a code for Hong Kong
                codes[name] = code
            else:
                by_key.setdefault(_key(name), code)
    by_code = {written: code for written, code in codes.items() if written not in _NOT_CODES}
    return _Catalogue(regions, by_key, by_code)


@cache
def written_names() -> frozenset[str]:
    """The names a text may call a region by (its names and aliases, not its codes): what a need's text
    may state as its preferred region ("we prefer suppliers in Jiangsu", "优先长三角供应商")."""
    regions = _catalogue().regions
    # "Global" and 世界 in a text are about a supplier's reach ("世界500强"), not a region it prefers.
    named = [region for region in regions.values() if region.code != "WORLD"]
    names = {name for region in named for name in (region.english, region.chinese)}
    names |= {alias for code, aliases in _ALIASES.items() for alias in aliases if code != "WORLD"}
    names |= {alias for _, _, _, aliases in _MAINLAND for alias in aliases}
    return frozenset(name for name in names if not re.fullmatch(r"[A-Z]{2}-[A-Z]{2}", name))


def every_region() -> list[Region]:
    """Every region: mainland China's first, then groups, then countries (China first among them)."""
    regions = _catalogue().regions
    ordered = [code for code, *_ in _MAINLAND] + ["HK", "MO", "TW", "CN"] + [code for code, *_ in _GROUPS]
    rest = sorted((code for code in regions if code not in ordered), key=lambda code: regions[code].english)
    return [regions[code] for code in ordered + rest]


def find(text: str | None) -> Region | None:
    """The region a name, alias or code names (None if none does). Of a list of places ("Suzhou, Jiangsu,
    China"; "Georgia, USA") the most precise one within the widest: Jiangsu; the United States."""
    if text is None:
        return None
    whole = _one(text)
    if whole is not None:
        return whole
    parts = [found for found in map(_one, _PLACES.split(unicodedata.normalize("NFKC", text))) if found]
    if not parts:
        return None
    widest = covered_by(parts[-1].code)
    return next(part for part in parts if part.code in widest)


_PLACES = re.compile(r"[,、;]")
_CHINESE_FORMS = re.compile(r"CN-\w\w|HK|MO|TW")


def _one(text: str) -> Region | None:
    catalogue = _catalogue()
    code = catalogue.by_code.get(text.strip())
    key = _key(text)
    code = code or catalogue.by_key.get(key)
    if code is None:  # 上海市, Jiangsu Province: the suffixes of China's own divisions
        stripped = catalogue.by_key.get(_SUFFIXES.sub("", key))
        code = stripped if stripped and _CHINESE_FORMS.fullmatch(stripped) else None
    return catalogue.regions[code] if code else None


def region_code(text: str) -> Code:
    """The code of the region a name names; UnknownRegion, with the closest names, if none does."""
    region = find(text)
    if region is None:
        raise UnknownRegion(text, suggestions(text))
    return region.code


def suggestions(text: str, limit: int = 3) -> list[Region]:
    """The regions whose names are closest to a text that names none."""
    catalogue = _catalogue()
    key = _key(text)
    close = difflib.get_close_matches(key, catalogue.by_key, n=limit * 3, cutoff=0.6)
    # 江苏南京 names 江苏; a short Latin name ("na", "ge") inside a word names nothing.
    close += [name for name in catalogue.by_key if name in key and (len(name) > 3 or not name.isascii())]
    found: list[Region] = []
    for name in close:
        region = catalogue.regions[catalogue.by_key[name]]
        if region not in found:
            found.append(region)
    return found[:limit]


def region_named(code: Code | None) -> Region | None:
    """The region of a stored code (None for none, or for a value stored before the list, kept as text)."""
    return None if code is None else _catalogue().regions.get(code) or find(code)


def code_of(value: str | None) -> str | None:
    """A stored region's code, also for one written by name before the list (kept as written if no
    region has it)."""
    region = region_named(value)
    return region.code if region else value


def display_name(value: str | None, language: str) -> str | None:
    """A stored region in a language; a value no region has (stored before the list) as it was written."""
    if value is None:
        return None
    region = region_named(value)
    return region.name(language) if region else value


def english_name(value: str | None) -> str | None:
    """A stored region's English name, as the API and the exchange format write it."""
    return display_name(value, "en")


def covered_by(preference: Code) -> frozenset[Code]:
    """The regions a preference or filter is met by: itself and what it covers."""
    region = region_named(preference)
    if region is None:
        return frozenset({preference})
    return region.covers | {region.code}


def covered_by_any(preferences: Iterable[Code]) -> frozenset[Code]:
    """The regions any of the preferences or filters is met by."""
    return frozenset().union(*map(covered_by, preferences))


def in_region(preference: Code | None, region: Code | None) -> bool:
    """Whether an offer's region meets a preference (no preference is met by anything)."""
    if preference is None:
        return True
    return region is not None and code_of(region) in covered_by(preference)
