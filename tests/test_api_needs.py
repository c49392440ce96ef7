"""Needs over HTTP: post, change, close, list."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import World

NEED = {
    "text": "为氢基竖炉采购绿氢，碳足迹不高于2 kgCO2e/kg，需第三方核查",
    "category": "hydrogen",
    "max_pcf": 2,
    "max_pcf_unit": "kgCO2e/kg",
    "require_verified": True,
    "alliance_only": "CN100",
    "region_preference": "Yangtze River Delta",
}


def test_a_buyer_posts_a_chinese_need(client: TestClient, world: World) -> None:
    response = client.post("/needs", json=NEED, headers=world.buyer.headers)
    assert response.status_code == 201, response.text
    need = response.json()
    assert (need["language"], need["status"], need["alliance_only"], need["max_pcf_family"]) == (
        "zh",
        "open",
        "CN100",
        "mass",
    )
    assert need["buyer"] == "Rail Buyer"


def test_an_unknown_alliance_is_refused(client: TestClient, world: World) -> None:
    response = client.post("/needs", json={**NEED, "alliance_only": "XX9"}, headers=world.buyer.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "alliance_only"


def test_closing_a_need_hides_it_from_vendors(client: TestClient, world: World) -> None:
    need = world.needs["shared"]
    assert client.get(f"/needs/{need.id}", headers=world.other_vendor.headers).status_code == 200
    closed = client.patch(f"/needs/{need.id}", json={"status": "closed"}, headers=world.buyer.headers)
    assert closed.json()["status"] == "closed"
    assert client.get(f"/needs/{need.id}", headers=world.other_vendor.headers).status_code == 404
    assert client.get(f"/needs/{need.id}", headers=world.buyer.headers).status_code == 200


def test_changing_the_ceiling_unit_revalidates(client: TestClient, world: World) -> None:
    need = world.needs["shared"]
    headers = world.buyer.headers
    refused = client.patch(f"/needs/{need.id}", json={"max_pcf": 700}, headers=headers)
    assert refused.status_code == 422
    changed = client.patch(
        f"/needs/{need.id}", json={"max_pcf": 700, "max_pcf_unit": "kgCO2e/t"}, headers=headers
    )
    assert changed.status_code == 200
    assert changed.json()["max_pcf_unit"] == "kgCO2e/t"


def test_lists_filter_by_status(client: TestClient, world: World) -> None:
    headers = world.buyer.headers
    client.patch(f"/needs/{world.needs['private'].id}", json={"status": "closed"}, headers=headers)
    open_needs = client.get("/needs?status=open", headers=headers).json()
    assert [n["external_id"] for n in open_needs["items"]] == ["b-shared"]
