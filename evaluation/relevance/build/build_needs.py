"""Build needs.jsonl, need_tags.tsv and empty_notes.tsv from needs_table.py (run after build_catalogue.py).

    .venv/bin/python evaluation/relevance/build/build_needs.py

About half the needs carry hard filters or a region preference. Those written in the table keep theirs; a
seeded share of the others gets one more (stated in the text too, in wording that varies), but only where at
least a few offers of the need's category would still pass it, so no need becomes empty by accident.
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE.parent
sys.path.insert(0, str(HERE))
from dataset import load_scorer  # noqa: E402
from needs_table import BUYERS, NEEDS, Need  # noqa: E402

SEED = 12
FULLWIDTH = re.compile(r"[\uff10-\uff19\uff0e]")
MIN_PASSING = 4

ADDED = {
    "verified": {
        "zh": ["须提供第三方核查的碳足迹。", "仅接受经第三方核查的产品碳足迹。", "碳足迹须经独立机构核查。"],
        "en": [
            "Third-party verified footprints only.",
            "The PCF must be independently verified.",
            "We only accept verified carbon footprints.",
        ],
    },
    "CN100": {
        "zh": ["供应商须为CN100联盟成员。", "限CN100成员单位参与。"],
        "en": ["Suppliers must be CN100 members.", "Open to CN100 alliance members only."],
    },
    "YRD-LCA": {
        "zh": ["仅限YRD-LCA联盟成员。"],
        "en": ["YRD-LCA members only."],
    },
    "Yangtze River Delta": {
        "zh": ["优先长三角地区供应商。", "长三角本地供应优先。"],
        "en": ["Suppliers in the Yangtze River Delta preferred.", "Preference for YRD-based suppliers."],
    },
    "China": {
        "zh": ["优先国内供应商。"],
        "en": ["Domestic (China) suppliers preferred.", "We prefer suppliers based in China."],
    },
}


def record(number: int, need: Need) -> dict[str, Any]:
    zh_buyer, en_buyer = BUYERS[need.buyer]
    value, unit = need.ceiling if need.ceiling else (None, None)
    return {
        "id": f"r{number:03d}",
        "buyer": zh_buyer if need.language == "zh" else en_buyer,
        "text": need.text,
        "language": need.language,
        "category": need.category,
        "max_pcf": value,
        "max_pcf_unit": unit,
        "require_verified": need.verified,
        "alliance_only": need.alliance,
        "region_preference": need.region,
    }


def filtered(need: dict[str, Any]) -> bool:
    return bool(
        need["max_pcf"] is not None
        or need["require_verified"]
        or need["alliance_only"]
        or need["region_preference"]
    )


def passing(scorer: ModuleType, need: dict[str, Any], offers: list[dict[str, Any]]) -> int:
    same = [offer for offer in offers if offer["category"] == need["category"]]
    return sum(1 for offer in same if not scorer.filter_failures(offer, need))


def add_filter(
    rng: random.Random, scorer: ModuleType, need: dict[str, Any], offers: list[dict[str, Any]]
) -> str:
    """Give the need one more filter or preference, stated in its text; returns its tag, or "" for none."""
    for kind in rng.sample(["verified", "CN100", "Yangtze River Delta", "China", "YRD-LCA"], 5):
        trial = dict(need)
        if kind == "verified":
            trial["require_verified"] = True
        elif kind in ("CN100", "YRD-LCA"):
            trial["alliance_only"] = kind
        else:
            trial["region_preference"] = kind
        if kind in ("verified", "CN100", "YRD-LCA") and passing(scorer, trial, offers) < MIN_PASSING:
            continue
        sentence = rng.choice(ADDED[kind][need["language"]])
        sep = "" if need["language"] == "zh" else " "
        trial["text"] = need["text"].rstrip() + sep + sentence
        need.update(trial)
        return {"verified": "verified", "CN100": "alliance", "YRD-LCA": "alliance"}.get(kind, "region")
    return ""


def computed_tags(need: dict[str, Any], offers: list[dict[str, Any]], scorer: ModuleType) -> set[str]:
    tags: set[str] = set()
    text = need["text"]
    if need["alliance_only"]:
        tags.add("alliance")
    if need["require_verified"]:
        tags.add("verified")
    if need["region_preference"]:
        tags.add("region")
    if need["max_pcf"] is not None:
        tags.add("ceiling")
        units = Counter(o["pcf_unit"] for o in offers if o["category"] == need["category"] and o["pcf_unit"])
        family = scorer.parse_unit(need["max_pcf_unit"])[0]
        same_family = [u for u in units if scorer.parse_unit(u)[0] == family]
        if any(u != need["max_pcf_unit"] for u in same_family):
            tags.add("unit_conversion")
    if FULLWIDTH.search(text):
        tags.add("fullwidth")
    # Units, alliances and grades are written in Latin letters in any Chinese text: they do not make it mixed.
    plain = re.sub(r"[A-Za-z]*CO[2₂][A-Za-z0-9/-]*|CN100|YRD-LCA|MPa|kWh|MWh|MWp|kWp", " ", text)
    latin = len(re.findall(r"[A-Za-z]{3,}", plain))
    if (
        need["language"] == "zh"
        and latin >= 3
        or need["language"] == "en"
        and re.search(r"[\u4e00-\u9fff]", text)
    ):
        tags.add("mixed_script")
    if len(text) > (120 if need["language"] == "zh" else 300):
        tags.add("long_text")
    return tags


def main() -> None:
    scorer = load_scorer()
    offers = [json.loads(line) for line in (OUT / "offers.jsonl").read_text("utf-8").splitlines() if line]
    rng = random.Random(SEED)
    needs, tags, notes = [], {}, []
    for number, row in enumerate(NEEDS, 1):
        need = record(number, row)
        extra = ""
        general = "general_catalogue" in row.tags
        if not filtered(need) and not general and rng.random() < 0.45:
            extra = add_filter(rng, scorer, need, offers)
        need_tags = {tag for tag in row.tags.split(",") if tag} | computed_tags(need, offers, scorer)
        if extra:
            need_tags.add(extra)
        if row.empty_because:
            need_tags.add("empty_expected")
            notes.append((need["id"], row.empty_because))
        needs.append(need)
        tags[need["id"]] = sorted(need_tags)
    with (OUT / "needs.jsonl").open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(need, ensure_ascii=False) + "\n" for need in needs)
    with (OUT / "need_tags.tsv").open("w", encoding="utf-8") as handle:
        handle.write("need_id\ttags\n")
        handle.writelines(f"{nid}\t{','.join(t)}\n" for nid, t in tags.items())
    with (OUT / "empty_notes.tsv").open("w", encoding="utf-8") as handle:
        handle.write("need_id\twhy_the_right_answer_is_empty\n")
        handle.writelines(f"{nid}\t{why}\n" for nid, why in notes)
    languages = Counter(need["language"] for need in needs)
    with_filters = sum(1 for need in needs if filtered(need))
    print(
        f"{len(needs)} needs {dict(languages)}; {with_filters} with filters or a region; "
        f"{len(notes)} empty by product"
    )


if __name__ == "__main__":
    main()
