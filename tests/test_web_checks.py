"""Why an offer passed or failed each hard filter: reason codes in the API, sentences in the page's language.

The API keeps its English `detail` and adds a language-free `reason` with its `values`; the buyer's pages
phrase the verdict from those, so a Chinese page explains a near miss in Chinese.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from matchmaker.matching.schemas import FilterResult
from matchmaker.web.checks import describe_check
from matchmaker.web.i18n import LANGUAGES, Language, Translator
from tests.factories import make_offer
from tests.markets import Market
from tests.web_support import post_form, sign_in

REBAR_NEED = {
    "external_id": "rebar-zh",
    "text": "采购电炉短流程螺纹钢，用于地铁项目",
    "category": "steel",
    "max_pcf": 0.8,
    "max_pcf_unit": "kgCO2e/kg",
    "require_verified": True,
    "alliance_only": "CN100",
}

# The English sentences of `detail`, which a Chinese page must not show.
ENGLISH_DETAILS = (
    "not an active member",
    "footprint not verified",
    "&gt; 0.8",
    "&lt;= 0.8",
    "is not one of",
)


def post_api_need(client: TestClient, market: Market) -> int:
    response = client.post("/needs", json=REBAR_NEED, headers=market.buyer.headers)
    assert response.status_code == 201, response.text
    identifier: int = response.json()["id"]
    return identifier


def api_matches(client: TestClient, market: Market, need_id: int, **params: Any) -> dict[str, Any]:
    response = client.get(f"/needs/{need_id}/matches", params=params, headers=market.buyer.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def checks_by_filter(filters: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["filter"]: f for f in filters}


def near_misses(body: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Each near miss's checks by filter, by the offer's external id."""
    return {n["offer"]["external_id"]: checks_by_filter(n["filters"]) for n in body["near_misses"]}


def add_rebar_without_comparable_footprint(session: Session, market: Market) -> None:
    """Two relevant CN100 rebar offers the ceiling cannot judge: no footprint, and one stated per kWh."""
    for external_id, values in (
        ("rebar-no-pcf", {"pcf_value": None, "pcf_unit": None, "pcf_verified": False, "standard": None}),
        ("rebar-per-kwh", {"pcf_value": 0.3, "pcf_unit": "kgCO2e/kWh"}),
    ):
        make_offer(
            session,
            owner=market.bof_steel.organisation,
            external_id=external_id,
            title=f"EAF rebar HRB400E ({external_id})",
            description="Hot-rolled ribbed reinforcing bar from scrap melted in an electric arc furnace.",
            **values,
        )
    session.commit()


# --- the API ---------------------------------------------------------------------------------------------


def test_the_api_gives_a_reason_and_its_values_for_each_passed_and_failed_filter(
    market: Market, client: TestClient
) -> None:
    body = api_matches(client, market, post_api_need(client, market))

    passed = checks_by_filter(body["matches"][0]["explanation"]["filters"])
    assert body["matches"][0]["offer"]["external_id"] == "eaf-rebar"
    assert passed["max_pcf"]["reason"] == "footprint.within"
    assert passed["max_pcf"]["values"] == {
        "stated_value": "0.62",
        "stated_unit": "tCO2e/t",
        "value": "0.62",
        "unit": "kgCO2e/kg",
        "ceiling": "0.8",
    }
    assert passed["max_pcf"]["detail"] == "0.62 tCO2e/t = 0.62 kgCO2e/kg <= 0.8"  # unchanged for old clients
    assert (passed["require_verified"]["reason"], passed["require_verified"]["values"]) == (
        "verified.yes",
        {},
    )
    assert passed["alliance_only"]["reason"] == "alliance.member"
    assert passed["alliance_only"]["values"] == {"alliance": "CN100"}

    near = near_misses(body)
    assert near["bof-rebar"]["max_pcf"]["reason"] == "footprint.above"
    assert near["bof-rebar"]["max_pcf"]["values"]["value"] == "2.1"
    assert near["bof-rebar"]["max_pcf"]["detail"] == "2.1 tCO2e/t = 2.1 kgCO2e/kg > 0.8"
    assert near["zh-rebar"]["require_verified"]["reason"] == "verified.no"
    assert near["zh-rebar"]["require_verified"]["detail"] == "footprint not verified"
    assert near["outsider-rebar"]["alliance_only"]["reason"] == "alliance.not_member"
    assert near["outsider-rebar"]["alliance_only"]["values"] == {"alliance": "CN100"}


