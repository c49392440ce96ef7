"""Refused forms speak the page's language: pydantic's errors by their type, the services' by their code.

The API keeps answering in English with the same problem+json; only the pages translate.
"""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from matchmaker.errors import field_errors_from_pydantic
from matchmaker.offers.schemas import OfferCreate
from matchmaker.web.forms import FormErrors, build
from matchmaker.web.i18n import Translator
from tests.factories import World
from tests.web_support import post_form, sign_in

# A missing title and a unit nobody converts: one pydantic error, one domain (unit) error.
BAD_OFFER = {
    "title": "",
    "description": "电炉短流程螺纹钢，废钢比例 90%",
    "kind": "product",
    "category": "steel",
    "region": "江苏",
    "pcf_value": "0.62",
    "pcf_unit": "kgCO2e/furlong",
    "status": "draft",
    "visibility": "public",
}


def field_error(page: str, name: str) -> str:
    """The message shown under a form's input (empty when the field is fine)."""
    found = re.search(rf'<small id="e-{name}" class="error" role="alert" [^>]*>([^<]*)</small>', page)
    assert found, f"no error element for {name}"
    return html.unescape(found.group(1))


def summary(page: str) -> str:
    found = re.search(r'data-testid="form-error">(.*?)</div>', page, re.S)
    assert found, "no form summary"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def post_offer(client: TestClient, language: str) -> str:
    client.cookies.set("mm_lang", language)
    response = post_form(client, "/ui/offers", BAD_OFFER, page="/ui/offers/new")
    assert response.status_code == 422
    return response.text


def test_a_refused_offer_form_in_chinese_says_why_in_chinese(client: TestClient, world: World) -> None:
    sign_in(client, world.other_vendor.key)
    page = post_offer(client, "zh")
    assert field_error(page, "title") == "此项必填"
    unit_error = field_error(page, "pcf_unit")
    assert unit_error.startswith("无法识别的申报单位“furlong”")
    assert "unknown" not in unit_error
    # The summary is Chinese too, naming the fields by their labels.
    assert summary(page).startswith("未保存。 名称：此项必填；碳足迹单位：无法识别的申报单位")
    # What was typed is kept.
    assert 'value="kgCO2e/furlong"' in page and "电炉短流程螺纹钢，废钢比例 90%" in page
    assert 'value="江苏"' in page


def test_the_same_form_in_english_reads_as_before(client: TestClient, world: World) -> None:
    sign_in(client, world.other_vendor.key)
    page = post_offer(client, "en")
    assert field_error(page, "title") == "Field required"
    assert field_error(page, "pcf_unit").startswith("unknown declared unit 'furlong'; known units: g, kg, t")
    assert summary(page).startswith(
        "Not saved. title: Field required; pcf_unit: unknown declared unit 'furlong'"
    )
    assert 'value="kgCO2e/furlong"' in page


def test_an_unparseable_unit_is_explained_in_chinese(client: TestClient, world: World) -> None:
    sign_in(client, world.other_vendor.key)
    client.cookies.set("mm_lang", "zh")
    body = {**BAD_OFFER, "title": "螺纹钢", "pcf_unit": "kgCO2/kg"}
    page = post_form(client, "/ui/offers", body, page="/ui/offers/new").text
    assert field_error(page, "pcf_unit").startswith("无法识别的碳足迹单位“kgCO2/kg”：请写作 <g|kg|t>CO2e/")
    assert field_error(page, "title") == ""


def test_a_services_refusal_of_the_offer_form_is_in_chinese(client: TestClient, world: World) -> None:
    sign_in(client, world.member_vendor.key)
    client.cookies.set("mm_lang", "zh")
    body = {**BAD_OFFER, "title": "螺纹钢", "pcf_unit": "kgCO2e/kg"}
    body.update(visibility="alliance", visibility_alliance="NOPE")
    response = post_form(client, "/ui/offers", body, page="/ui/offers/new")
    assert response.status_code == 422
    assert field_error(response.text, "visibility_alliance") == "联盟“NOPE”不存在"
    assert summary(response.text) == "未保存。 联盟“NOPE”不存在"


