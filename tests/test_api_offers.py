"""Offers over HTTP: create, change, publish, archive, list with filters, sorting and pages."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import World

NEW_OFFER: dict[str, Any] = {
    "external_id": "rebar-1",
    "title": "Scrap-EAF rebar HRB400E",
    "description": "Rebar from 100% scrap in an electric arc furnace.",
    "kind": "product",
    "category": "steel",
    "region": "Jiangsu",
    "pcf_value": 0.62,
    "pcf_unit": "tCO2e/t",
    "pcf_verified": True,
    "standard": "ISO 14067",
    "certifications": ["ISO 14001"],
}


def test_a_vendor_creates_a_draft_then_publishes_it(client: TestClient, world: World) -> None:
    vendor = world.other_vendor
    created = client.post("/offers", json=NEW_OFFER, headers=vendor.headers)
    assert created.status_code == 201, created.text
    offer = created.json()
    assert offer["status"] == "draft"
    assert offer["supplier"] == "Outsider Steel"
    assert (offer["pcf_family"], offer["declared_unit"], offer["language"]) == ("mass", "t", "en")
    # A draft is the supplier's own business: a buyer does not see it.
    assert client.get(f"/offers/{offer['id']}", headers=world.buyer.headers).status_code == 404

    published = client.patch(f"/offers/{offer['id']}", json={"status": "published"}, headers=vendor.headers)
    assert published.status_code == 200
    assert published.json()["version"] == offer["version"] + 1
    assert client.get(f"/offers/{offer['id']}", headers=world.buyer.headers).status_code == 200

    archived = client.patch(f"/offers/{offer['id']}", json={"status": "archived"}, headers=vendor.headers)
    assert archived.json()["status"] == "archived"
    assert client.get(f"/offers/{offer['id']}", headers=world.buyer.headers).status_code == 404


def test_an_unchanged_patch_keeps_the_version(client: TestClient, world: World) -> None:
    offer = world.offers["public"]
    headers = world.member_vendor.headers
    before = client.get(f"/offers/{offer.id}", headers=headers).json()
    after = client.patch(f"/offers/{offer.id}", json={"title": before["title"]}, headers=headers).json()
    assert after["version"] == before["version"]


def test_changing_the_footprint_unit_rederives_the_declared_unit(client: TestClient, world: World) -> None:
    offer = world.offers["public"]
    changed = client.patch(
        f"/offers/{offer.id}",
        json={"pcf_value": 11, "pcf_unit": "gCO2e/kWh"},
        headers=world.member_vendor.headers,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["declared_unit"], changed.json()["pcf_family"]) == ("kWh", "electric_energy")


def test_a_footprint_without_a_unit_is_refused_and_nothing_changes(client: TestClient, world: World) -> None:
    offer = world.offers["public"]
    headers = world.member_vendor.headers
    refused = client.patch(f"/offers/{offer.id}", json={"pcf_unit": None}, headers=headers)
    assert refused.status_code == 422
    assert "must both be set" in refused.text
    assert client.get(f"/offers/{offer.id}", headers=headers).json()["pcf_unit"] == "tCO2e/t"


def test_an_unknown_unit_is_a_422_naming_the_field(client: TestClient, world: World) -> None:
    response = client.post(
        "/offers", json={**NEW_OFFER, "pcf_unit": "kgCO2/kg"}, headers=world.other_vendor.headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["pcf_unit"]


def test_a_duplicate_external_id_conflicts(client: TestClient, world: World) -> None:
    headers = world.other_vendor.headers
    assert client.post("/offers", json=NEW_OFFER, headers=headers).status_code == 201
    assert client.post("/offers", json=NEW_OFFER, headers=headers).status_code == 409


def test_alliance_visibility_needs_an_existing_alliance(client: TestClient, world: World) -> None:
    body = {**NEW_OFFER, "visibility": "alliance", "visibility_alliance": "NOPE"}
    response = client.post("/offers", json=body, headers=world.member_vendor.headers)
    assert response.status_code == 422
    body["visibility_alliance"] = "CN100"
    created = client.post("/offers", json=body, headers=world.member_vendor.headers)
    assert created.json()["visibility_alliance"] == "CN100"


def test_a_deleted_offer_is_gone(client: TestClient, world: World) -> None:
    offer = world.offers["public"]
    assert client.delete(f"/offers/{offer.id}", headers=world.member_vendor.headers).status_code == 204
    assert client.get(f"/offers/{offer.id}", headers=world.member_vendor.headers).status_code == 404


def test_offers_show_the_suppliers_alliances(client: TestClient, world: World) -> None:
    offer = client.get(f"/offers/{world.offers['public'].id}", headers=world.buyer.headers).json()
    assert offer["alliances"] == ["CN100"]


def _external_ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["external_id"] for item in response.json()["items"]]


def test_list_filters(client: TestClient, world: World) -> None:
    headers = world.operator.headers
    assert set(_external_ids(client.get("/offers?alliance=CN100", headers=headers))) == {
        "m-public",
        "m-draft",
        "m-cn100",
    }
    assert set(_external_ids(client.get("/offers?status=draft", headers=headers))) == {"m-draft"}
    assert _external_ids(client.get("/offers?category=hydrogen", headers=headers)) == []
    assert len(_external_ids(client.get("/offers?verified=true&region=Jiangsu", headers=headers))) == 5
    assert _external_ids(client.get("/offers?verified=false", headers=headers)) == []
    only_owner = client.get(f"/offers?owner_id={world.other_vendor.id}", headers=headers)
    assert _external_ids(only_owner) == ["o-public"]


def test_pages_cover_the_list_once_in_order(client: TestClient, world: World) -> None:
    headers = world.operator.headers
    first = client.get("/offers?per_page=2&sort=id", headers=headers).json()
    assert (first["total"], first["page"], first["next_page"]) == (5, 1, 2)
    seen = [item["id"] for item in first["items"]]
    page = first
    while page["next_page"]:
        page = client.get(f"/offers?per_page=2&sort=id&page={page['next_page']}", headers=headers).json()
        seen += [item["id"] for item in page["items"]]
    assert seen == sorted(seen) and len(set(seen)) == 5


def test_sorting_by_title_descending(client: TestClient, world: World) -> None:
    titles = [
        item["title"]
        for item in client.get("/offers?sort=-title", headers=world.operator.headers).json()["items"]
    ]
    assert titles == sorted(titles, reverse=True)


def test_an_unknown_sort_field_is_a_422(client: TestClient, world: World) -> None:
    response = client.get("/offers?sort=secret", headers=world.operator.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "sort"