def test_the_api_says_when_a_footprint_is_missing_or_does_not_convert(
    market: Market, session: Session, client: TestClient
) -> None:
    add_rebar_without_comparable_footprint(session, market)

    near = near_misses(api_matches(client, market, post_api_need(client, market)))

    missing = near["rebar-no-pcf"]["max_pcf"]
    assert (missing["passed"], missing["reason"], missing["values"]) == (False, "footprint.missing", {})
    assert missing["detail"] == "no footprint stated"
    assert near["rebar-no-pcf"]["require_verified"]["reason"] == "verified.no"
    per_kwh = near["rebar-per-kwh"]["max_pcf"]
    assert (per_kwh["passed"], per_kwh["reason"]) == (False, "footprint.unconvertible")
    assert per_kwh["values"] == {
        "stated_unit": "kgCO2e/kWh",
        "stated_family": "electric_energy",
        "unit": "kgCO2e/kg",
        "family": "mass",
    }


def test_the_api_gives_reasons_for_the_category_region_and_certification_refinements(
    market: Market, client: TestClient
) -> None:
    need_id = post_api_need(client, market)

    body = api_matches(client, market, need_id, category=["hydrogen"], region=["Anhui", "Shanghai"])
    eaf = near_misses(body)["eaf-rebar"]
    assert (eaf["category"]["passed"], eaf["category"]["reason"]) == (False, "listed.not_in")
    assert eaf["category"]["values"] == {"value": "steel", "wanted": "hydrogen"}
    assert eaf["region"]["reason"] == "listed.not_in"
    assert eaf["region"]["values"] == {"value": "Jiangsu", "wanted": "Anhui, Shanghai"}

    certified = api_matches(client, market, need_id, region=["Jiangsu"], certification="ISO 14064")
    eaf = near_misses(certified)["eaf-rebar"]
    assert (eaf["region"]["passed"], eaf["region"]["reason"]) == (True, "listed.in")
    assert (eaf["certification"]["passed"], eaf["certification"]["reason"]) == (False, "certification.lacks")
    assert eaf["certification"]["values"] == {"certification": "ISO 14064"}


# --- the pages -------------------------------------------------------------------------------------------


def post_page_need(client: TestClient, market: Market) -> str:
    sign_in(client, market.buyer.key)
    fields = {
        "text": REBAR_NEED["text"],
        "category": "steel",
        "max_pcf": "0.8",
        "max_pcf_unit": "kgCO2e/kg",
        "require_verified": "on",
        "alliance_only": "CN100",
    }
    response = post_form(client, "/ui/needs", fields, page="/ui/needs/new", follow_redirects=False)
    assert response.status_code == 303, response.text
    location: str = response.headers["location"]
    return location


def near_miss_cards(html: str) -> dict[str, str]:
    """The text of each near-miss card, by its title."""
    section = html.split('data-testid="near-misses"', 1)[1] if 'data-testid="near-misses"' in html else ""
    cards = re.findall(r"<h3>(?:<a [^>]*>)?([^<]+)(?:</a>)?</h3>(.*?)</ul>", section, flags=re.S)
    return {title: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)) for title, body in cards}


