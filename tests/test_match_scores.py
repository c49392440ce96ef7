"""Readable scores: one 0-100 match score that orders every list, explained as parts that add up to it, and
counts that agree with the cards shown (the API, the buyer's and the vendor's pages)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from matchmaker.matching.scoring import (
    Secondary,
    Signals,
    most_bonus,
    points,
    relevance,
    secondary_bonus,
)
from tests.factories import Party, make_need, make_offer, make_party
from tests.web_support import sign_in

PARTS = ("fit", "concepts", "verified", "headroom", "region")


@dataclass
class Shelf:
    """A vendor's dense shelf of rebar (and a few unrelated offers) and a buyer's need for rebar."""

    vendor: Party
    buyer: Party
    need_id: int
    offer_ids: dict[str, int]


REBAR = [
    # key, title, description, region, verified, footprint (tCO2e/t)
    ("eaf-metro", "Low-carbon hot-rolled rebar HRB400E for metro lines",
     "Ribbed bar from scrap in an electric arc furnace, for metro and rail projects.", "Hebei", False, 0.7),
    ("eaf-js", "Hot-rolled rebar HRB400E, electric arc furnace",
     "Reinforcing bar from 100% scrap, short process route.", "Jiangsu", True, 0.5),
    ("twin-a", "Rebar HRB400E from scrap",
     "Electric arc furnace rebar for construction.", "Hebei", True, 0.9),
    ("twin-b", "Rebar HRB400E from scrap",
     "Electric arc furnace rebar for construction.", "Hebei", True, 0.9),
    ("near-twin", "Rebar HRB400E from scrap",
     "Electric arc furnace rebar for building construction.", "Jiangsu", True, 0.9),
    ("bof", "Rebar HRB400 from the blast furnace route",
     "Basic oxygen furnace rebar.", "Hebei", True, 1.9),
    ("zh-eaf", "电炉短流程螺纹钢 HRB400E",
     "以废钢为原料的电弧炉螺纹钢，适用于地铁和铁路工程。", "Jiangsu", True, 0.6),
    ("wire", "Low-carbon wire rod for rebar mesh",
     "Hot-rolled wire rod from scrap, EAF.", "Jiangsu", False, 0.8),
    ("b500", "Low-carbon EAF rebar B500B",
     "Reinforcing steel bar, electric arc furnace.", "Shandong", True, 0.55),
    ("coil", "Hot-rolled steel coil",
     "Hot-rolled coil for general fabrication.", "Hebei", True, 1.8),
]  # fmt: skip
UNRELATED = [
    ("cement", "低碳普通硅酸盐水泥 P·O 42.5", "cement", "tCO2e/t", 0.5),
    ("h2", "风电电解水制绿氢", "hydrogen", "kgCO2e/kg", 1.0),
]


@pytest.fixture
def shelf(session: Session) -> Shelf:
    vendor = make_party(session, name="Rebar Shelf Co", kind="vendor", role="vendor")
    buyer = make_party(session, name="Metro Builder", kind="buyer", role="buyer")
    ids = {}
    for key, title, description, region, verified, value in REBAR:
        language = "zh" if re.search(r"[\u4e00-\u9fff]", title) else "en"
        ids[key] = make_offer(
            session, owner=vendor.organisation, external_id=key, title=title, description=description,
            region=region, pcf_verified=verified, pcf_value=value, pcf_unit="tCO2e/t", language=language,
        ).id  # fmt: skip
    for key, title, category, unit, value in UNRELATED:
        ids[key] = make_offer(
            session, owner=vendor.organisation, external_id=key, title=title, description=title,
            category=category, pcf_value=value, pcf_unit=unit, language="zh",
        ).id  # fmt: skip
    need = make_need(
        session, owner=buyer.organisation, external_id="metro-rebar",
        text="Low-carbon hot-rolled rebar HRB400E for a metro line, electric arc furnace preferred",
        category="steel", max_pcf=2.0, max_pcf_unit="tCO2e/t", region_preference="Jiangsu",
    )  # fmt: skip
    session.commit()
    return Shelf(vendor=vendor, buyer=buyer, need_id=need.id, offer_ids=ids)


def get(client: TestClient, path: str, party: Party, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params, headers=party.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_readable(body: dict[str, Any], *, limit: int) -> None:
    """Scores 0-100 that order the list, parts that add up, counts that agree with the list."""
    matches = body["matches"]
    scores = [m["match_score"] for m in matches]
    assert all(isinstance(s, int) and 0 <= s <= 100 for s in scores), scores
    assert scores == sorted(scores, reverse=True), scores
    # Ties in the number shown are broken by the unrounded score, then stably by id.
    keys = [(-m["match_score"], -m["score"]) for m in matches]
    assert keys == sorted(keys), keys
    for match in matches:
        parts = match["explanation"]["score_parts"]
        assert set(parts) == set(PARTS) and all(parts[p] >= 0 for p in PARTS), parts
        assert sum(parts.values()) == match["match_score"], parts
    assert [m["rank"] for m in matches] == list(range(1, len(matches) + 1))
    assert body["shown"] == len(matches) == min(limit, body["relevant"])
    assert body["more"] == body["relevant"] - body["shown"]
    assert body["relevant"] <= body["eligible"] <= body["candidates"]


# --- the API ---------------------------------------------------------------------------------------


def test_the_buyer_sees_one_score_out_of_100_that_orders_the_list(shelf: Shelf, client: TestClient) -> None:
    path = f"/needs/{shelf.need_id}/matches"
    full = get(client, path, shelf.buyer, limit=100)
    assert_readable(full, limit=100)
    matches = full["matches"]
    # A dense shelf: most rebar is relevant, the cement and the hydrogen are not, and nothing is hidden.
    assert full["relevant"] >= 6 and full["more"] == 0
    shown = [m["offer"]["external_id"] for m in matches]
    assert "cement" not in shown and "h2" not in shown
    # The list is ordered by score, not relevance: bonuses lift a less relevant offer above a more relevant
    # one. The old card showed relevance here, which then read out of order.
    assert any(
        earlier["explanation"]["relevance"] < later["explanation"]["relevance"]
        for position, earlier in enumerate(matches)
        for later in matches[position + 1 :]
    )
    # Identical offers tie on every number and keep their id order.
    twins = [m for m in matches if m["offer"]["external_id"] in {"twin-a", "twin-b"}]
    assert [m["offer"]["id"] for m in twins] == sorted(m["offer"]["id"] for m in twins)
    assert twins[0]["match_score"] == twins[1]["match_score"]
    assert twins[0]["explanation"]["score_parts"] == twins[1]["explanation"]["score_parts"]
    # Bonuses show as the points they add: verified offers in the preferred region earn both.
    eaf_js = next(m for m in matches if m["offer"]["external_id"] == "eaf-js")
    assert eaf_js["explanation"]["score_parts"]["region"] >= 1
    assert eaf_js["explanation"]["reasons"][0].startswith(f"match {eaf_js['match_score']} of 100: fit ")
    assert "preferred region" in eaf_js["explanation"]["reasons"][0]

    # A lower limit shows the head of the same list and says how many more there are.
    head = get(client, path, shelf.buyer, limit=3)
    assert_readable(head, limit=3)
    assert head["matches"] == matches[:3]
    assert (head["eligible"], head["relevant"], head["shown"], head["more"]) == (
        full["eligible"], full["relevant"], 3, full["relevant"] - 3,
    )  # fmt: skip


def test_search_and_near_misses_read_on_the_same_scale(shelf: Shelf, client: TestClient) -> None:
    response = client.post(
        "/search",
        json={"text": "HRB400E rebar from an electric arc furnace", "limit": 2, "require_verified": True},
        headers=shelf.buyer.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert_readable(body, limit=2)
    assert body["more"] >= 1
    # A ceiling that only some pass: the rest are near misses, scored on the matches' scale, no bonuses.
    tight = get(client, f"/needs/{shelf.need_id}/matches", shelf.buyer, max_pcf=0.6, max_pcf_unit="tCO2e/t")
    assert_readable(tight, limit=10)
    assert tight["near_misses"]
    for miss in tight["near_misses"]:
        assert 0 <= miss["match_score"] <= 100
        # The relevance (the model's probability) alone on the matches' scale, where the best possible
        # match, certain and earning every bonus, reads 100 (`relevance` is rounded to 4 places here).
        alone = 100 * miss["relevance"] / (1 + most_bonus())
        assert abs(miss["match_score"] - alone) <= 0.5 + 1e-2


def test_the_vendor_sees_one_number_explained(shelf: Shelf, session: Session, client: TestClient) -> None:
    offer_id = shelf.offer_ids["eaf-js"]
    for index in range(4):
        make_need(
            session, owner=shelf.buyer.organisation, external_id=f"more-{index}",
            text=f"Scrap-based rebar HRB400E for bridge {index}, electric arc furnace",
            region_preference="Jiangsu" if index % 2 else None,
        )  # fmt: skip
    session.commit()
    full = get(client, f"/offers/{offer_id}/matches", shelf.vendor, limit=100)
    assert_readable(full, limit=100)
    assert full["relevant"] >= 4
    head = get(client, f"/offers/{offer_id}/matches", shelf.vendor, limit=2)
    assert_readable(head, limit=2)
    assert head["matches"] == full["matches"][:2] and head["more"] == full["relevant"] - 2
    # The buyer's and the vendor's view read the same number for the same pair.
    buyer = get(client, f"/needs/{shelf.need_id}/matches", shelf.buyer, limit=100)
    seen_by_buyer = next(m for m in buyer["matches"] if m["offer"]["id"] == offer_id)
    seen_by_vendor = next(m for m in full["matches"] if m["need"]["id"] == shelf.need_id)
    assert seen_by_vendor["match_score"] == seen_by_buyer["match_score"]
    assert seen_by_vendor["explanation"]["score_parts"] == seen_by_buyer["explanation"]["score_parts"]


def test_a_needs_search_reads_on_the_same_scale(shelf: Shelf, session: Session, client: TestClient) -> None:
    for index in range(3):
        make_need(
            session, owner=shelf.buyer.organisation, external_id=f"rebar-{index}",
            text=f"Low-carbon rebar HRB400E for metro line {index}",
        )  # fmt: skip
    session.commit()
    response = client.post(
        "/needs/search",
        json={"text": "HRB400E rebar for a metro line", "limit": 2},
        headers=shelf.vendor.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert_readable(body, limit=2)
    assert body["more"] >= 1
    for match in body["matches"]:  # needs carry no footprint: no bonuses
        parts = match["explanation"]["score_parts"]
        assert parts["verified"] == parts["headroom"] == parts["region"] == 0


# --- the pages -------------------------------------------------------------------------------------


def cards(html: str, list_id: str) -> list[tuple[int, list[int]]]:
    """Each card's shown score and the numbers of its score line (the total, then each part)."""
    section = html.split(f'data-testid="{list_id}"', 1)[1].split("</ol>", 1)[0]
    found = []
    for card in section.split('class="card"')[1:]:
        score = re.search(r'data-testid="match-score">(\d+)<', card)
        line = re.search(r'data-testid="score-parts">([^<]+)</li>', card)
        assert score is not None and line is not None, card
        found.append((int(score.group(1)), [int(n) for n in re.findall(r"\d+", line.group(1))]))
    return found


