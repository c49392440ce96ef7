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


# How texts name regions, in both languages, to the name a preference is stored under (a group's or the
# region's own): what a need's text may state as its preferred region.
_ZH_REGION_NAMES = {
    "上海": "Shanghai", "江苏": "Jiangsu", "浙江": "Zhejiang", "安徽": "Anhui", "北京": "Beijing",
    "天津": "Tianjin", "河北": "Hebei", "山西": "Shanxi", "内蒙古": "Inner Mongolia", "辽宁": "Liaoning",
    "吉林": "Jilin", "黑龙江": "Heilongjiang", "福建": "Fujian", "江西": "Jiangxi", "山东": "Shandong",
    "河南": "Henan", "湖北": "Hubei", "湖南": "Hunan", "广东": "Guangdong", "广西": "Guangxi",
    "海南": "Hainan", "重庆": "Chongqing", "四川": "Sichuan", "贵州": "Guizhou", "云南": "Yunnan",
    "西藏": "Tibet", "陕西": "Shaanxi", "甘肃": "Gansu", "青海": "Qinghai", "宁夏": "Ningxia",
    "新疆": "Xinjiang", "香港": "Hong Kong", "澳门": "Macau", "台湾": "Taiwan", "中国": "China",
    "国内": "China", "长三角": "Yangtze River Delta", "长江三角洲": "Yangtze River Delta", "欧洲": "Europe",
    "欧盟": "Europe", "德国": "Germany", "法国": "France", "意大利": "Italy", "西班牙": "Spain",
    "荷兰": "Netherlands", "瑞典": "Sweden", "挪威": "Norway", "芬兰": "Finland", "丹麦": "Denmark",
    "波兰": "Poland", "奥地利": "Austria", "比利时": "Belgium", "英国": "United Kingdom",
    "瑞士": "Switzerland",
}  # fmt: skip
REGION_NAMES: dict[str, str] = {
    **{region: region for region in CHINA | EUROPE},
    "Yangtze River Delta": "Yangtze River Delta",
    "YRD": "Yangtze River Delta",
    "Chinese": "China",
    "European": "Europe",
    "EU": "Europe",
    "UK": "United Kingdom",
    **_ZH_REGION_NAMES,
}
