"""Region preferences: a named group (Yangtze River Delta, China, Europe) or one exact region."""

from __future__ import annotations

YANGTZE_RIVER_DELTA = frozenset({"Shanghai", "Jiangsu", "Zhejiang", "Anhui"})
CHINA = YANGTZE_RIVER_DELTA | frozenset(
    {
        "Beijing", "Tianjin", "Hebei", "Shanxi", "Inner Mongolia", "Liaoning", "Jilin", "Heilongjiang",
        "Fujian", "Jiangxi", "Shandong", "Henan", "Hubei", "Hunan", "Guangdong", "Guangxi", "Hainan",
        "Chongqing", "Sichuan", "Guizhou", "Yunnan", "Tibet", "Shaanxi", "Gansu", "Qinghai", "Ningxia",
        "Xinjiang", "Hong Kong", "Macau", "Taiwan", "China",
    }
)  # fmt: skip
EUROPE = frozenset(
    {
        "Austria", "Belgium", "Bulgaria", "Croatia", "Cyprus", "Czechia", "Czech Republic", "Denmark",
        "Estonia", "Finland", "France", "Germany", "Greece", "Hungary", "Iceland", "Ireland", "Italy",
        "Latvia", "Lithuania", "Luxembourg", "Malta", "Netherlands", "Norway", "Poland", "Portugal",
        "Romania", "Slovakia", "Slovenia", "Spain", "Sweden", "Switzerland", "United Kingdom", "Europe",
    }
)  # fmt: skip
REGION_GROUPS: dict[str, frozenset[str]] = {
    "yangtze river delta": YANGTZE_RIVER_DELTA,
    "yrd": YANGTZE_RIVER_DELTA,
    "长三角": YANGTZE_RIVER_DELTA,
    "china": CHINA,
    "中国": CHINA,
    "europe": EUROPE,
    "欧洲": EUROPE,
}


def regions_for(preference: str) -> frozenset[str]:
    """The regions a preference names: a group's members, or the region itself."""
    return REGION_GROUPS.get(preference.strip().lower(), frozenset({preference.strip()}))


def in_region(preference: str | None, region: str | None) -> bool:
    """Whether a region satisfies a preference (no preference is satisfied by anything)."""
    if preference is None:
        return True
    if region is None:
        return False
    members = regions_for(preference)
    return region in members or region.lower() in {member.lower() for member in members}
