"""Refused forms speak the page's language: pydantic's errors by their type, the services' by their code.

The API keeps answering in English with the same problem+json; only the pages translate.
"""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import ValidationError

from matchmaker.errors import field_errors_from_pydantic
from matchmaker.offers.schemas import OfferCreate
from matchmaker.schema_types import TEXT_INPUT
from matchmaker.web.forms import FormErrors, build
from matchmaker.web.i18n import Translator
from tests.factories import World
from tests.web_support import csrf_token, post_form, sign_in

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
    # The form's text, as JSON: a number is a number there.
    body = {key: value for key, value in BAD_OFFER.items() if key != "title"} | {"pcf_value": 0.62}
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
        OfferCreate.model_validate(
            {**BAD_OFFER, "title": "x" * 501, "pcf_value": "abc"}, context={TEXT_INPUT: True}
        )
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


# An upload with a good line, a unit nobody converts, a line that is not JSON, and a good line naming an
# alliance (which a vendor's upload ignores, with a warning).
UPLOAD_LINE = {
    "supplier": "Outsider Steel", "kind": "product", "category": "steel",
    "pcf_value": 0.7, "pcf_unit": "tCO2e/t", "pcf_verified": True,
}  # fmt: skip
UPLOAD = "\n".join(
    [
        json.dumps({**UPLOAD_LINE, "id": "zh-1", "title": "上传的螺纹钢一"}),
        json.dumps({**UPLOAD_LINE, "id": "zh-2", "title": "上传的螺纹钢二", "pcf_unit": "kgCO2e/furlong"}),
        '{"id": "zh-3", "title": ',
        json.dumps({**UPLOAD_LINE, "id": "zh-4", "title": "上传的螺纹钢四", "alliance": ["CN100"]}),
    ]
).encode()


def upload(client: TestClient, name: str, body: bytes) -> Response:
    token = csrf_token(client, "/ui/offers/upload")
    files = {"file": (name, body, "application/x-ndjson")}
    return client.post("/ui/offers/upload", data={"csrf_token": token}, files=files)


def rejected_lines(page: str) -> dict[int, str]:
    """The upload report's rejected lines: the reason by line number."""
    rows = re.findall(r'data-line="(\d+)"><td>\d+</td><td>[^<]*</td><td[^>]*>([^<]*)</td>', page)
    return {int(line): html.unescape(reason) for line, reason in rows}


def test_an_upload_in_chinese_names_each_bad_line_in_chinese(client: TestClient, world: World) -> None:
    sign_in(client, world.other_vendor.key)
    client.cookies.set("mm_lang", "zh")
    response = upload(client, "offers.jsonl", UPLOAD)
    assert response.status_code == 200
    assert re.search(r'data-testid="created">2<', response.text)
    lines = rejected_lines(response.text)
    assert set(lines) == {2, 3}
    assert lines[2].startswith("pcf_unit：无法识别的申报单位“furlong”；可用的单位：g, kg, t")
    assert lines[3] == "此行不是有效的 JSON：第 25 列附近有语法错误"
    assert "unknown" not in response.text and "invalid JSON" not in response.text
    warning = re.search(r'data-testid="upload-warning">([^<]*)<', response.text)
    assert warning and html.unescape(warning.group(1)).startswith("有 1 条记录填写了联盟：")
    listing = client.get("/ui/offers").text
    assert "上传的螺纹钢一" in listing and "上传的螺纹钢四" in listing and "上传的螺纹钢二" not in listing
    # A CSV cell that is not a number, and a row of more cells than the header has.
    csv_body = (
        "id,supplier,title,kind,category,pcf_value,pcf_unit\n"
        "zh-5,Outsider Steel,铝锭,product,aluminium,很低,kgCO2e/kg\n"
        "zh-6,Outsider Steel,铝锭,product,aluminium,4.1,kgCO2e/kg,多余\n"
    ).encode()
    cells = rejected_lines(upload(client, "offers.csv", csv_body).text)
    assert cells == {2: "“pcf_value”列的“很低”不是数字", 3: "此行的单元格多于表头的列数"}


def test_the_same_upload_in_english_reads_as_the_api_says(client: TestClient, world: World) -> None:
    sign_in(client, world.other_vendor.key)
    client.cookies.set("mm_lang", "en")
    lines = rejected_lines(upload(client, "offers.jsonl", UPLOAD).text)
    assert lines[2].startswith("pcf_unit: unknown declared unit 'furlong'; known units: g, kg, t")
    assert lines[3] == "invalid JSON: Expecting value at column 25"


