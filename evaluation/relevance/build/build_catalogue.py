"""Build offers.jsonl: eval-dev's offers, the Carbon Catalogue, the demo offers and the written ones (w001..).

Run from the repository root with the service's virtualenv (it reuses the package's Carbon Catalogue mapping):
    .venv/bin/python evaluation/relevance/build/build_catalogue.py
Deterministic (fixed seed): running it again writes the same files.
"""

from __future__ import annotations

import csv
import json
import random
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE.parent
ROOT = OUT.parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from products import ABSENT_WORDS, PRODUCTS, Product  # noqa: E402

from matchmaker.imports.carbon_catalogue import map_row  # noqa: E402

SEED = 20261206
PAIRED_TYPES = 46  # product types listed twice, once in each language, by the same supplier

CN_REGIONS = [
    ("Jiangsu", "江苏", 8),
    ("Zhejiang", "浙江", 5),
    ("Shanghai", "上海", 4),
    ("Anhui", "安徽", 3),
    ("Guangdong", "广东", 5),
    ("Shandong", "山东", 4),
    ("Hebei", "河北", 3),
    ("Inner Mongolia", "内蒙古", 2),
    ("Sichuan", "四川", 2),
    ("Yunnan", "云南", 1),
    ("Fujian", "福建", 2),
    ("Hubei", "湖北", 2),
    ("Liaoning", "辽宁", 1),
    ("Xinjiang", "新疆", 1),
    ("Ningxia", "宁夏", 1),
    ("Henan", "河南", 1),
    ("Tianjin", "天津", 1),
    ("Beijing", "北京", 1),
    ("Shaanxi", "陕西", 1),
    ("Hunan", "湖南", 1),
]
YRD = {"Jiangsu", "Zhejiang", "Shanghai", "Anhui"}
ABROAD = [
    ("Germany", 4),
    ("Netherlands", 2),
    ("Sweden", 2),
    ("Denmark", 1),
    ("Finland", 1),
    ("Norway", 1),
    ("Spain", 1),
    ("Italy", 1),
    ("Austria", 1),
    ("Singapore", 1),
    ("South Korea", 1),
    ("Japan", 1),
]
ZH_BRANDS = [
    "恒拓",
    "宏晟",
    "中联",
    "华瑞",
    "金能",
    "海川",
    "鼎盛",
    "远航",
    "新源",
    "博达",
    "绿能",
    "天合",
    "泰丰",
    "瑞泽",
    "嘉禾",
    "东煦",
    "汇通",
    "青岩",
    "星辉",
    "润邦",
    "凯越",
    "昊宇",
    "德润",
    "清源",
    "华驰",
    "永晟",
    "安泰",
    "卓越",
    "蓝湾",
    "长风",
]
ZH_PINYIN = [
    "Hengtuo",
    "Hongsheng",
    "Zhonglian",
    "Huarui",
    "Jinneng",
    "Haichuan",
    "Dingsheng",
    "Yuanhang",
    "Xinyuan",
    "Boda",
    "Lvneng",
    "Tianhe",
    "Taifeng",
    "Ruize",
    "Jiahe",
    "Dongxu",
    "Huitong",
    "Qingyan",
    "Xinghui",
    "Runbang",
    "Kaiyue",
    "Haoyu",
    "Derun",
    "Qingyuan",
    "Huachi",
    "Yongsheng",
    "Antai",
    "Zhuoyue",
    "Lanwan",
    "Changfeng",
]
EU_BRANDS = [
    "Nordwerk",
    "Alvestra",
    "Kessling",
    "Veldmark",
    "Brunnhof",
    "Skarven",
    "Lindqvist",
    "Marisol",
    "Tervola",
    "Halvorsen",
    "Rheintal",
    "Duvenbeck",
    "Ostrava",
    "Falkenrath",
    "Solvang",
]
ZH_TRADE = {
    "steel": "特钢",
    "aluminium": "铝业",
    "cement_concrete": "建材",
    "hydrogen": "氢能",
    "ccus": "碳捕集技术",
    "energy_storage": "储能科技",
    "solar_pv": "光伏科技",
    "wind": "风电装备",
    "ev_logistics": "新能源物流",
    "green_fuels": "生物能源",
    "biobased_chemicals": "生物材料",
    "pesticide_formulation": "作物科技",
    "building_materials_insulation": "节能建材",
    "energy_management_software": "数字能源",
    "recycling": "再生资源",
    "industrial_electrification": "电气装备",
}
EN_TRADE = {
    "steel": "Special Steel",
    "aluminium": "Aluminium",
    "cement_concrete": "Building Materials",
    "hydrogen": "Hydrogen Energy",
    "ccus": "Carbon Capture",
    "energy_storage": "Energy Storage",
    "solar_pv": "Solar",
    "wind": "Wind Power Equipment",
    "ev_logistics": "New Energy Logistics",
    "green_fuels": "Bioenergy",
    "biobased_chemicals": "Biomaterials",
    "pesticide_formulation": "Crop Science",
    "building_materials_insulation": "Green Building Materials",
    "energy_management_software": "Digital Energy",
    "recycling": "Renewable Resources",
    "industrial_electrification": "Electrical Equipment",
}
EU_SUFFIX = [
    "GmbH",
    "AB",
    "B.V.",
    "A/S",
    "Oy",
    "AS",
    "S.L.",
    "S.p.A.",
    "GmbH",
    "Pte. Ltd.",
    "Co., Ltd.",
    "K.K.",
]
CERTS = {
    "steel": ["ResponsibleSteel", "ISO 14001", "EPD (EN 15804)"],
    "aluminium": ["ASI Performance", "ASI Chain of Custody"],
    "cement_concrete": ["EPD (EN 15804)", "绿色建材认证"],
    "hydrogen": ["TÜV SÜD Green Hydrogen", "中国氢能联盟低碳清洁氢认证"],
    "green_fuels": ["ISCC EU", "ISCC CORSIA", "RSB"],
    "biobased_chemicals": ["ISCC PLUS", "TÜV OK biobased"],
    "recycling": ["GRS", "RCS", "ISCC PLUS"],
    "solar_pv": ["IEC 61215", "法国碳足迹认证"],
    "building_materials_insulation": ["EPD (EN 15804)", "中国绿色建材三星"],
    "pesticide_formulation": ["ISO 9001"],
}
VERIFIERS = ["TÜV Rheinland", "SGS", "Bureau Veritas", "DNV", "中国质量认证中心", "CTI华测", "Intertek"]
STANDARDS = ["ISO 14067", "ISO 14067", "PAS 2050", "EN 15804", "GHG Protocol Product Standard"]


