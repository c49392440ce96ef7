"""Matching over HTTP: the buyer's view, the vendor's view and free-text search, on a small realistic market.

The market mixes Chinese and English offers of steel, hydrogen and cement, stated in different units, some
verified and some not, from CN100 members and outsiders. The app is the real one, with the real multilingual
model, over a per-test rolled-back database.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from matchmaker.db.models import Need
from matchmaker.parties.service import issue_key
from tests.factories import Party, make_need, make_offer, make_party
from tests.markets import Market

CHINESE_REBAR_NEED: dict[str, Any] = {
    "external_id": "rebar-zh",
    "text": "采购电炉短流程螺纹钢，碳足迹不高于0.8 kgCO2e/kg",
    "category": "steel",
    "max_pcf": 0.8,
    "max_pcf_unit": "kgCO2e/kg",
    "require_verified": True,
    "alliance_only": "CN100",
}


def matches_of(client: TestClient, need_id: int, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get(f"/needs/{need_id}/matches", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids_of(body: dict[str, Any]) -> list[str]:
    return [match["offer"]["external_id"] for match in body["matches"]]


def post_need(client: TestClient, party: Party, **need: Any) -> int:
    response = client.post("/needs", json=need, headers=party.headers)
    assert response.status_code == 201, response.text
    identifier: int = response.json()["id"]
    return identifier


# --- the buyer's view ------------------------------------------------------------------------------------


def test_chinese_need_finds_english_eaf_rebar_converted_and_explained(
    market: Market, client: TestClient
) -> None:
    need_id = post_need(client, market.buyer, **CHINESE_REBAR_NEED)

    body = matches_of(client, need_id, market.buyer.headers)

    assert body["matches"], body
    first = body["matches"][0]
    assert first["rank"] == 1
    assert first["offer"]["external_id"] == "eaf-rebar"
    assert (first["offer"]["pcf_value"], first["offer"]["pcf_unit"]) == (0.62, "tCO2e/t")
    explanation = first["explanation"]
    footprint = explanation["footprint"]
    assert footprint["stated_value"] == 0.62 and footprint["stated_unit"] == "tCO2e/t"
    assert footprint["value"] == pytest.approx(0.62)
    assert footprint["unit"] == "kgCO2e/kg"
    assert footprint["ceiling"] == pytest.approx(0.8)
    assert footprint["below_ceiling_by"] == pytest.approx(0.18)
    assert footprint["below_ceiling_percent"] == pytest.approx(22.5)
    filters = {f["filter"]: f for f in explanation["filters"]}
    assert set(filters) == {"alliance_only", "require_verified", "max_pcf"}
    assert all(f["passed"] for f in explanation["filters"]), explanation["filters"]
    assert explanation["reasons"] and all(isinstance(r, str) and r for r in explanation["reasons"])
    assert explanation["verified"] is True and explanation["same_category"] is True
    assert explanation["alliances"] == ["CN100"]
    assert explanation["region_preferred"] is None  # the need states no preference
    # Every match, not only the first, passed every hard filter of the need.
    for match in body["matches"]:
        assert all(f["passed"] for f in match["explanation"]["filters"]), match
    # Over the ceiling, unverified, not a CN100 member: never a match, whatever their relevance.
    assert {"bof-rebar", "zh-rebar", "outsider-rebar"}.isdisjoint(ids_of(body))
    assert body["criteria"]["max_pcf"] == 0.8 and body["criteria"]["max_pcf_unit"] == "kgCO2e/kg"
    assert body["criteria"]["require_verified"] is True and body["criteria"]["alliance_only"] == "CN100"
    assert body["need"]["id"] == need_id and body["no_match_reason"] is None
    assert body["candidates"] == len(market.offers)


def test_a_match_reads_the_feed_of_changes_once(
    market: Market, client: TestClient, connection: Connection
) -> None:
    """The offers' index and the offer table each follow the feed; a match reads it for both in one query
    (under load every round trip waits for the database)."""
    need_id = post_need(client, market.buyer, **CHINESE_REBAR_NEED)
    matches_of(client, need_id, market.buyer.headers)
    feed_reads: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM changes" in statement:
            feed_reads.append(statement)

    event.listen(connection, "before_cursor_execute", note)
    try:
        assert ids_of(matches_of(client, need_id, market.buyer.headers))[0] == "eaf-rebar"
    finally:
        event.remove(connection, "before_cursor_execute", note)
    assert len(feed_reads) == 1, feed_reads


def test_filtered_out_offers_are_near_misses_with_the_filters_they_failed(
    market: Market, client: TestClient
) -> None:
    need_id = post_need(client, market.buyer, **CHINESE_REBAR_NEED)

    near = {
        n["offer"]["external_id"]: n for n in matches_of(client, need_id, market.buyer.headers)["near_misses"]
    }

    assert near["bof-rebar"]["failed_filters"] == ["max_pcf"]
    assert near["zh-rebar"]["failed_filters"] == ["require_verified"]
    assert near["outsider-rebar"]["failed_filters"] == ["alliance_only"]
    for miss in near.values():
        failed = {f["filter"] for f in miss["filters"] if not f["passed"]}
        assert failed == set(miss["failed_filters"])


def test_a_tighter_ceiling_in_the_query_removes_the_offer(market: Market, client: TestClient) -> None:
    need_id = post_need(client, market.buyer, **CHINESE_REBAR_NEED)

    body = matches_of(client, need_id, market.buyer.headers, max_pcf=0.5, max_pcf_unit="kgCO2e/kg")

    assert "eaf-rebar" not in ids_of(body)
    assert body["matches"] == [], body["matches"]
    assert body["no_match_reason"] and "no qualifying offer" in body["no_match_reason"]
    near = {n["offer"]["external_id"]: n for n in body["near_misses"]}
    assert near["eaf-rebar"]["failed_filters"] == ["max_pcf"]
    detail = next(f["detail"] for f in near["eaf-rebar"]["filters"] if f["filter"] == "max_pcf")
    assert "0.62" in detail and "0.5" in detail
    assert body["criteria"]["max_pcf"] == 0.5
    # The need itself is unchanged: without the refinement the offer is back.
    assert ids_of(matches_of(client, need_id, market.buyer.headers))[0] == "eaf-rebar"


def test_a_ceiling_in_another_unit_of_the_family_is_converted(market: Market, client: TestClient) -> None:
    need_id = post_need(client, market.buyer, **CHINESE_REBAR_NEED)

    # 700 kgCO2e/t = 0.7 kgCO2e/kg: the 0.62 tCO2e/t rebar passes; 600 kgCO2e/t does not let it through.
    passing = matches_of(client, need_id, market.buyer.headers, max_pcf=700, max_pcf_unit="kgCO2e/t")
    failing = matches_of(client, need_id, market.buyer.headers, max_pcf=600, max_pcf_unit="kgCO2e/t")

    assert ids_of(passing)[0] == "eaf-rebar"
    assert passing["matches"][0]["explanation"]["footprint"]["value"] == pytest.approx(620)
    assert passing["matches"][0]["explanation"]["footprint"]["unit"] == "kgCO2e/t"
    assert "eaf-rebar" not in ids_of(failing)


def test_a_ceiling_without_its_unit_in_the_query_is_a_422(market: Market, client: TestClient) -> None:
    need_id = post_need(client, market.buyer, **CHINESE_REBAR_NEED)
    response = client.get(f"/needs/{need_id}/matches?max_pcf=0.5", headers=market.buyer.headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "max_pcf_unit" in {error["field"] for error in response.json()["errors"]}


def test_offer_changes_through_the_api_show_in_the_next_request(market: Market, client: TestClient) -> None:
    need_id = post_need(client, market.buyer, **CHINESE_REBAR_NEED)
    vendor = market.eaf_steel
    created = client.post(
        "/offers",
        json={
            "external_id": "green-power-rebar",
            "title": "Green-power EAF rebar HRB500E",
            "description": "Rebar from scrap in an electric arc furnace run on wind and solar power.",
            "kind": "product",
            "category": "steel",
            "region": "Zhejiang",
            "pcf_value": 380,
            "pcf_unit": "kgCO2e/t",
            "pcf_verified": True,
            "standard": "ISO 14067",
            "status": "published",
        },
        headers=vendor.headers,
    )
    assert created.status_code == 201, created.text
    offer_id = created.json()["id"]
    # The vendor's tick alone leaves it self-declared, out of a need that asks for verification ...
    assert created.json()["verification_status"] == "self_declared"
    assert "green-power-rebar" not in ids_of(matches_of(client, need_id, market.buyer.headers))
    # ... until the operator accepts its evidence.
    evidence = client.post(f"/offers/{offer_id}/evidence", json=EVIDENCE, headers=vendor.headers)
    assert evidence.status_code == 201, evidence.text
    review = {"decision": "accepted"}
    accepted = client.post(
        f"/evidence/{evidence.json()['id']}/review", json=review, headers=market.operator.headers
    )
    assert accepted.status_code == 200, accepted.text

    listed = matches_of(client, need_id, market.buyer.headers)
    assert "green-power-rebar" in ids_of(listed)
    fresh = next(m for m in listed["matches"] if m["offer"]["id"] == offer_id)
    assert fresh["explanation"]["footprint"]["value"] == pytest.approx(0.38)

    archived = client.patch(f"/offers/{offer_id}", json={"status": "archived"}, headers=vendor.headers)
    assert archived.status_code == 200, archived.text
    after_archive = matches_of(client, need_id, market.buyer.headers)
    assert "green-power-rebar" not in ids_of(after_archive)
    assert offer_id not in {n["offer"]["id"] for n in after_archive["near_misses"]}

    republished = client.patch(f"/offers/{offer_id}", json={"status": "published"}, headers=vendor.headers)
    assert republished.status_code == 200, republished.text
    assert "green-power-rebar" in ids_of(matches_of(client, need_id, market.buyer.headers))

    assert client.delete(f"/offers/{offer_id}", headers=vendor.headers).status_code == 204
    after_delete = matches_of(client, need_id, market.buyer.headers)
    assert "green-power-rebar" not in ids_of(after_delete)
    assert offer_id not in {n["offer"]["id"] for n in after_delete["near_misses"]}
    assert ids_of(after_delete)[0] == "eaf-rebar"


EVIDENCE = {
    "verifier": "China Quality Certification Centre",
    "report_number": "CQC-2026-PCF-0042",
    "verified_on": "2026-10-01",
    "valid_until": "2029-09-30",
}


def test_an_edited_footprint_is_applied_at_once(market: Market, client: TestClient) -> None:
    need_id = post_need(client, market.buyer, **CHINESE_REBAR_NEED)
    offer_id = market.offers["eaf-rebar"].id
    changed = client.patch(f"/offers/{offer_id}", json={"pcf_value": 0.95}, headers=market.eaf_steel.headers)
    assert changed.status_code == 200, changed.text

    body = matches_of(client, need_id, market.buyer.headers)

    assert "eaf-rebar" not in ids_of(body)
    # Above the ceiling now, and no longer verified: its verification spoke for the old value.
    assert {n["offer"]["external_id"]: n["failed_filters"] for n in body["near_misses"]}["eaf-rebar"] == [
        "require_verified",
        "max_pcf",
    ]


def test_region_preference_is_soft(market: Market, client: TestClient) -> None:
    need_id = post_need(
        client,
        market.other_buyer,
        text="Low-carbon rebar made from scrap in an electric arc furnace for a harbour project",
        category="steel",
        max_pcf=1.0,
        max_pcf_unit="tCO2e/t",
        region_preference="Yangtze River Delta",
    )

    body = matches_of(client, need_id, market.other_buyer.headers)

    by_id = {m["offer"]["external_id"]: m for m in body["matches"]}
    assert {"eaf-rebar", "outsider-rebar"} <= set(by_id), ids_of(body)
    assert by_id["eaf-rebar"]["explanation"]["region_preferred"] is True
    assert by_id["eaf-rebar"]["explanation"]["region"] == "Jiangsu"
    assert by_id["outsider-rebar"]["explanation"]["region_preferred"] is False
    assert any("preferred region" in reason for reason in by_id["eaf-rebar"]["explanation"]["reasons"])
    assert "region" not in {f["filter"] for f in by_id["outsider-rebar"]["explanation"]["filters"]}
    assert body["criteria"]["region_preference"] == "Yangtze River Delta"
    assert "bof-rebar" not in by_id  # 2.1 tCO2e/t is over the 1.0 ceiling


def test_request_filters_on_category_and_region_are_hard(market: Market, client: TestClient) -> None:
    need_id = post_need(client, market.other_buyer, text="Low-carbon EAF rebar", category="steel")

    body = matches_of(client, need_id, market.other_buyer.headers, region=["Jiangsu"])

    assert body["matches"], body
    assert {m["offer"]["region"] for m in body["matches"]} == {"Jiangsu"}
    assert "outsider-rebar" not in ids_of(body)
    hydro = matches_of(client, need_id, market.other_buyer.headers, category=["hydrogen"])
    assert all(m["offer"]["category"] == "hydrogen" for m in hydro["matches"])


def test_a_buyer_cannot_see_matches_of_another_buyers_need(market: Market, client: TestClient) -> None:
    need_id = post_need(client, market.buyer, **CHINESE_REBAR_NEED)

    response = client.get(f"/needs/{need_id}/matches", headers=market.other_buyer.headers)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/needs/999999/matches", headers=market.buyer.headers).status_code == 404
    assert client.get(f"/needs/{need_id}/matches").status_code == 401


def test_a_vendor_cannot_see_matches_of_a_private_need(market: Market, client: TestClient) -> None:
    need_id = post_need(client, market.buyer, **{**CHINESE_REBAR_NEED, "visibility": "private"})
    response = client.get(f"/needs/{need_id}/matches", headers=market.eaf_steel.headers)
    assert response.status_code == 404


# --- the vendor's view -----------------------------------------------------------------------------------


def _need(session: Session, owner: Party, external_id: str, **values: Any) -> Need:
    return make_need(session, owner=owner.organisation, external_id=external_id, **values)


def test_vendor_sees_the_open_shared_needs_its_offer_fits(
    market: Market, session: Session, client: TestClient
) -> None:
    text = "采购电炉短流程螺纹钢，用于地铁项目"
    fits = _need(session, market.buyer, "fits", text=text, max_pcf=0.8, max_pcf_unit="kgCO2e/kg")
    private = _need(
        session,
        market.buyer,
        "private",
        text=text,
        max_pcf=0.8,
        max_pcf_unit="kgCO2e/kg",
        visibility="private",
    )
    too_tight = _need(session, market.other_buyer, "tight", text=text, max_pcf=0.3, max_pcf_unit="kgCO2e/kg")
    closed = _need(session, market.other_buyer, "closed", text=text, status="closed")
    session.commit()

    response = client.get(
        f"/offers/{market.offers['eaf-rebar'].id}/matches", headers=market.eaf_steel.headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    found = [m["need"]["id"] for m in body["matches"]]
    assert fits.id in found
    assert private.id not in found and too_tight.id not in found and closed.id not in found
    match = next(m for m in body["matches"] if m["need"]["id"] == fits.id)
    assert match["explanation"]["footprint"]["value"] == pytest.approx(0.62)
    assert match["explanation"]["footprint"]["unit"] == "kgCO2e/kg"
    assert all(f["passed"] for f in match["explanation"]["filters"])
    assert match["explanation"]["reasons"]
    assert body["offer"]["external_id"] == "eaf-rebar"


def test_vendor_view_applies_the_needs_alliance_and_verification_filters(
    market: Market, session: Session, client: TestClient
) -> None:
    text = "Low-carbon EAF rebar for a metro line"
    members_only = _need(session, market.buyer, "cn100", text=text, alliance_only=market.cn100)
    verified_only = _need(session, market.other_buyer, "verified", text=text, require_verified=True)
    open_to_all = _need(session, market.other_buyer, "all", text=text)
    session.commit()

    outsider = client.get(
        f"/offers/{market.offers['outsider-rebar'].id}/matches", headers=market.outsider_steel.headers
    ).json()
    unverified = client.get(
        f"/offers/{market.offers['zh-rebar'].id}/matches", headers=market.zh_steel.headers
    ).json()

    outsider_found = {m["need"]["id"] for m in outsider["matches"]}
    assert open_to_all.id in outsider_found and verified_only.id in outsider_found
    assert members_only.id not in outsider_found
    unverified_found = {m["need"]["id"] for m in unverified["matches"]}
    assert members_only.id in unverified_found and open_to_all.id in unverified_found
    assert verified_only.id not in unverified_found


def test_an_alliance_only_offer_is_matched_only_to_needs_of_member_buyers(
    market: Market, session: Session, client: TestClient
) -> None:
    club_offer = make_offer(
        session,
        owner=market.outsider_steel.organisation,
        external_id="club-rebar",
        title="EAF rebar B500B, club price list",
        description="Reinforcing steel bar from scrap in an electric arc furnace, offered to club members.",
        pcf_value=0.5,
        pcf_unit="tCO2e/t",
        region="Germany",
        visibility="alliance",
        visibility_alliance_id=market.club.id,
    )
    text = "Low-carbon EAF rebar from scrap, electric arc furnace"
    member_need = _need(session, market.buyer, "member", text=text)
    outsider_need = _need(session, market.other_buyer, "outsider", text=text)
    session.commit()

    body = client.get(f"/offers/{club_offer.id}/matches", headers=market.outsider_steel.headers).json()

    found = {m["need"]["id"] for m in body["matches"]}
    assert member_need.id in found
    assert outsider_need.id not in found
    # The buyers' side agrees: only the member sees the offer.
    assert "club-rebar" in ids_of(matches_of(client, member_need.id, market.buyer.headers))
    assert "club-rebar" not in ids_of(matches_of(client, outsider_need.id, market.other_buyer.headers))


def test_an_organisation_that_buys_and_sells_sees_its_own_alliance_only_offer_in_both_views(
    market: Market, session: Session, client: TestClient
) -> None:
    """Its offer is restricted to an alliance it is not a member of; its own need still finds it, and the
    offer's view lists that need: both views decide visibility alike."""
    seller = make_party(session, name="Integrated Rebar Co", kind="both", role="vendor")
    _, buyer_key = issue_key(session=session, organisation=seller.organisation, role="buyer")
    own_offer = make_offer(
        session,
        owner=seller.organisation,
        external_id="own-club-rebar",
        title="EAF rebar B500B for club members",
        description="Reinforcing steel bar from scrap in an electric arc furnace.",
        visibility="alliance",
        visibility_alliance_id=market.club.id,
    )
    need = _need(
        session, Party(seller.organisation, buyer_key), "own", text="Low-carbon EAF rebar from scrap"
    )
    session.commit()

    buyer_view = matches_of(client, need.id, {"Authorization": f"Bearer {buyer_key}"})
    assert "own-club-rebar" in ids_of(buyer_view)
    body = client.get(f"/offers/{own_offer.id}/matches", headers=seller.headers).json()
    assert need.id in {m["need"]["id"] for m in body["matches"]}