def summary_numbers(html: str, summary_id: str) -> list[int]:
    summary = html.split(f'data-testid="{summary_id}"', 1)[1].split("</p>", 1)[0]
    return [int(n) for n in re.findall(r"(?<![\w.])\d+(?![\w.])", re.sub(r"<[^>]+>", " ", summary))]


def more_link(html: str) -> str:
    found = re.search(r'href="([^"]+)" data-testid="more-matches"', html)
    assert found is not None
    return found.group(1).replace("&amp;", "&")


def assert_cards_readable(found: list[tuple[int, list[int]]]) -> None:
    scores = [score for score, _ in found]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 100 for s in scores), scores
    for score, (total, *parts) in found:
        assert total == score == sum(parts), (score, total, parts)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_buyers_page_counts_what_it_shows_and_shows_the_rest(
    shelf: Shelf, client: TestClient, language: str
) -> None:
    api = get(client, f"/needs/{shelf.need_id}/matches", shelf.buyer, limit=100)
    sign_in(client, shelf.buyer.key)
    client.cookies.set("mm_lang", language)
    page = client.get(f"/ui/needs/{shelf.need_id}", params={"limit": 3})
    assert page.status_code == 200
    shown = cards(page.text, "matches")
    assert len(shown) == 3
    assert_cards_readable(shown)
    # "Of the N offers you may see, E pass the filters, R relevant; showing 3 — R-3 more"
    assert summary_numbers(page.text, "summary")[:5] == [
        api["candidates"], api["eligible"], api["relevant"], 3, api["relevant"] - 3,
    ]  # fmt: skip
    assert ("more" if language == "en" else "另有") in page.text.split('data-testid="summary"', 1)[1]
    # The link shows the rest: every relevant offer, the same three first.
    rest = client.get(more_link(page.text))
    assert rest.status_code == 200
    everything = cards(rest.text, "matches")
    assert len(everything) == api["relevant"] and everything[:3] == shown
    assert_cards_readable(everything)
    assert [score for score, _ in everything] == [m["match_score"] for m in api["matches"]]
    assert 'data-testid="more-matches"' not in rest.text
    assert summary_numbers(rest.text, "summary")[:4] == [
        api["candidates"], api["eligible"], api["relevant"], api["relevant"],
    ]  # fmt: skip


