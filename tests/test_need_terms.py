"""A need's quantity, today's footprint, delivery window and last day: validated, the abatement each match
shows, lists sorted by it, and the need closing itself after its last day (its suppliers told)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.alerts.producer import AlertProducer
from matchmaker.db.session import transaction
from matchmaker.needs.service import close_overdue
from tests.markets import METRO_REBAR_NEED, Market

REBAR_NEED = {
    **METRO_REBAR_NEED,
    "quantity": 20000,
    "quantity_unit": "t",
    "baseline_pcf": 2.1,
    "baseline_pcf_unit": "tCO2e/t",
    "delivery_from": "2027-01-01",
    "delivery_until": "2027-12-31",
}


def test_each_match_shows_the_tonnes_avoided_and_the_list_sorts_by_them(
    client: TestClient, market: Market
) -> None:
    posted = client.post("/needs", json=REBAR_NEED, headers=market.buyer.headers)
    assert posted.status_code == 201, posted.text
    need = posted.json()
    assert (need["quantity"], need["quantity_unit"], need["delivery_until"]) == (20000, "t", "2027-12-31")
    matches = client.get(f"/needs/{need['id']}/matches", headers=market.buyer.headers).json()["matches"]
    by_offer = {m["offer"]["id"]: m["abatement_tco2e_per_year"] for m in matches}
    # 20,000 t a year at 0.62 instead of 2.1 tCO2e/t: 29,600 t avoided.
    assert by_offer[market.offers["eaf-rebar"].id] == 29600.0
    ordered = client.get(
        f"/needs/{need['id']}/matches", params={"sort": "abatement"}, headers=market.buyer.headers
    ).json()["matches"]
    avoided = [m["abatement_tco2e_per_year"] for m in ordered]
    assert avoided == sorted(avoided, reverse=True) and len(ordered) == len(matches)
    lowest = client.get(
        f"/needs/{need['id']}/matches", params={"sort": "footprint", "limit": 1}, headers=market.buyer.headers
    ).json()
    assert lowest["shown"] == 1 and lowest["matches"][0]["offer"]["id"] == ordered[0]["offer"]["id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": 5, "quantity_unit": None}, "quantity_unit"),
        ({"quantity_unit": "MWh"}, "quantity_unit"),  # energy against a footprint per tonne
        ({"quantity_unit": "furlongs"}, "quantity_unit"),
        ({"baseline_pcf_unit": None}, "baseline_pcf_unit"),
        ({"delivery_from": "2027-12-31", "delivery_until": "2027-01-01"}, "delivery_until"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": 1e300}, "quantity"),
        ({"respond_by": "2027-02-30"}, "respond_by"),
    ],
)
def test_inconsistent_terms_are_refused(
    client: TestClient, market: Market, change: dict[str, Any], field: str
) -> None:
    response = client.post("/needs", json={**REBAR_NEED, **change}, headers=market.buyer.headers)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    # A field's own error names it; a check across fields names it in its message.
    assert any(field in (e["field"], *e["message"].split()) for e in errors), errors


def test_a_need_closes_itself_after_its_last_day_and_its_suppliers_hear_so(
    client: TestClient, market: Market, session_factory: sessionmaker[Session]
) -> None:
    alerts = AlertProducer()
    alerts.start(session_factory)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    yesterday = date.today() - timedelta(days=1)
    need = client.post(
        "/needs", json={**REBAR_NEED, "respond_by": yesterday.isoformat()}, headers=market.buyer.headers
    )
    need_id = need.json()["id"]
    alerts.run(engine, session_factory)
    told = [
        a
        for a in client.get("/alerts", headers=market.eaf_steel.headers).json()["items"]
        if a["need_id"] == need_id
    ]
    assert [a["kind"] for a in told] == ["need_fits_offer"]
    with transaction(session_factory) as session:
        assert close_overdue(session=session, today=date.today() + timedelta(days=1)) == [need_id]
    assert client.get(f"/needs/{need_id}", headers=market.buyer.headers).json()["status"] == "closed"
    alerts.run(engine, session_factory)
    kinds = [
        a["kind"]
        for a in client.get("/alerts", headers=market.eaf_steel.headers).json()["items"]
        if a["need_id"] == need_id
    ]
    assert sorted(kinds) == ["need_closed", "need_fits_offer"]
    # A supplier never told of it hears nothing.
    assert all(
        a["need_id"] != need_id for a in client.get("/alerts", headers=market.cement.headers).json()["items"]
    )


def test_a_private_need_closing_tells_no_supplier(
    client: TestClient, market: Market, session_factory: sessionmaker[Session]
) -> None:
    alerts = AlertProducer()
    alerts.start(session_factory)
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    need = client.post(
        "/needs",
        json={**REBAR_NEED, "respond_by": yesterday, "visibility": "private"},
        headers=market.buyer.headers,
    ).json()["id"]
    asked = {"offer_id": market.offers["eaf-rebar"].id, "need_id": need, "message": "price?"}
    assert client.post("/inquiries", json=asked, headers=market.buyer.headers).status_code == 201
    with transaction(session_factory) as session:
        assert close_overdue(session=session, today=date.today()) == [need]
    alerts.run(client.app.state.engine, session_factory)  # type: ignore[attr-defined]
    assert all(
        a["need_id"] != need for a in client.get("/alerts", headers=market.eaf_steel.headers).json()["items"]
    )


def test_the_matches_come_a_page_at_a_time(client: TestClient, market: Market) -> None:
    need = client.post("/needs", json={**REBAR_NEED, "max_pcf": 5}, headers=market.buyer.headers).json()["id"]
    every = client.get(f"/needs/{need}/matches", headers=market.buyer.headers).json()
    listed = [m["offer"]["id"] for m in every["matches"]]
    assert len(listed) >= 3
    pages = [
        client.get(
            f"/needs/{need}/matches", params={"limit": 2, "page": n}, headers=market.buyer.headers
        ).json()
        for n in (1, 2)
    ]
    assert [m["offer"]["id"] for p in pages for m in p["matches"]] == listed[:4]
    assert [m["rank"] for m in pages[1]["matches"]] == list(range(3, 3 + len(pages[1]["matches"])))
    assert (pages[0]["more"], pages[1]["page"]) == (every["relevant"] - 2, 2)