def pick_region(rng: random.Random, language: str) -> str:
    """Chinese listings come from Chinese provinces; English ones from China (exporters) or abroad."""
    if language == "en" and rng.random() < 0.35:
        return rng.choices([r for r, _ in ABROAD], [w for _, w in ABROAD])[0]
    return rng.choices([r for r, _, _ in CN_REGIONS], [w for _, _, w in CN_REGIONS])[0]


def supplier_name(rng: random.Random, category: str, region: str, language: str) -> str:
    zh_region = {r: z for r, z, _ in CN_REGIONS}.get(region)
    if zh_region is None:
        brand = rng.choice(EU_BRANDS)
        return f"{brand} {EN_TRADE[category]} {rng.choice(EU_SUFFIX)}"
    i = rng.randrange(len(ZH_BRANDS))
    if language == "zh":
        return f"{zh_region}{ZH_BRANDS[i]}{ZH_TRADE[category]}有限公司"
    return f"{region} {ZH_PINYIN[i]} {EN_TRADE[category]} Co., Ltd."


def round_pcf(value: float) -> float:
    """Two significant figures, as suppliers usually state them."""
    if value == 0:
        return 0.0
    magnitude = (
        10 ** (len(str(int(abs(value)))) - 2) if abs(value) >= 10 else 0.1 if abs(value) >= 1 else 0.01
    )
    return round(round(value / magnitude) * magnitude, 4)