def test_the_vendors_page_reads_one_number_and_shows_the_rest(
    shelf: Shelf, session: Session, client: TestClient
) -> None:
    offer_id = shelf.offer_ids["eaf-js"]
    for index in range(3):
        make_need(
            session, owner=shelf.buyer.organisation, external_id=f"bridge-{index}",
            text=f"Scrap-based rebar HRB400E for bridge {index}",
        )  # fmt: skip
    session.commit()
    api = get(client, f"/offers/{offer_id}/matches", shelf.vendor, limit=100)
    sign_in(client, shelf.vendor.key)
    page = client.get(f"/ui/offers/{offer_id}", params={"limit": 2})
    assert page.status_code == 200
    shown = cards(page.text, "needs")
    assert len(shown) == 2
    assert_cards_readable(shown)
    assert "relevance" not in re.sub(r"<[^>]+>", " ", page.text)  # one number, not two
    assert summary_numbers(page.text, "match-summary")[:5] == [
        api["candidates"], api["eligible"], api["relevant"], 2, api["relevant"] - 2,
    ]  # fmt: skip
    rest = client.get(more_link(page.text))
    everything = cards(rest.text, "needs")
    assert len(everything) == api["relevant"] and everything[:2] == shown
    assert [score for score, _ in everything] == [m["match_score"] for m in api["matches"]]