def _both_views(
    client: TestClient, market: Market, need_id: int
) -> tuple[dict[str, float], dict[str, float]]:
    """The scores of (need, offer) pairs as the need's buyer sees them and as each offer's vendor does."""
    buyer = {
        m["offer"]["external_id"]: m["score"]
        for m in matches_of(client, need_id, market.other_buyer.headers, limit=100)["matches"]
    }
    owners = {
        "eaf-rebar": market.eaf_steel,
        "bof-rebar": market.bof_steel,
        "zh-rebar": market.zh_steel,
        "outsider-rebar": market.outsider_steel,
        "green-h2": market.hydrogen,
        "lc-cement": market.cement,
    }
    vendor = {}
    for key, owner in owners.items():
        response = client.get(f"/offers/{market.offers[key].id}/matches?limit=100", headers=owner.headers)
        assert response.status_code == 200, response.text
        for match in response.json()["matches"]:
            if match["need"]["id"] == need_id:
                vendor[key] = match["score"]
    return buyer, vendor


def test_buyer_and_vendor_views_agree_on_a_categorised_need(market: Market, client: TestClient) -> None:
    need_id = post_need(
        client, market.other_buyer, text="Low-carbon EAF rebar for a metro line", category="steel"
    )
    buyer, vendor = _both_views(client, market, need_id)
    assert "eaf-rebar" in buyer
    assert set(buyer) == set(vendor)
    for key, score in buyer.items():
        assert vendor[key] == pytest.approx(score, abs=1e-3), key


