"""A hard filter's verdict in the page's language, phrased from its reason code and values (checks.json).

The API's `detail` is English; the pages phrase the same verdict themselves, and fall back to `detail` for a
reason they have no words for yet, so a new reason code never breaks a page.
"""

from __future__ import annotations

from matchmaker.matching.schemas import FilterResult
from matchmaker.regions import display_name
from matchmaker.web.i18n import Translator, catalogue

# Filters whose values are slugs with names of their own in the catalogue (`category.steel`, `kind.product`).
_NAMED_FILTERS = frozenset({"category", "kind", "region"})


def describe_check(t: Translator, check: FilterResult) -> str:
    """The check's verdict as a sentence in the translator's language."""
    key = f"check.{check.reason}"
    if key not in catalogue():
        return check.detail
    values = {**check.values, **_phrased_values(t, check)}
    try:
        return t(key, **values)
    except (KeyError, IndexError):
        # The message wants a value this check does not carry: the English words beat a broken sentence.
        return check.detail


def _phrased_values(t: Translator, check: FilterResult) -> dict[str, str]:
    """Values made readable: slugs named, families translated, a footprint written once when units agree."""
    values = check.values
    phrased: dict[str, str] = {}
    if "stated_value" in values and "value" in values:
        stated = f"{values['stated_value']} {values['stated_unit']}"
        converted = f"{values['value']} {values['unit']}"
        phrased["footprint"] = (
            stated if values["stated_unit"] == values["unit"] else f"{stated} = {converted}"
        )
    for family in ("stated_family", "family"):
        if family in values:
            phrased[family] = _named(t, "check.family", values[family])
    prefix = check.filter if check.filter in _NAMED_FILTERS else None
    if "value" in values and check.reason.startswith("listed."):
        phrased["value"] = _named(t, prefix, values["value"]) if values["value"] else t("check.none")
    if "wanted" in values:
        wanted = [w for w in values["wanted"].split(", ") if w]
        phrased["wanted"] = t("check.separator").join(_named(t, prefix, w) for w in wanted)
    return phrased


def _named(t: Translator, prefix: str | None, slug: str) -> str:
    """A slug's name in the catalogue (`category.steel` → 钢铁), a region's in the page's language (Jiangsu
    → 江苏), else the slug itself (new slugs)."""
    if prefix == "region":
        return display_name(slug, t.language) or slug
    if prefix is None or f"{prefix}.{slug}" not in catalogue():
        return slug
    return t(f"{prefix}.{slug}")
