"""The exchange-format records: what an import line must hold."""

import pytest
from pydantic import ValidationError

from matchmaker.exchange import NeedRecord, OfferRecord, detect_language

OFFER = {
    "id": "o1",
    "title": "EAF rebar",
    "description": "Scrap-based rebar",
    "kind": "product",
    "category": "steel",
    "supplier": "Jiangsu Steel",
    "region": "Jiangsu",
    "pcf_value": 0.62,
    "pcf_unit": "tCO2e/t",
    "declared_unit": "t",
    "pcf_verified": True,
    "standard": "ISO 14067",
    "alliance": ["CN100"],
    "certifications": [],
}


def test_a_complete_offer_is_published_and_public_by_default() -> None:
    record = OfferRecord.model_validate(OFFER)
    assert (record.status, record.visibility, record.language) == ("published", "public", "en")


def test_language_is_detected_when_absent() -> None:
    record = OfferRecord.model_validate({**OFFER, "title": "电弧炉螺纹钢", "language": None})
    assert record.language == "zh"
    assert detect_language("Green hydrogen") == "en"


def test_declared_unit_is_derived_from_the_footprint_unit() -> None:
    record = OfferRecord.model_validate({**OFFER, "declared_unit": None})
    assert record.declared_unit == "t"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"category": "steelx"}, "category", "use one of: steel"),
        ({"pcf_unit": "kgCO2/kg"}, "pcf_unit", "unknown footprint unit"),
        ({"pcf_unit": None}, "", "must both be set"),
        ({"declared_unit": "kg"}, "", "does not match"),
        ({"kind": "widget"}, "kind", ""),
        ({"title": "  "}, "title", ""),
        ({"pcf_value": float("nan")}, "pcf_value", ""),
        ({"alliance": ["bad code!"]}, "alliance", "invalid alliance code"),
    ],
)
def test_bad_offers_name_the_field(change: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        OfferRecord.model_validate({**OFFER, **change})
    text = str(info.value)
    assert field in text
    assert message in text


def test_a_need_with_a_ceiling_in_another_unit_is_valid() -> None:
    record = NeedRecord.model_validate(
        {
            "id": "n1",
            "buyer": "Rail",
            "text": "rebar under 700 kg per tonne",
            "max_pcf": 700,
            "max_pcf_unit": "kgCO2e/t",
        }
    )
    assert (record.status, record.visibility, record.max_pcf_unit) == ("open", "vendors", "kgCO2e/t")


def test_a_need_ceiling_needs_its_unit() -> None:
    with pytest.raises(ValidationError, match="must both be set"):
        NeedRecord.model_validate({"id": "n1", "buyer": "Rail", "text": "rebar", "max_pcf": 700})