def fmt(value: float) -> str:
    return f"{value:g}"


def to_fullwidth(text: str) -> str:
    return text.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789."})


def pcf_sentence(
    rng: random.Random,
    language: str,
    value: float | None,
    unit: str | None,
    verified: bool,
    standard: str | None,
) -> str:
    if value is None or unit is None:
        options = {
            "en": [
                "",
                "",
                "Footprint data available on request.",
                "A product carbon footprint is being prepared.",
            ],
            "zh": ["", "", "碳足迹数据可应要求提供。", "产品碳足迹核算进行中。"],
        }[language]
        return rng.choice(options)
    v, verifier = fmt(value), rng.choice(VERIFIERS)
    if language == "en":
        options = (
            [
                f"Third-party verified PCF: {v} {unit}.",
                f"Verified carbon footprint {v} {unit} ({standard}).",
                f"Cradle-to-gate footprint of {v} {unit}, verified by {verifier}.",
            ]
            if verified
            else [
                f"Self-declared PCF {v} {unit}, not yet verified.",
                f"Company-calculated footprint about {v} {unit}.",
                f"Estimated carbon footprint {v} {unit} (internal LCA, unverified).",
            ]
        )
    else:
        zh_v = to_fullwidth(v) if rng.random() < 0.06 else v
        options = (
            [
                f"经第三方核查碳足迹{zh_v} {unit}。",
                f"产品碳足迹{zh_v} {unit}，已由{verifier}核查。",
                f"依据{standard}核算并经核查，碳足迹为{zh_v} {unit}。",
            ]
            if verified
            else [
                f"企业自行测算碳足迹约{zh_v} {unit}，尚未核查。",
                f"碳足迹（自我声明）{zh_v} {unit}。",
                f"内部LCA估算碳足迹{zh_v} {unit}，未经第三方核查。",
            ]
        )
    return rng.choice(options)


EXTRAS = {
    "en": {
        "product": [
            "Minimum order one truckload.",
            "Samples available on request.",
            "Delivered from our {region} warehouse.",
            "Annual capacity sized for multi-year framework contracts.",
            "Mill test certificates with every lot.",
            "Export packing available.",
            "",
        ],
        "equipment": [
            "Installation, commissioning and operator training included.",
            "Two-year warranty.",
            "Reference installations available for site visits.",
            "",
        ],
        "service": [
            "Available across {region} and neighbouring provinces.",
            "Framework contracts from one year.",
            "Monthly reporting included.",
            "",
        ],
    },
    "zh": {
        "product": [
            "起订量一整车。",
            "可提供样品。",
            "{region}仓库发货。",
            "年产能充足，可签多年框架协议。",
            "每批附质保书。",
            "",
        ],
        "equipment": ["含安装调试及操作培训。", "质保两年。", "可安排参观已投运项目。", ""],
        "service": ["服务覆盖{region}及周边省份。", "可签一年期以上框架合同。", "含月度报告。", ""],
    },
}


LEADS = {
    "en": [
        "{name}, supplied to order.",
        "We offer {name} for industrial buyers.",
        "{name} from stock and to order.",
    ],
    "zh": ["供应{name}。", "本公司长期供应{name}，欢迎询价。", "{name}，现货及订制。"],
}