def test_a_file_that_is_not_utf8_is_refused_in_chinese(client: TestClient, world: World) -> None:
    sign_in(client, world.other_vendor.key)
    client.cookies.set("mm_lang", "zh")
    response = upload(client, "offers.jsonl", '{"title": "Stahl für Brücken"}'.encode("latin-1"))
    assert response.status_code == 400
    problem = re.search(r'data-testid="upload-problem">([^<]*)<', response.text)
    assert problem, "no upload problem shown"
    assert html.unescape(problem.group(1)) == (
        "无法读取该文件：文件不是 UTF-8 文本（偏移 18 处的字节无效）；请以 UTF-8 编码另存后重新上传"
    )


def test_the_api_reports_an_import_exactly_as_before(client: TestClient, world: World) -> None:
    headers = {**world.other_vendor.headers, "Accept-Language": "zh-CN"}
    report = client.post("/imports/offers", content=UPLOAD, headers=headers).json()
    assert report == {
        "kind": "offers",
        "total": 4,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "failed": 2,
        "errors": [
            {
                "line": 2,
                "id": "zh-2",
                "message": "pcf_unit: unknown declared unit 'furlong'; known units: "
                "g, kg, t, Wh, kWh, MWh, Wp, kWp, MWp, MJ, GJ, tkm, m2, L, m3, unit",
            },
            {"line": 3, "id": None, "message": "invalid JSON: Expecting value at column 25"},
        ],
        "errors_not_listed": 0,
        "warnings": [
            "1 record(s) name alliances: memberships are granted by the operator or the alliance's admin, "
            "so the 'alliance' field was ignored"
        ],
    }
    refused = client.post("/imports/offers", content=b"\xff", headers=headers)
    assert refused.json() == {
        "type": "/problems/bad-request",
        "title": "Bad request",
        "status": 400,
        "detail": "the file is not UTF-8 text (byte 0 is invalid)",
        "instance": "/imports/offers",
    }


def test_a_ceiling_without_a_unit_on_the_refine_panel_is_explained_in_chinese(
    client: TestClient, world: World
) -> None:
    sign_in(client, world.buyer.key)
    client.cookies.set("mm_lang", "zh")
    need = world.needs["shared"].id
    page = client.get(f"/ui/needs/{need}", params={"max_pcf": "0.8"})
    assert page.status_code == 200
    problem = re.search(r'data-testid="filter-problem">([^<]*)<', page.text)
    assert problem, "no filter problem shown"
    assert html.unescape(problem.group(1)) == "无法应用这些筛选条件： 碳足迹的数值和单位须同时填写或同时留空"
    # The API's problem document for the same refinement is unchanged.
    api = client.get(f"/needs/{need}/matches", params={"max_pcf": "0.8"}, headers=world.buyer.headers)
    assert api.status_code == 422
    assert api.json() == {
        "type": "/problems/validation-failed",
        "title": "Validation failed",
        "status": 422,
        "detail": "max_pcf and max_pcf_unit must both be set or both be null",
        "instance": f"/needs/{need}/matches",
        "errors": [
            {"field": "max_pcf_unit", "message": "max_pcf and max_pcf_unit must both be set or both be null"}
        ],
    }


def test_a_duplicate_alliance_code_is_refused_in_chinese(client: TestClient, world: World) -> None:
    sign_in(client, world.operator.key)
    client.cookies.set("mm_lang", "zh")
    code = world.alliance.code
    response = post_form(client, "/ui/alliances", {"code": code, "name": "x"}, page="/ui/alliances")
    assert response.status_code == 409
    assert summary(response.text) == f"未保存。 与已有内容冲突 · 联盟代码“{code}”已存在"


def test_a_wrong_key_is_refused_in_chinese(client: TestClient, world: World) -> None:
    client.cookies.set("mm_lang", "zh")
    response = sign_in(client, "mm_000000000000_nope")
    assert response.status_code == 401
    refused = re.search(r'data-testid="sign-in-error">([^<]*)<', response.text)
    assert refused, "no sign-in error shown"
    assert html.unescape(refused.group(1)) == "登录失败： 密钥无效、已被吊销或已不存在。"
    client.cookies.set("mm_lang", "en")
    assert "Sign-in failed: invalid API key" in sign_in(client, "mm_000000000000_nope").text


def test_a_missing_offer_is_a_chinese_404_page(client: TestClient, world: World) -> None:
    sign_in(client, world.other_vendor.key)
    client.cookies.set("mm_lang", "zh")
    page = client.get("/ui/offers/999999")
    assert page.status_code == 404
    assert "<h1>未找到</h1>" in page.text
    detail = re.search(r'data-testid="error-detail"[^>]*>([^<]*)<', page.text)
    assert detail and detail.group(1) == "您要找的内容不存在，或您无权查看。"
    assert "not found" not in page.text
    client.cookies.set("mm_lang", "en")
    english = client.get("/ui/offers/999999").text
    assert "<h1>Not found</h1>" in english and "offer 999999 not found" in english