def test_buyer_and_vendor_views_agree_on_an_uncategorised_need(market: Market, client: TestClient) -> None:
    need_id = post_need(client, market.other_buyer, text="Low-carbon EAF rebar for a metro line")
    buyer, vendor = _both_views(client, market, need_id)
    assert "eaf-rebar" in buyer
    assert "green-h2" not in vendor  # not a rebar: the buyer's view does not list it either
    assert set(buyer) == set(vendor)
    for key, score in buyer.items():
        assert vendor[key] == pytest.approx(score, abs=1e-3), key


def test_a_vendor_cannot_see_matches_of_another_vendors_draft(market: Market, client: TestClient) -> None:
    created = client.post(
        "/offers",
        json={"title": "Draft rebar", "kind": "product", "category": "steel"},
        headers=market.eaf_steel.headers,
    )
    offer_id = created.json()["id"]
    assert client.get(f"/offers/{offer_id}/matches", headers=market.bof_steel.headers).status_code == 404
    own = client.get(f"/offers/{offer_id}/matches", headers=market.eaf_steel.headers)
    assert own.status_code == 200
    assert own.json()["matches"] == [] and "not matchable" in own.json()["no_match_reason"]


# --- free-text search ------------------------------------------------------------------------------------


def search(client: TestClient, party: Party, **body: Any) -> dict[str, Any]:
    response = client.post("/search", json=body, headers=party.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_chinese_search_finds_the_english_offer(market: Market, client: TestClient) -> None:
    body = search(client, market.other_buyer, text="电炉短流程螺纹钢")

    found = ids_of(body)
    assert "eaf-rebar" in found[:3], found
    assert "green-h2" not in found[:3] and "lc-cement" not in found[:3]
    assert body["need"] is None and body["query"] == "电炉短流程螺纹钢"


def test_search_filters_are_hard(market: Market, client: TestClient) -> None:
    body = search(
        client,
        market.other_buyer,
        text="electric arc furnace rebar",
        max_pcf=600,
        max_pcf_unit="kgCO2e/t",
        require_verified=True,
        category=["steel"],
        region=["Jiangsu", "Germany"],
    )

    assert ids_of(body), body
    assert set(ids_of(body)) <= {"eaf-rebar", "outsider-rebar"}
    assert "zh-rebar" not in ids_of(body)  # unverified
    assert "bof-rebar" not in ids_of(body)  # over the ceiling and not in the regions
    for match in body["matches"]:
        assert match["offer"]["pcf_verified"] and match["offer"]["category"] == "steel"
        assert match["offer"]["region"] in {"Jiangsu", "Germany"}
        assert {f["filter"] for f in match["explanation"]["filters"]} == {
            "require_verified",
            "max_pcf",
            "category",
            "region",
        }
        assert all(f["passed"] for f in match["explanation"]["filters"])
    tighter = search(
        client, market.other_buyer, text="electric arc furnace rebar", max_pcf=0.5, max_pcf_unit="kgCO2e/kg"
    )
    assert "eaf-rebar" not in ids_of(tighter) and "outsider-rebar" in ids_of(tighter)


def test_a_ceiling_written_in_the_search_text_is_applied(market: Market, client: TestClient) -> None:
    body = search(client, market.other_buyer, text="电炉螺纹钢，碳足迹不高于0.5 kgCO2e/kg")

    assert "eaf-rebar" not in ids_of(body)
    assert body["criteria"]["max_pcf"] == 0.5 and body["criteria"]["max_pcf_unit"] == "kgCO2e/kg"
    for match in body["matches"]:
        assert match["explanation"]["footprint"]["value"] <= 0.5


def test_search_with_alliance_only_keeps_members(market: Market, client: TestClient) -> None:
    body = search(client, market.other_buyer, text="EAF rebar", alliance_only="CN100")
    assert "outsider-rebar" not in ids_of(body)
    assert all("CN100" in m["offer"]["alliances"] for m in body["matches"])


def test_search_ceiling_without_its_unit_is_a_422_naming_the_field(
    market: Market, client: TestClient
) -> None:
    response = client.post(
        "/search", json={"text": "螺纹钢", "max_pcf": 0.8}, headers=market.other_buyer.headers
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert "max_pcf_unit" in {error["field"] for error in problem["errors"]}


def test_search_does_not_show_offers_the_caller_may_not_see(
    market: Market, session: Session, client: TestClient
) -> None:
    make_offer(
        session,
        owner=market.outsider_steel.organisation,
        external_id="club-rebar",
        title="EAF rebar, club price list",
        description="Electric arc furnace rebar for club members",
        visibility="alliance",
        visibility_alliance_id=market.club.id,
    )
    make_offer(session, owner=market.eaf_steel.organisation, external_id="draft-rebar", status="draft")
    session.commit()

    outsider = ids_of(search(client, market.other_buyer, text="EAF rebar", limit=50))
    member = ids_of(search(client, market.buyer, text="EAF rebar", limit=50))

    assert "club-rebar" not in outsider and "club-rebar" in member
    assert "draft-rebar" not in outsider and "draft-rebar" not in member
