"""Vendors search open needs by free text: `POST /needs/search` and the page `/ui/find-needs`.

The real app and the real multilingual model, over the small market of tests/markets.py with a few needs
in Chinese and English: a query in one language finds needs written in the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from matchmaker.db.models import Need
from tests.factories import Party, make_need
from tests.markets import Market
from tests.web_support import sign_in

REBAR_ZH = "采购电炉短流程螺纹钢，用于地铁项目"


@dataclass
class Needs:
    en_rebar: Need  # the buyer's, shared with vendors
    zh_hydrogen: Need  # the other buyer's, shared with vendors, prefers Inner Mongolia
    private_rebar: Need  # the buyer's, not shared with vendors
    closed_rebar: Need  # the other buyer's, closed


@pytest.fixture
def needs(market: Market, session: Session) -> Needs:
    def need(owner: Party, external_id: str, **values: Any) -> Need:
        return make_need(session, owner=owner.organisation, external_id=external_id, **values)

    made = Needs(
        en_rebar=need(
            market.buyer,
            "en-rebar",
            text="Low-carbon rebar from an electric arc furnace (scrap-based short route) for a metro line",
            max_pcf=0.8,
            max_pcf_unit="kgCO2e/kg",
            require_verified=True,
            alliance_only_id=market.cn100.id,
        ),
        zh_hydrogen=need(
            market.other_buyer,
            "zh-hydrogen",
            text="采购可再生能源电解水制取的绿氢，用于氢基直接还原铁项目",
            language="zh",
            category="hydrogen",
            region_preference="Inner Mongolia",
        ),
        private_rebar=need(market.buyer, "private-rebar", text=REBAR_ZH, language="zh", visibility="private"),
        closed_rebar=need(market.other_buyer, "closed-rebar", text=REBAR_ZH, language="zh", status="closed"),
    )
    session.commit()
    return made


def search(client: TestClient, party: Party, **body: Any) -> dict[str, Any]:
    response = client.post("/needs/search", json=body, headers=party.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def found(body: dict[str, Any]) -> list[str]:
    return [match["need"]["external_id"] for match in body["matches"]]


# --- the API ---------------------------------------------------------------------------------------------


def test_a_chinese_query_finds_the_english_need_explained(
    market: Market, needs: Needs, client: TestClient
) -> None:
    body = search(client, market.eaf_steel, text="电炉螺纹钢")

    assert found(body)[:1] == ["en-rebar"], body
    first = body["matches"][0]
    assert first["rank"] == 1 and first["score"] >= 0.5
    assert first["need"]["buyer"] == "Metro Rail Procurement"
    assert first["need"]["alliance_only"] == "CN100" and first["need"]["require_verified"] is True
    explanation = first["explanation"]
    assert explanation["same_category"] is True
    assert explanation["shared_terms"]
    assert 0 < explanation["dense_similarity"] <= explanation["relevance"] == first["score"]
    assert "zh-hydrogen" not in found(body)
    assert body["query"] == "电炉螺纹钢" and body["category"] == "steel"


def test_an_english_query_finds_the_chinese_need(market: Market, needs: Needs, client: TestClient) -> None:
    body = search(client, market.hydrogen, text="green hydrogen for DRI")

    assert found(body)[:1] == ["zh-hydrogen"], body
    assert "en-rebar" not in found(body)


def test_private_and_closed_needs_never_appear_to_a_vendor(
    market: Market, needs: Needs, client: TestClient
) -> None:
    body = search(client, market.eaf_steel, text=REBAR_ZH, limit=50)

    assert "en-rebar" in found(body)
    assert "private-rebar" not in found(body) and "closed-rebar" not in found(body)
    assert body["candidates"] == 2  # the two open shared needs
    operator = search(client, market.operator, text=REBAR_ZH, limit=50)
    assert "closed-rebar" not in found(operator)


def test_a_buyer_sees_only_its_own_needs(market: Market, needs: Needs, client: TestClient) -> None:
    own = search(client, market.buyer, text=REBAR_ZH, limit=50)
    assert set(found(own)) == {"en-rebar", "private-rebar"}
    assert own["candidates"] == 2

    other = search(client, market.other_buyer, text=REBAR_ZH, limit=50)
    assert found(other) == []
    assert other["candidates"] == 1  # its hydrogen need; its closed one is not open
    assert other["no_match_reason"]


def test_category_and_region_filters_are_hard(market: Market, needs: Needs, client: TestClient) -> None:
    steel_text = "电炉螺纹钢"
    assert found(search(client, market.eaf_steel, text=steel_text, category=["hydrogen"])) == []

    hydrogen = search(client, market.eaf_steel, text="green hydrogen and rebar", category=["hydrogen"])
    assert found(hydrogen) == ["zh-hydrogen"]
    assert hydrogen["eligible"] == 1

    elsewhere = search(client, market.eaf_steel, text="green hydrogen", region=["Jiangsu"])
    assert found(elsewhere) == [] and elsewhere["eligible"] == 0
    there = search(client, market.eaf_steel, text="green hydrogen", region=["Inner Mongolia"])
    assert found(there) == ["zh-hydrogen"]


@pytest.mark.parametrize("text", ["", "   "])
def test_blank_text_is_a_422_problem(market: Market, client: TestClient, text: str) -> None:
    response = client.post("/needs/search", json={"text": text}, headers=market.eaf_steel.headers)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert "text" in {error["field"] for error in problem["errors"]}


def test_a_search_needs_a_key(client: TestClient) -> None:
    response = client.post("/needs/search", json={"text": "螺纹钢"})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


# --- the page --------------------------------------------------------------------------------------------


def cards(page_text: str) -> list[str]:
    """The need ids of the result cards, in order."""
    return re.findall(r'data-testid="need" data-need-id="(\d+)"', page_text)


def test_the_page_shows_results_in_chinese_and_english(
    market: Market, needs: Needs, client: TestClient
) -> None:
    sign_in(client, market.eaf_steel.key)

    client.cookies.set("mm_lang", "zh")
    chinese = client.get("/ui/find-needs", params={"q": "电炉螺纹钢"})
    assert chinese.status_code == 200
    assert cards(chinese.text)[:1] == [str(needs.en_rebar.id)]
    assert str(needs.private_rebar.id) not in cards(chinese.text)
    assert "Metro Rail Procurement" in chinese.text and "metro line" in chinese.text
    assert "仅限经核查的碳足迹" in chinese.text and "仅限 CN100 成员" in chinese.text
    assert "碳足迹 ≤ 0.8 kgCO2e/kg" in chinese.text
    assert "匹配度" in chinese.text and "共同提及" in chinese.text

    client.cookies.set("mm_lang", "en")
    english = client.get("/ui/find-needs", params={"q": "green hydrogen for DRI"})
    assert english.status_code == 200
    assert cards(english.text)[:1] == [str(needs.zh_hydrogen.id)]
    assert "绿氢" in english.text and "prefers Inner Mongolia" in english.text
    assert "match " in english.text and "Find needs" in english.text


def test_the_page_says_when_nothing_matches_and_how_to_start(
    market: Market, needs: Needs, client: TestClient
) -> None:
    sign_in(client, market.eaf_steel.key)
    client.cookies.set("mm_lang", "en")

    start = client.get("/ui/find-needs")
    assert start.status_code == 200 and "Describe what you supply" in start.text
    assert cards(start.text) == []

    empty = client.get("/ui/find-needs", params={"q": "电炉螺纹钢", "category": "cement_concrete"})
    assert empty.status_code == 200
    assert 'data-testid="no-match"' in empty.text and cards(empty.text) == []
    assert "No open need matches this search." in empty.text
    assert 'value="cement_concrete" selected' in empty.text  # the form keeps what was asked

    client.cookies.set("mm_lang", "zh")
    chinese = client.get("/ui/find-needs", params={"q": "电炉螺纹钢", "region": "Tibet"})
    assert "没有与此搜索匹配的开放需求。" in chinese.text


def test_the_page_is_for_vendors(market: Market, client: TestClient) -> None:
    sign_in(client, market.buyer.key)
    client.cookies.set("mm_lang", "en")

    assert "/ui/find-needs" not in client.get("/ui/needs").text
    assert client.get("/ui/find-needs").status_code == 403