@pytest.mark.parametrize(
    ("fields", "name", "message"),
    [
        ({"max_pcf": "2e12", "max_pcf_unit": "kgCO2e/kg"}, "max_pcf", "应小于或等于 1000000000000"),
        ({"max_pcf": "很低", "max_pcf_unit": "kgCO2e/kg"}, "max_pcf", "请输入有效的数字"),
        # A check of the whole record shows under the field it blames, and in the summary.
        ({"max_pcf": "0.8"}, "max_pcf_unit", "碳足迹的数值和单位须同时填写或同时留空"),
    ],
)
def test_a_bad_ceiling_on_the_need_form_is_refused_in_chinese(
    client: TestClient, world: World, fields: dict[str, str], name: str, message: str
) -> None:
    sign_in(client, world.buyer.key)
    client.cookies.set("mm_lang", "zh")
    body = {"text": "采购低碳螺纹钢", **fields}
    response = post_form(client, "/ui/needs", body, page="/ui/needs/new")
    assert response.status_code == 422
    assert field_error(response.text, name) == message
    assert message in summary(response.text)
    assert "采购低碳螺纹钢" in response.text


def test_a_services_refusal_on_an_operator_page_is_in_chinese(client: TestClient, world: World) -> None:
    sign_in(client, world.operator.key)
    client.cookies.set("mm_lang", "zh")
    taken = world.buyer.organisation.name
    response = post_form(
        client, "/ui/organisations", {"name": taken, "kind": "buyer"}, page="/ui/organisations"
    )
    assert response.status_code == 409
    assert summary(response.text) == f"未保存。 与已有内容冲突 · 已有名为“{taken}”的机构"
    alliance = f"/ui/alliances/{world.alliance.code}"
    unknown = post_form(client, f"{alliance}/members", {"organisation_id": "999999"}, page=alliance)
    assert unknown.status_code == 422
    assert "机构 999999 不存在" in summary(unknown.text)


def test_the_api_still_answers_in_english_with_the_same_problem(client: TestClient, world: World) -> None:
    body = {key: value for key, value in BAD_OFFER.items() if key != "title"}
    response = client.post(
        "/offers", json=body, headers={**world.other_vendor.headers, "Accept-Language": "zh-CN"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"] == "invalid fields: pcf_unit, title"
    assert problem["errors"] == [
        {"field": "title", "message": "Field required"},
        {
            "field": "pcf_unit",
            "message": "unknown declared unit 'furlong'; known units: "
            "g, kg, t, Wh, kWh, MWh, Wp, kWp, MWp, MJ, GJ, tkm, m2, L, m3, unit",
        },
    ]
    # A domain error with a code: the code stays out of the problem document.
    created = {**body, "title": "Rebar", "external_id": "r-1", "pcf_unit": "kgCO2e/kg"}
    assert client.post("/offers", json=created, headers=world.other_vendor.headers).status_code == 201
    conflict = client.post("/offers", json=created, headers=world.other_vendor.headers).json()
    assert set(conflict) == {"type", "title", "status", "detail", "instance"}
    assert conflict["detail"].endswith("already has an offer with external_id 'r-1'")


def test_pydantic_errors_keep_their_type_and_values_and_the_code_of_a_coded_value_error() -> None:
    with pytest.raises(ValidationError) as raised:
        OfferCreate.model_validate({**BAD_OFFER, "title": "x" * 501, "pcf_value": "abc"})
    entries = {entry["field"]: entry for entry in field_errors_from_pydantic(raised.value.errors())}
    assert entries["title"]["type"] == "string_too_long" and entries["title"]["ctx"] == {"max_length": 500}
    assert entries["pcf_value"]["type"] == "float_parsing"
    unit = entries["pcf_unit"]
    assert (unit["type"], unit["code"], unit["values"]["unit"]) == (
        "value_error",
        "unit.unknown_declared",
        "furlong",
    )
    assert unit["message"].startswith("unknown declared unit 'furlong'")


def test_an_error_without_chinese_words_falls_back_to_the_english_message() -> None:
    with pytest.raises(FormErrors) as raised:
        build(OfferCreate, {**BAD_OFFER, "title": "Rebar", "pcf_unit": "kgCO2e/kg", "certifications": {}})
    errors = raised.value
    english = errors.fields["certifications"]
    assert english == "Input should be a valid list"
    chinese = errors.problems[0].message.in_language(Translator("zh"))
    assert chinese == english
