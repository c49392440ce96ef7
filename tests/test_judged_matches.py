"""Matches as the model of relevance decides them (issue 12): the product asked for first, no list of
neighbours for a product nobody lists, the probability as the score, the same in the vendor's view."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from matchmaker.db.models import Offer
from tests.factories import Party, make_need, make_offer, make_party
from tests.web_support import sign_in

# A hydrogen shelf: the commodity in both languages, and neighbours of it (the equipment that makes it, a
# steel product made with it, a service for the equipment).
SHELF = [
    # key, title, description, category, unit, footprint, language
    ("h2-zh", "风光耦合碱性电解绿氢（管道供应）", "内蒙古风光发电电解水制氢，管道输送，纯度99.97%。",
     "hydrogen", "kgCO2e/kg", 0.8, "zh"),
    ("h2-en", "Green hydrogen from PEM electrolysis, tube-trailer delivery",
     "Hydrogen from PEM electrolysers run on wind power, 99.99% purity, delivered by tube trailer.",
     "hydrogen", "kgCO2e/kg", 0.9, "en"),
    ("electrolyser", "Alkaline electrolyser stack, 1,000 Nm3/h",
     "Pressurised alkaline electrolyser for green hydrogen plants, with rectifier and gas separation.",
     "hydrogen", None, None, "en"),
    ("plate", "Hydrogen-DRI based heavy plate, S355",
     "Heavy plate rolled from hydrogen direct-reduced iron melted in an electric arc furnace.",
     "steel", "tCO2e/t", 0.6, "en"),
    ("om", "Electrolyser operation and maintenance service",
     "Remote monitoring, stack inspection and spare parts for electrolysis plants.",
     "hydrogen", None, None, "en"),
]  # fmt: skip


@pytest.fixture
def shelf(session: Session) -> dict[str, Any]:
    vendor = make_party(session, name="Hydrogen Shelf Co", kind="vendor", role="vendor")
    buyer = make_party(session, name="DRI Steelworks", kind="buyer", role="buyer")
    ids = {}
    for key, title, description, category, unit, value, language in SHELF:
        values: dict[str, Any] = {"pcf_value": value, "pcf_unit": unit} if unit else {}
        offer = make_offer(
            session, owner=vendor.organisation, external_id=key, title=title, description=description,
            category=category, language=language, **values,
        )  # fmt: skip
        if unit is None:
            offer.pcf_value = offer.pcf_unit = None
        ids[key] = offer.id
    session.commit()
    return {"vendor": vendor, "buyer": buyer, "ids": ids}


def matches(client: TestClient, session: Session, buyer: Party, text: str, category: str) -> dict[str, Any]:
    need = make_need(session, owner=buyer.organisation, external_id=text[:20], text=text, category=category)
    session.commit()
    response = client.get(f"/needs/{need.id}/matches", params={"limit": 100}, headers=buyer.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    body["need_id"] = need.id
    return body


def test_the_product_asked_for_comes_before_its_neighbours_in_either_language(
    shelf: dict[str, Any], client: TestClient, session: Session
) -> None:
    body = matches(
        client, session, shelf["buyer"], "为氢基竖炉采购绿氢，管道或长管拖车供应，年需求约2万吨", "hydrogen"
    )
    shown = [m["offer"]["external_id"] for m in body["matches"]]
    assert set(shown[:2]) == {"h2-zh", "h2-en"}, shown
    assert "plate" not in shown  # another category, named in passing: not a match
    scores = [m["match_score"] for m in body["matches"]]
    assert scores == sorted(scores, reverse=True)
    assert body["relevant"] == len(shown) and body["more"] == 0
    # A neighbour listed below the answers says so, on the card too, before its footprint is drawn.
    other = {m["offer"]["external_id"]: m["explanation"]["other_product"] for m in body["matches"]}
    assert not other["h2-zh"] and not other["h2-en"] and all(other[key] for key in shown[2:]), other
    sign_in(client, shelf["buyer"].key)
    client.cookies.set("mm_lang", "zh")
    page = client.get(f"/ui/needs/{body['need_id']}")
    assert page.status_code == 200
    assert page.text.count('data-testid="other-product"') == len(shown) - 2
    assert "可能并非所需产品" in page.text


def test_a_product_nobody_lists_gets_an_empty_list_not_its_neighbours(
    shelf: dict[str, Any], client: TestClient, session: Session
) -> None:
    body = matches(
        client, session, shelf["buyer"],
        "Liquid organic hydrogen carrier (LOHC) dibenzyltoluene loading terminal for shipping hydrogen",
        "hydrogen",
    )  # fmt: skip
    assert body["matches"] == [], [m["offer"]["title"] for m in body["matches"]]
    assert body["relevant"] == 0 and body["eligible"] >= 3
    assert "none is relevant enough" in body["no_match_reason"]


def test_the_vendor_sees_a_need_exactly_when_its_buyer_sees_the_offer(
    shelf: dict[str, Any], client: TestClient, session: Session
) -> None:
    body = matches(client, session, shelf["buyer"], "Green hydrogen delivered by tube trailer", "hydrogen")
    buyer_scores = {m["offer"]["id"]: m["match_score"] for m in body["matches"]}
    for key, offer_id in shelf["ids"].items():
        response = client.get(
            f"/offers/{offer_id}/matches", params={"limit": 100}, headers=shelf["vendor"].headers
        )
        assert response.status_code == 200, response.text
        seen = {m["need"]["id"]: m["match_score"] for m in response.json()["matches"]}
        assert seen.get(body["need_id"]) == buyer_scores.get(offer_id), key


def test_counts_order_and_the_vendors_view_do_not_depend_on_the_limit(
    shelf: dict[str, Any], client: TestClient, session: Session
) -> None:
    # More hydrogen than the model judges (`ranking.JUDGED`), in both languages and several regions.
    regions = ["Inner Mongolia", "Jilin", "Xinjiang", "Ningxia", "Gansu", "Hebei"]
    for index in range(30):
        english = index % 2 == 0
        make_offer(
            session, owner=shelf["vendor"].organisation, external_id=f"h2-{index}", category="hydrogen",
            title=(f"Green hydrogen from wind-powered electrolysis, plant {index}" if english
                   else f"风电电解水制绿氢（{index}号项目）"),
            description=("Electrolytic hydrogen, 99.97% purity, tube-trailer delivery." if english
                         else "可再生电力电解水制氢，纯度99.97%，长管拖车配送。"),
            language="en" if english else "zh", region=regions[index % len(regions)],
            pcf_value=0.5 + index / 20, pcf_unit="kgCO2e/kg", pcf_verified=index % 3 == 0,
        )  # fmt: skip
    session.commit()
    body = matches(client, session, shelf["buyer"], "Green hydrogen delivered by tube trailer", "hydrogen")
    everything = body["matches"]
    assert body["eligible"] >= 30 and body["shown"] == len(everything) == body["relevant"] <= 20
    for limit in (1, 5, 10):
        response = client.get(
            f"/needs/{body['need_id']}/matches", params={"limit": limit}, headers=shelf["buyer"].headers
        )
        head = response.json()
        assert (head["eligible"], head["relevant"]) == (body["eligible"], body["relevant"])
        assert head["matches"] == everything[:limit] and head["more"] == body["relevant"] - limit
    # No neighbour above an answer, and the list in the order of the number shown.
    others = [m["explanation"]["other_product"] for m in everything]
    assert others == sorted(others), others
    assert [m["match_score"] for m in everything] == sorted(
        (m["match_score"] for m in everything), reverse=True
    )
    # Each vendor sees the need exactly when its offer is among the buyer's matches, with the same score.
    shown = {m["offer"]["id"]: m["match_score"] for m in everything}
    vendor = client.get(
        f"/offers/{everything[0]['offer']['id']}/matches",
        params={"limit": 100},
        headers=shelf["vendor"].headers,
    ).json()
    assert {m["need"]["id"]: m["match_score"] for m in vendor["matches"]}.get(body["need_id"]) == shown[
        everything[0]["offer"]["id"]
    ]
    for offer_id in list(shelf["ids"].values()):
        seen = client.get(
            f"/offers/{offer_id}/matches", params={"limit": 100}, headers=shelf["vendor"].headers
        ).json()
        assert {m["need"]["id"]: m["match_score"] for m in seen["matches"]}.get(body["need_id"]) == shown.get(
            offer_id
        ), offer_id


def test_a_search_the_glossary_cannot_place_is_judged_on_its_text(
    shelf: dict[str, Any], client: TestClient
) -> None:
    response = client.post(
        # Concepts of two categories (electrolysers, wind power): no category is read from it.
        "/search", json={"text": "electrolysers run on wind power", "limit": 10},
        headers=shelf["buyer"].headers,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    shown = [m["offer"]["external_id"] for m in body["matches"]]
    assert body["criteria"]["category"] == [] and shown[:1] == ["h2-en"], shown


def test_the_vendors_view_follows_a_change_to_the_buyers_list(
    shelf: dict[str, Any], client: TestClient, session: Session
) -> None:
    body = matches(client, session, shelf["buyer"], "Green hydrogen delivered by tube trailer", "hydrogen")
    electrolyser = shelf["ids"]["electrolyser"]

    def buyer_and_vendor_scores() -> tuple[int | None, int | None]:
        buyer = client.get(f"/needs/{body['need_id']}/matches", headers=shelf["buyer"].headers).json()
        vendor = client.get(f"/offers/{electrolyser}/matches", headers=shelf["vendor"].headers).json()
        return (
            next((m["match_score"] for m in buyer["matches"] if m["offer"]["id"] == electrolyser), None),
            next((m["match_score"] for m in vendor["matches"] if m["need"]["id"] == body["need_id"]), None),
        )

    before = buyer_and_vendor_scores()
    assert before[0] is not None and before[1] == before[0]
    assert buyer_and_vendor_scores() == before  # the vendor's view from the kept ranking
    # The hydrogen itself is withdrawn: the electrolyser is now the closest offer the buyer may see, its
    # score changes, and the vendor's view (which kept the buyer's ranking) follows.
    for key in ("h2-zh", "h2-en"):
        offer = session.get(Offer, shelf["ids"][key])
        assert offer is not None
        offer.status = "archived"
    session.commit()
    after = buyer_and_vendor_scores()
    assert after[0] != before[0] and after[1] == after[0], (before, after)