def spec_for(rng: random.Random, product: Product, language: str, title: str) -> str:
    """The product's specification, whole, cut to its first clause, or replaced by a plain lead line:
    suppliers of the same product do not describe it in the same words."""
    spec = product.en_spec if language == "en" else product.zh_spec
    style = rng.random()
    if style < 0.5:
        return spec
    if style < 0.8:
        cut = spec.split(", " if language == "en" else "，")[0].rstrip("。.")
        return cut + ("." if language == "en" else "。")
    name = title if language == "zh" else title[0].lower() + title[1:] if title[1:2].islower() else title
    lead = rng.choice(LEADS[language]).format(name=name)
    return lead[0].upper() + lead[1:]


def describe(rng: random.Random, product: Product, language: str, pcf: str, region: str, title: str) -> str:
    spec = spec_for(rng, product, language, title)
    bucket = (
        "service" if product.kind == "service" else "equipment" if product.role == "equipment" else "product"
    )
    zh_region = {r: z for r, z, _ in CN_REGIONS}.get(region, region)
    extra = rng.choice(EXTRAS[language][bucket]).format(region=region if language == "en" else zh_region)
    frame = rng.randrange(5)
    sep = " " if language == "en" else ""
    if frame == 0:
        parts = [spec, pcf]
    elif frame == 1:
        parts = [spec, extra, pcf]
    elif frame == 2:
        parts = [pcf, spec] if pcf else [spec, extra]
    elif frame == 3:
        parts = [spec]
    else:
        parts = [spec, pcf, extra]
    return sep.join(p for p in parts if p).strip()


def title_for(rng: random.Random, product: Product, language: str, index: int) -> str:
    names = (product.en if language == "en" else product.zh).split("|")
    title = names[index % len(names)]
    if rng.random() < 0.05:  # a few bilingual titles, as suppliers write them
        title = f"{title} / {(product.zh if language == 'en' else product.en).split('|')[0]}"
    return title


def written_offer(
    rng: random.Random,
    product: Product,
    *,
    language: str,
    index: int,
    region: str,
    supplier: str,
    facts: dict[str, Any],
) -> dict[str, Any]:
    value, verified, standard = facts["pcf_value"], facts["pcf_verified"], facts["standard"]
    pcf = pcf_sentence(rng, language, value, product.unit if value is not None else None, verified, standard)
    title = title_for(rng, product, language, index)
    return {
        "title": title,
        "description": describe(rng, product, language, pcf, region, title),
        "language": language,
        "kind": product.kind,
        "category": product.category,
        "supplier": supplier,
        "region": region,
        **facts,
    }


def offer_facts(rng: random.Random, product: Product, region: str) -> dict[str, Any]:
    has_pcf = product.unit is not None and rng.random() < 0.78
    value = round_pcf(rng.uniform(product.low, product.high)) if has_pcf else None
    verified = bool(has_pcf and rng.random() < 0.55)
    alliance: list[str] = []
    if region in {r for r, _, _ in CN_REGIONS} and rng.random() < 0.3:
        alliance.append("CN100")
    if region in YRD and rng.random() < 0.4:
        alliance.append("YRD-LCA")
    certs = CERTS.get(product.category, [])
    unit = product.unit if has_pcf else None
    return {
        "pcf_value": value,
        "pcf_unit": unit,
        "declared_unit": unit.split("/")[1] if unit else None,
        "pcf_verified": verified,
        "standard": rng.choice(STANDARDS) if has_pcf else None,
        "alliance": alliance,
        "certifications": rng.sample(certs, k=min(len(certs), rng.randrange(0, 3))) if certs else [],
    }