def first_match_card(html: str) -> str:
    card = re.split(r'<li class="card"|</ol>', html.split('data-testid="match"', 1)[1], maxsplit=1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", card))


def test_a_chinese_page_explains_the_near_misses_in_chinese(market: Market, client: TestClient) -> None:
    need = post_page_need(client, market)
    client.cookies.set("mm_lang", "zh")

    page = client.get(need)

    assert page.status_code == 200
    cards = near_miss_cards(page.text)
    assert (
        "2.1 tCO2e/t = 2.1 kgCO2e/kg，高于上限 0.8 kgCO2e/kg"
        in cards["Rebar HRB400 from the blast furnace route"]
    )
    assert "碳足迹未经核查" in cards["电炉短流程螺纹钢 HRB400E"]
    assert "供应商不是 CN100 的有效成员" in cards["Low-carbon EAF rebar B500B"]
    # The match that passed says so in Chinese too.
    passed = first_match_card(page.text)
    assert "0.62 tCO2e/t = 0.62 kgCO2e/kg，不高于上限 0.8 kgCO2e/kg" in passed
    assert "供应商是 CN100 的有效成员" in passed
    assert not [sentence for sentence in ENGLISH_DETAILS if sentence in page.text]


def test_a_chinese_page_names_the_units_and_categories_it_cannot_accept(
    market: Market, session: Session, client: TestClient
) -> None:
    add_rebar_without_comparable_footprint(session, market)
    need = post_page_need(client, market)
    client.cookies.set("mm_lang", "zh")

    cards = near_miss_cards(client.get(need).text)
    assert "未声明碳足迹" in cards["EAF rebar HRB400E (rebar-no-pcf)"]
    assert "kgCO2e/kWh（电能）无法换算为 kgCO2e/kg（质量）" in cards["EAF rebar HRB400E (rebar-per-kwh)"]

    refined = near_miss_cards(
        client.get(need, params={"category": "hydrogen", "certification": "ISO 14064"}).text
    )
    eaf = refined["Scrap-based EAF rebar HRB400E"]
    assert "钢铁，不符合所选（氢能）" in eaf and "缺少认证“ISO 14064”" in eaf
    assert "steel" not in eaf and "lacks" not in eaf


def test_the_english_page_reads_naturally(market: Market, client: TestClient) -> None:
    need = post_page_need(client, market)
    client.cookies.set("mm_lang", "en")

    page = client.get(need, params={"category": "hydrogen"})

    eaf = near_miss_cards(page.text)["Scrap-based EAF rebar HRB400E"]
    assert "✗ Category Steel, but wanted: Hydrogen" in eaf
    bof = near_miss_cards(page.text)["Rebar HRB400 from the blast furnace route"]
    assert "2.1 tCO2e/t = 2.1 kgCO2e/kg, above the ceiling of 0.8 kgCO2e/kg" in bof
    without = near_miss_cards(client.get(need).text)
    assert "the supplier is not an active member of CN100" in without["Low-carbon EAF rebar B500B"]
    assert "footprint not verified" in without["电炉短流程螺纹钢 HRB400E"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_reason_the_pages_have_no_words_for_shows_the_english_detail(language: Language) -> None:
    check = FilterResult.model_construct(
        filter="max_pcf", passed=False, detail="a new kind of verdict", reason="footprint.new", values={}
    )
    assert describe_check(Translator(language), check) == "a new kind of verdict"


@pytest.mark.parametrize(
    ("count", "summary"),
    [
        (1, "Of the 1 offer you may see, 1 passes the filters, 1 relevant; showing 1"),
        (2, "Of the 2 offers you may see, 2 pass the filters, 1 relevant; showing 1"),
    ],
)
def test_english_counts_agree_with_their_number(count: int, summary: str) -> None:
    english = Translator("en")
    assert english("match.summary", candidates=count, eligible=count, relevant=1, shown=1) == summary
    assert english("needs_search.more", count=count) == f"Show {count} {'need' if count == 1 else 'needs'}"


def test_no_english_text_puts_a_number_before_a_plural_it_does_not_choose() -> None:
    from matchmaker.web.i18n import catalogue

    # "{code} members" is an alliance's members: the code is a name, not a number.
    fixed = re.compile(r"\{(?!code\})\w+\} (?:open )?(?:offers|needs|matches|days|verdicts|members)\b")
    wrong = [key for key, texts in catalogue().items() if fixed.search(texts.get("en", ""))]
    assert not wrong, wrong
