"""Alerts made from the feed of committed changes: once per event, to the right organisation only, saying
what changed. The producer runs here as a served process runs it after each application of the feed."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.alerts.producer import OFFERS_LOOKED_AT_ONE_BY_ONE, AlertProducer
from tests.markets import METRO_REBAR_NEED, Market

REBAR_NEED = METRO_REBAR_NEED
NEW_REBAR = {
    "title": "Electric-arc-furnace rebar HRB400E from scrap, Changzhou",
    "description": "Ribbed reinforcing bar melted from scrap in an arc furnace; verified 0.55 tCO2e/t.",
    "language": "en",
    "kind": "product",
    "category": "steel",
    "region": "Jiangsu",
    "pcf_value": 0.55,
    "pcf_unit": "tCO2e/t",
    "pcf_verified": True,
    "status": "published",
}


class Alerts:
    """The producer of one served process, run by hand."""

    def __init__(self, client: TestClient, session_factory: sessionmaker[Session]) -> None:
        self.engine = client.app.state.engine  # type: ignore[attr-defined]
        self.session_factory = session_factory
        self.producer = AlertProducer()
        self.producer.start(session_factory)

    def run(self) -> int:
        return self.producer.run(self.engine, self.session_factory)


def _alerts(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = client.get("/alerts", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def _post_need(client: TestClient, market: Market, **extra: Any) -> int:
    response = client.post("/needs", json={**REBAR_NEED, **extra}, headers=market.buyer.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_a_fitting_offer_published_alerts_its_buyer_once(
    client: TestClient, market: Market, session_factory: sessionmaker[Session]
) -> None:
    alerts = Alerts(client, session_factory)
    need = _post_need(client, market)
    alerts.run()
    before = _alerts(client, market.buyer.headers)
    created = client.post("/offers", json=NEW_REBAR, headers=market.eaf_steel.headers)
    assert created.status_code == 201, created.text
    offer = created.json()["id"]
    assert alerts.run() >= 1
    new = [a for a in _alerts(client, market.buyer.headers) if a not in before]
    assert [(a["kind"], a["need_id"], a["offer_id"]) for a in new] == [("offer_fits_need", need, offer)]
    assert new[0]["details"]["offer_title"] == NEW_REBAR["title"]
    # Found again (another replica, a restart from an older place): still one alert.
    assert alerts.run() == 0
    again = Alerts(client, session_factory)
    again.producer._cursor.position = 0  # type: ignore[union-attr]  # read the whole feed again
    again.run()
    assert len([a for a in _alerts(client, market.buyer.headers) if a["offer_id"] == offer]) == 1
    # Nobody else hears of it.
    assert all(a["offer_id"] != offer for a in _alerts(client, market.other_buyer.headers))


def test_a_shortlisted_offers_footprint_change_says_old_and_new(
    client: TestClient, market: Market, session_factory: sessionmaker[Session]
) -> None:
    alerts = Alerts(client, session_factory)
    need = _post_need(client, market)
    offer = market.offers["eaf-rebar"].id
    assert client.put(f"/needs/{need}/shortlist/{offer}", headers=market.buyer.headers).status_code == 201
    alerts.run()
    seen = {a["id"] for a in _alerts(client, market.buyer.headers)}
    renamed = client.patch(
        f"/offers/{offer}", json={"title": "EAF rebar (renamed)"}, headers=market.eaf_steel.headers
    )
    assert renamed.status_code == 200
    alerts.run()
    assert {a["id"] for a in _alerts(client, market.buyer.headers)} == seen  # a title is not the footprint
    changed = client.patch(f"/offers/{offer}", json={"pcf_value": 0.48}, headers=market.eaf_steel.headers)
    assert changed.status_code == 200
    alerts.run()
    new = [a for a in _alerts(client, market.buyer.headers) if a["id"] not in seen]
    assert [(a["kind"], a["offer_id"], a["need_id"]) for a in new] == [("offer_changed", offer, need)]
    old, now = new[0]["details"]["old"], new[0]["details"]["new"]
    assert (old["pcf_value"], now["pcf_value"], now["pcf_unit"]) == (0.62, 0.48, "tCO2e/t")
    # Withdrawn: said as such.
    client.patch(f"/offers/{offer}", json={"status": "archived"}, headers=market.eaf_steel.headers)
    alerts.run()
    kinds = [a["kind"] for a in _alerts(client, market.buyer.headers, unread=True) if a["offer_id"] == offer]
    assert kinds.count("offer_withdrawn") == 1


def test_a_new_need_alerts_the_suppliers_whose_offers_fit_it_but_not_for_a_private_need(
    client: TestClient, market: Market, session_factory: sessionmaker[Session]
) -> None:
    alerts = Alerts(client, session_factory)
    private = _post_need(client, market, visibility="private")
    alerts.run()
    assert all(a["need_id"] != private for a in _alerts(client, market.eaf_steel.headers))
    shared = _post_need(client, market, text=REBAR_NEED["text"] + " (2027 tender)")
    alerts.run()
    told = [a for a in _alerts(client, market.eaf_steel.headers) if a["need_id"] == shared]
    assert [(a["kind"], a["offer_id"]) for a in told] == [("need_fits_offer", market.offers["eaf-rebar"].id)]
    # The blast-furnace rebar is over the ceiling: its supplier is not told.
    assert all(a["need_id"] != shared for a in _alerts(client, market.bof_steel.headers))


def test_alerts_are_read_by_their_organisation_only(
    client: TestClient, market: Market, session_factory: sessionmaker[Session]
) -> None:
    alerts = Alerts(client, session_factory)
    _post_need(client, market)
    alerts.run()
    client.post("/offers", json=NEW_REBAR, headers=market.eaf_steel.headers)
    alerts.run()
    mine = _alerts(client, market.buyer.headers, unread=True)
    assert mine
    first = mine[0]["id"]
    assert client.post(f"/alerts/{first}/read", headers=market.other_buyer.headers).status_code == 404
    assert client.post(f"/alerts/{first}/read", headers=market.eaf_steel.headers).status_code == 404
    read = client.post(f"/alerts/{first}/read", headers=market.buyer.headers)
    assert read.status_code == 200 and read.json()["read_at"]
    marked = client.post("/alerts/read", headers=market.buyer.headers).json()["marked"]
    assert marked == len(mine) - 1
    assert _alerts(client, market.buyer.headers, unread=True) == []


def test_a_webhook_must_not_point_inside_the_network(client: TestClient, market: Market) -> None:
    for url in (
        "http://127.0.0.1:9/hook", "http://10.0.0.8/hook", "http://[::1]/x", "ftp://example.org/x",
        "http://[2002:7f00:1::]/x", "http://[64:ff9b::a00:1]/x", "http://example.org:99999/x", "http://[::1/x",
    ):  # fmt: skip
        response = client.put("/webhook", json={"url": url, "secret": "s" * 32}, headers=market.buyer.headers)
        assert response.status_code == 422, url
        assert response.json()["errors"][0]["field"] == "url"
    assert client.get("/webhook", headers=market.buyer.headers).status_code == 404


def test_an_import_is_looked_at_from_the_needs_side_and_alerts_only_what_fits(
    client: TestClient, market: Market, session_factory: sessionmaker[Session]
) -> None:
    alerts = Alerts(client, session_factory)
    need = _post_need(client, market)
    alerts.run()
    supplier = market.eaf_steel.organisation.name
    cement = {"kind": "product", "category": "cement_concrete", "pcf_unit": "kgCO2e/t", "status": "published"}
    lines = [
        {
            **cement,
            "id": f"cement-{n}",
            "supplier": supplier,
            "title": f"Low-clinker cement {n}",
            "pcf_value": 480 + n,
        }
        for n in range(60)
    ]
    lines.append({**NEW_REBAR, "id": "eaf-import", "supplier": supplier})
    body = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode()
    imported = client.post(
        "/imports/offers",
        content=body,
        headers={**market.eaf_steel.headers, "Content-Type": "application/x-ndjson"},
    )
    assert imported.status_code == 200 and imported.json()["created"] == 61, imported.text
    assert len(lines) > OFFERS_LOOKED_AT_ONE_BY_ONE  # so the needs' side is taken
    alerts.run()
    told = [a for a in _alerts(client, market.buyer.headers) if a["kind"] == "offer_fits_need"]
    assert [(a["need_id"], a["details"]["offer_title"]) for a in told] == [(need, NEW_REBAR["title"])]


def test_a_buyer_who_can_no_longer_see_an_offer_hears_only_that_it_went(
    client: TestClient, market: Market, session_factory: sessionmaker[Session]
) -> None:
    alerts = Alerts(client, session_factory)
    need = _post_need(client, market)
    offer = market.offers["eaf-rebar"].id
    client.put(f"/needs/{need}/shortlist/{offer}", headers=market.buyer.headers)
    alerts.run()
    vendor = market.eaf_steel.headers
    assert client.patch(f"/offers/{offer}", json={"status": "draft"}, headers=vendor).status_code == 200
    assert client.patch(f"/offers/{offer}", json={"pcf_value": 0.31}, headers=vendor).status_code == 200
    alerts.run()
    told = [a for a in _alerts(client, market.buyer.headers) if a["offer_id"] == offer]
    assert {a["kind"] for a in told} == {"offer_withdrawn"}
    assert all(
        "new" not in a["details"] and "old" not in a["details"] for a in told
    )  # not its draft's figures
    assert client.get(f"/needs/{need}/shortlist", headers=market.buyer.headers).json()["items"] == []