def written_offers(
    rng: random.Random,
) -> tuple[list[dict[str, Any]], list[tuple[str, str]], list[tuple[str, str, str]]]:
    """The written offers, the translated pairs (zh id, en id) and each offer's product type and role."""
    offers: list[dict[str, Any]] = []
    pairs: list[tuple[str, str]] = []
    keys: list[tuple[str, str, str]] = []
    paired = set(rng.sample([p.key for p in PRODUCTS], PAIRED_TYPES))

    def add(record: dict[str, Any], product: Product) -> str:
        offer_id = f"w{len(offers) + 1:03d}"
        offers.append({"id": offer_id, **record})
        keys.append((offer_id, product.key, product.role))
        return offer_id

    for product in PRODUCTS:
        singles = rng.choice([2, 2, 3])
        languages = ["zh", "en"] + [rng.choice(["zh", "en"]) for _ in range(singles - 2)]
        for index, language in enumerate(languages):
            region = pick_region(rng, language)
            supplier = supplier_name(rng, product.category, region, language)
            add(
                written_offer(
                    rng,
                    product,
                    language=language,
                    index=index,
                    region=region,
                    supplier=supplier,
                    facts=offer_facts(rng, product, region),
                ),
                product,
            )
        if product.key in paired:
            region = pick_region(rng, "zh")
            supplier = supplier_name(rng, product.category, region, "en")
            facts = offer_facts(rng, product, region)
            index, seed = rng.randrange(3), rng.random()
            # The same choices of wording in both languages: the pair is one listing, translated.
            zh = add(
                written_offer(
                    random.Random(seed),
                    product,
                    language="zh",
                    index=index,
                    region=region,
                    supplier=supplier,
                    facts=facts,
                ),
                product,
            )
            en = add(
                written_offer(
                    random.Random(seed),
                    product,
                    language="en",
                    index=index,
                    region=region,
                    supplier=supplier,
                    facts=facts,
                ),
                product,
            )
            pairs.append((zh, en))
    return offers, pairs, keys


def carbon_catalogue() -> list[dict[str, Any]]:
    """The 866 products, mapped as the service's own importer maps them, renumbered c001.."""
    path = SHARED / "carbon-catalogue" / "product_level.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    offers = []
    for number, row in enumerate(rows, 1):
        record = map_row(row)
        record["attributes"]["carbon_catalogue_id"] = record["id"]
        offers.append({**record, "id": f"c{number:03d}"})
    return offers


def demo_offers() -> list[dict[str, Any]]:
    lines = (ROOT / "matchmaker" / "demo" / "offers.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    return [{**record, "id": f"d{number:03d}"} for number, record in enumerate(records, 1)]


def main() -> None:
    rng = random.Random(SEED)
    eval_dev = [
        json.loads(line) for line in (SHARED / "eval-dev" / "offers.jsonl").read_text("utf-8").splitlines()
    ]
    written, pairs, keys = written_offers(rng)
    demo = demo_offers()
    # Membership belongs to the supplier, not the listing: every offer of a supplier gets the alliances of
    # its first listing (eval-dev's and the demo's suppliers keep theirs).
    memberships: dict[str, list[str]] = {}
    for offer in eval_dev + demo + written:
        offer["alliance"] = memberships.setdefault(offer["supplier"], offer["alliance"])
    offers = eval_dev + carbon_catalogue() + demo + written
    for offer in written:
        text = f"{offer['title']} {offer['description']}".lower()
        clash = [word for word in ABSENT_WORDS if word in text]
        if clash:
            raise SystemExit(f"{offer['id']} names an absent product: {clash}")
    with (OUT / "offers.jsonl").open("w", encoding="utf-8") as handle:
        for offer in offers:
            handle.write(json.dumps(offer, ensure_ascii=False) + "\n")
    with (OUT / "translated_pairs.tsv").open("w", encoding="utf-8") as handle:
        handle.write("offer_id_zh\toffer_id_en\n")
        handle.writelines(f"{zh}\t{en}\n" for zh, en in pairs)
    with (OUT / "offer_products.tsv").open("w", encoding="utf-8") as handle:
        handle.write("offer_id\tproduct_type\trole\n")
        handle.writelines(f"{offer_id}\t{key}\t{role}\n" for offer_id, key, role in keys)
    print(f"{len(offers)} offers ({len(eval_dev)} eval-dev, {len(written)} written), {len(pairs)} pairs")


if __name__ == "__main__":
    main()