# --- the mapping -------------------------------------------------------------------------------------

signals_strategy = st.builds(
    Signals,
    dense=st.floats(-1, 1),
    lexical=st.floats(0, 1),
    category_agreement=st.sampled_from([0.0, 0.5, 1.0]),
)
secondary_strategy = st.none() | st.builds(
    Secondary,
    verified=st.booleans(),
    headroom_ratio=st.none() | st.floats(-2, 3),
    region_preferred=st.none() | st.booleans(),
)


def raw_score(signals: Signals, secondary: Secondary | None) -> float:
    return relevance(signals) + (secondary_bonus(secondary) if secondary is not None else 0.0)


@settings(max_examples=300, deadline=None)
@given(signals_strategy, secondary_strategy, signals_strategy, secondary_strategy)
def test_points_add_up_and_rise_with_the_score(
    signals: Signals, secondary: Secondary | None, other: Signals, other_secondary: Secondary | None
) -> None:
    mine, theirs = (
        points(signals=signals, secondary=secondary),
        points(signals=other, secondary=other_secondary),
    )
    for read in (mine, theirs):
        assert 0 <= read.total <= 100
        parts = [getattr(read, part) for part in PARTS]
        assert all(part >= 0 for part in parts) and sum(parts) == read.total
    if raw_score(signals, secondary) <= raw_score(other, other_secondary):
        assert mine.total <= theirs.total
