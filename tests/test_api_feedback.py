"""Feedback on matches over HTTP: a dismissed offer leaves the need's list until the mark is taken back."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.markets import METRO_REBAR_NEED, Market

REBAR_NEED = METRO_REBAR_NEED


def _matches(client: TestClient, market: Market, need: int) -> Any:
    response = client.get(f"/needs/{need}/matches", headers=market.buyer.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_dismissed_offer_leaves_the_list_and_comes_back_on_undo(client: TestClient, market: Market) -> None:
    need = client.post("/needs", json=REBAR_NEED, headers=market.buyer.headers).json()["id"]
    before = _matches(client, market, need)
    listed = [m["offer"]["id"] for m in before["matches"]]
    assert len(listed) >= 2
    first = listed[0]
    dismissed = client.put(
        f"/needs/{need}/feedback/{first}", json={"verdict": "not_relevant"}, headers=market.buyer.headers
    )
    assert dismissed.status_code == 201 and dismissed.json()["rank"] == 1
    after = _matches(client, market, need)
    assert [m["offer"]["id"] for m in after["matches"]] == listed[1:]
    assert [m["rank"] for m in after["matches"]] == list(range(1, len(listed)))
    assert (after["dismissed"], after["relevant"]) == (1, before["relevant"] - 1)
    assert client.delete(f"/needs/{need}/feedback/{first}", headers=market.buyer.headers).status_code == 204
    assert [m["offer"]["id"] for m in _matches(client, market, need)["matches"]] == listed
    contracted = client.put(
        f"/needs/{need}/feedback/{listed[1]}", json={"verdict": "contracted"}, headers=market.buyer.headers
    )
    assert (contracted.json()["verdict"], contracted.json()["rank"]) == ("contracted", 2)
    verdicts = client.get(f"/needs/{need}/feedback", headers=market.buyer.headers).json()
    assert [(v["offer_id"], v["verdict"]) for v in verdicts] == [(listed[1], "contracted")]


def test_feedback_is_the_buyers_alone(client: TestClient, market: Market) -> None:
    need = client.post("/needs", json=REBAR_NEED, headers=market.buyer.headers).json()["id"]
    offer = market.offers["eaf-rebar"].id
    for stranger in (market.other_buyer, market.eaf_steel, market.outsider_steel):
        for method, path, body in (
            ("PUT", f"/needs/{need}/feedback/{offer}", {"verdict": "relevant"}),
            ("DELETE", f"/needs/{need}/feedback/{offer}", None),
            ("GET", f"/needs/{need}/feedback", None),
        ):
            response = client.request(method, path, json=body, headers=stranger.headers)
            assert response.status_code == 404, (stranger.organisation.name, method)
    bad = client.put(f"/needs/{need}/feedback/{offer}", json={"verdict": "meh"}, headers=market.buyer.headers)
    assert bad.status_code == 422


def test_a_dismissed_offer_no_longer_lists_the_need_on_its_side(client: TestClient, market: Market) -> None:
    need = client.post("/needs", json=REBAR_NEED, headers=market.buyer.headers).json()["id"]
    offer = market.offers["eaf-rebar"].id

    def fitting() -> list[int]:
        view = client.get(f"/offers/{offer}/matches", headers=market.eaf_steel.headers).json()
        return [m["need"]["id"] for m in view["matches"]]

    assert need in fitting()
    client.put(
        f"/needs/{need}/feedback/{offer}", json={"verdict": "not_relevant"}, headers=market.buyer.headers
    )
    assert need not in fitting()
