"""Inquiries and quotes over HTTP: the thread's states, who may take which step, who may see it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import Party, World


def _ask(client: TestClient, world: World, **extra: Any) -> dict[str, Any]:
    body = {
        "offer_id": world.offers["public"].id,
        "need_id": world.needs["shared"].id,
        "message": "可否供应2027年的低碳热轧卷？",
        "quantity": 1200,
        "quantity_unit": "t",
        "delivery_from": "2027-01-01",
        "delivery_until": "2027-06-30",
        **extra,
    }
    response = client.post("/inquiries", json=body, headers=world.buyer.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _step(client: TestClient, party: Party, inquiry: int, **body: Any) -> Any:
    return client.post(f"/inquiries/{inquiry}/messages", json=body, headers=party.headers)


def test_an_inquiry_is_quoted_and_closed_as_won(client: TestClient, world: World) -> None:
    inquiry = _ask(client, world)
    assert (inquiry["status"], inquiry["your_side"], inquiry["vendor"]["name"]) == (
        "pending",
        "buyer",
        "Member Steel",
    )
    assert inquiry["next_steps"] == ["close", "message"]
    question = _step(client, world.member_vendor, inquiry["id"], kind="question", body="Which grade, Q345?")
    assert question.status_code == 201 and question.json()["status"] == "pending"
    quote = _step(
        client, world.member_vendor, inquiry["id"], kind="quote", price=4350, currency="CNY",
        price_unit="t", lead_time_days=45, pcf_value=0.62, pcf_unit="tco2e/t", body="含运费",
    )  # fmt: skip
    assert quote.status_code == 201, quote.text
    assert quote.json()["status"] == "answered"
    assert quote.json()["messages"][-1] | {"id": 0, "created_at": 0, "author": 0} == {
        "id": 0, "kind": "quote", "author": 0, "body": "含运费", "price": 4350.0, "currency": "CNY",
        "price_unit": "t", "lead_time_days": 45, "pcf_value": 0.62, "pcf_unit": "tCO2e/t", "created_at": 0,
    }  # fmt: skip
    won = _step(client, world.buyer, inquiry["id"], kind="close", outcome="won")
    assert (won.json()["status"], won.json()["outcome"], won.json()["next_steps"]) == ("closed", "won", [])
    kinds = [
        m["kind"]
        for m in client.get(f"/inquiries/{inquiry['id']}", headers=world.operator.headers).json()["messages"]
    ]
    assert kinds == ["inquiry", "question", "quote", "close"]


def test_a_declined_inquiry_can_only_be_lost(client: TestClient, world: World) -> None:
    inquiry = _ask(client, world)["id"]
    assert _step(client, world.member_vendor, inquiry, kind="decline").status_code == 422  # a reason is due
    declined = _step(client, world.member_vendor, inquiry, kind="decline", body="sold out for 2027")
    assert declined.json()["status"] == "declined"
    late_quote = _step(client, world.member_vendor, inquiry, kind="quote", price=1, currency="CNY")
    assert late_quote.status_code == 409
    assert late_quote.headers["content-type"] == "application/problem+json"
    assert _step(client, world.buyer, inquiry, kind="close", outcome="won").status_code == 409
    assert _step(client, world.buyer, inquiry, kind="close", outcome="lost").json()["status"] == "closed"
    assert _step(client, world.buyer, inquiry, kind="message", body="thanks").status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "quote", "price": 10},  # no currency
        {"kind": "quote", "price": 10, "currency": "yuan"},
        {"kind": "quote", "price": -1, "currency": "CNY"},
        {"kind": "quote", "price": 1e300, "currency": "CNY"},
        {"kind": "quote", "price": 10, "currency": "CNY", "pcf_value": 1},  # a footprint needs its unit
        {"kind": "message", "body": "hi", "price": 10},
        {"kind": "close"},
        {"kind": "message", "body": "   "},
        {"kind": "nonsense", "body": "x"},
        {"kind": "message", "body": "\ud800"},
    ],
)
def test_malformed_steps_are_refused(client: TestClient, world: World, body: dict[str, Any]) -> None:
    inquiry = _ask(client, world)["id"]
    party = world.buyer if body.get("kind") == "close" else world.member_vendor
    response = client.post(
        f"/inquiries/{inquiry}/messages",
        content=json.dumps(body),  # a lone surrogate goes out escaped, as JSON allows
        headers={**party.headers, "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_each_side_takes_only_its_own_steps(client: TestClient, world: World) -> None:
    inquiry = _ask(client, world)["id"]
    assert _step(client, world.buyer, inquiry, kind="quote", price=1, currency="CNY").status_code == 409
    assert _step(client, world.member_vendor, inquiry, kind="close", outcome="lost").status_code == 409
    operator = _step(client, world.operator, inquiry, kind="message", body="hello")
    assert operator.status_code == 403


def test_inquiries_are_sent_only_about_offers_the_buyer_may_see(client: TestClient, world: World) -> None:
    def send(**body: Any) -> int:
        payload = {"offer_id": world.offers["public"].id, "message": "price?", **body}
        return client.post("/inquiries", json=payload, headers=world.buyer.headers).status_code

    assert send() == 201  # no need: a general inquiry
    assert send(offer_id=world.offers["draft"].id) == 404
    assert send(offer_id=world.offers["pending_public"].id) == 404
    assert send(need_id=world.needs["other_shared"].id) == 404  # another buyer's need
    assert send(quantity=5) == 422  # a quantity needs its unit
    assert send(delivery_from="2027-06-01", delivery_until="2027-01-01") == 422
    vendor = client.post(
        "/inquiries",
        json={"offer_id": world.offers["other_public"].id, "message": "x"},
        headers=world.member_vendor.headers,
    )
    assert vendor.status_code == 403


def test_strangers_get_404_for_every_inquiry_call(client: TestClient, world: World) -> None:
    inquiry = _ask(client, world)["id"]
    for stranger in (world.other_buyer, world.other_vendor, world.pending_vendor):
        assert client.get(f"/inquiries/{inquiry}", headers=stranger.headers).status_code == 404
        step = _step(client, stranger, inquiry, kind="message", body="me too")
        assert step.status_code == 404, stranger.organisation.name
        assert client.get("/inquiries", headers=stranger.headers).json()["total"] == 0
    for party in (world.buyer, world.member_vendor, world.operator):
        assert client.get(f"/inquiries/{inquiry}", headers=party.headers).status_code == 200


def test_inboxes_on_both_sides(client: TestClient, world: World) -> None:
    first = _ask(client, world)["id"]
    second = _ask(client, world, offer_id=world.offers["other_public"].id)["id"]
    _step(client, world.member_vendor, first, kind="quote", price=10, currency="EUR")
    sent = client.get("/inquiries?side=buyer", headers=world.buyer.headers).json()
    assert [i["id"] for i in sent["items"]] == [first, second]  # the newest activity first
    received = client.get("/inquiries", headers=world.member_vendor.headers).json()
    assert [(i["id"], i["your_side"], i["next_steps"]) for i in received["items"]] == [
        (first, "vendor", ["quote", "question", "decline", "message"])
    ]
    answered = client.get("/inquiries?status=answered", headers=world.buyer.headers).json()
    assert [i["id"] for i in answered["items"]] == [first]


def test_the_thread_outlives_the_offer(client: TestClient, world: World) -> None:
    inquiry = _ask(client, world)
    offer = world.offers["public"]
    assert client.delete(f"/offers/{offer.id}", headers=world.member_vendor.headers).status_code == 204
    kept = client.get(f"/inquiries/{inquiry['id']}", headers=world.buyer.headers).json()
    assert (kept["offer_id"], kept["offer_title"], len(kept["messages"])) == (None, offer.title, 1)
