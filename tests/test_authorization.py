"""The authorization matrix: each role against each endpoint, on its own object, another organisation's
object and an alliance-only object.

Hidden objects answer 404 (their existence must not leak); visible objects the caller may not change
answer 403. Every refusal is an RFC 9457 problem document.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.factories import Party, World

ROLES = ("operator", "member_vendor", "other_vendor", "pending_vendor", "buyer", "other_buyer")
NON_OPERATORS = ROLES[1:]
VENDORS = ("member_vendor", "other_vendor", "pending_vendor")
BUYERS = ("buyer", "other_buyer")

OFFER_EXTERNAL_IDS = {
    "public": "m-public",
    "draft": "m-draft",
    "alliance_only": "m-cn100",
    "other_public": "o-public",
    "pending_public": "p-public",
}
OFFER_OWNERS = {
    "public": "member_vendor",
    "draft": "member_vendor",
    "alliance_only": "member_vendor",
    "other_public": "other_vendor",
    "pending_public": "pending_vendor",
}
VISIBLE_OFFERS = {
    "operator": set(OFFER_EXTERNAL_IDS),
    "member_vendor": {"public", "draft", "alliance_only", "other_public"},
    "other_vendor": {"public", "other_public"},
    "pending_vendor": {"public", "other_public", "pending_public"},
    "buyer": {"public", "alliance_only", "other_public"},
    "other_buyer": {"public", "other_public"},
}

NEED_EXTERNAL_IDS = {"shared": "b-shared", "private": "b-private", "other_shared": "s-shared"}
NEED_OWNERS = {"shared": "buyer", "private": "buyer", "other_shared": "other_buyer"}
VISIBLE_NEEDS = {
    "operator": set(NEED_EXTERNAL_IDS),
    "member_vendor": {"shared", "other_shared"},
    "other_vendor": {"shared", "other_shared"},
    "pending_vendor": set(),
    "buyer": {"shared", "private"},
    "other_buyer": {"other_shared"},
}

NEW_OFFER = {"title": "New low-carbon rebar", "kind": "product", "category": "steel"}
NEW_NEED = {"text": "We need 500 t of low-carbon rebar"}
JSONL = {"Content-Type": "application/x-ndjson"}


def party(world: World, role: str) -> Party:
    return getattr(world, role)  # type: ignore[no-any-return]


def assert_problem(response: Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    return body


def assert_status(response: Response, status: int) -> None:
    if status >= 400:
        assert_problem(response, status)
    else:
        assert response.status_code == status, response.text


def external_ids(response: Response) -> set[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return {item["external_id"] for item in body["items"]}


def expected_change_status(role: str, owner: str, visible: set[str], name: str, ok: int) -> int:
    """The operator and the owner may change; a caller who sees but doesn't own: 403; else 404."""
    if role in ("operator", owner):
        return ok
    return 403 if name in visible else 404


# --- authentication ---------------------------------------------------------------------------------

PROTECTED = [
    ("GET", "/offers"),
    ("POST", "/offers"),
    ("GET", "/needs"),
    ("GET", "/organisations"),
    ("GET", "/organisations/me"),
    ("GET", "/alliances"),
    ("POST", "/alliances/CN100/memberships"),
    ("POST", "/imports/offers"),
]
BAD_CREDENTIALS = {
    "no key": {},
    "not a key": {"Authorization": "Bearer nonsense"},
    "unknown prefix": {"Authorization": "Bearer mm_000000000000_secret"},
    "wrong scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
    "bad X-API-Key": {"X-API-Key": "mm_000000000000_secret"},
}


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize("credentials", BAD_CREDENTIALS.values(), ids=BAD_CREDENTIALS.keys())
def test_missing_or_invalid_key_is_401(
    client: TestClient, world: World, method: str, path: str, credentials: dict[str, str]
) -> None:
    response = client.request(method, path, headers=credentials, json={})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_known_prefix_with_wrong_secret_is_401(client: TestClient, world: World) -> None:
    prefix = world.buyer.key.split("_")[1]
    response = client.get("/offers", headers={"Authorization": f"Bearer mm_{prefix}_wrong-secret"})
    assert_problem(response, 401)


def test_key_is_accepted_as_x_api_key(client: TestClient, world: World) -> None:
    response = client.get("/organisations/me", headers={"X-API-Key": world.buyer.key})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == world.buyer.id


def test_revoked_key_is_401(client: TestClient, world: World) -> None:
    keys = client.get(f"/organisations/{world.buyer.id}/keys", headers=world.operator.headers).json()
    (key,) = keys
    revoked = client.delete(
        f"/organisations/{world.buyer.id}/keys/{key['id']}", headers=world.operator.headers
    )
    assert revoked.status_code == 204, revoked.text
    assert_problem(client.get("/organisations/me", headers=world.buyer.headers), 401)
    assert_problem(client.get("/offers", headers=world.buyer.headers), 401)


@pytest.mark.parametrize("role", NON_OPERATORS)
def test_key_of_suspended_organisation_is_403(client: TestClient, world: World, role: str) -> None:
    caller = party(world, role)
    suspended = client.patch(
        f"/organisations/{caller.id}", json={"admission_status": "suspended"}, headers=world.operator.headers
    )
    assert suspended.status_code == 200, suspended.text
    assert_problem(client.get("/organisations/me", headers=caller.headers), 403)
    assert_problem(client.get("/offers", headers=caller.headers), 403)


# --- offers -----------------------------------------------------------------------------------------

ROLE_OFFER_PAIRS = [(role, name) for role in ROLES for name in OFFER_EXTERNAL_IDS]


@pytest.mark.parametrize(("role", "offer"), ROLE_OFFER_PAIRS)
def test_read_offer(client: TestClient, world: World, role: str, offer: str) -> None:
    response = client.get(f"/offers/{world.offers[offer].id}", headers=party(world, role).headers)
    if offer in VISIBLE_OFFERS[role]:
        assert response.status_code == 200, response.text
        assert response.json()["external_id"] == OFFER_EXTERNAL_IDS[offer]
    else:
        assert_problem(response, 404)


@pytest.mark.parametrize("role", ROLES)
def test_list_offers_shows_exactly_the_visible_ones(client: TestClient, world: World, role: str) -> None:
    response = client.get("/offers", headers=party(world, role).headers)
    assert external_ids(response) == {OFFER_EXTERNAL_IDS[name] for name in VISIBLE_OFFERS[role]}


@pytest.mark.parametrize(("role", "offer"), ROLE_OFFER_PAIRS)
def test_update_offer(client: TestClient, world: World, role: str, offer: str) -> None:
    offer_id = world.offers[offer].id
    expected = expected_change_status(role, OFFER_OWNERS[offer], VISIBLE_OFFERS[role], offer, 200)
    response = client.patch(
        f"/offers/{offer_id}", json={"title": "Renamed"}, headers=party(world, role).headers
    )
    assert_status(response, expected)
    title = client.get(f"/offers/{offer_id}", headers=world.operator.headers).json()["title"]
    assert (title == "Renamed") is (expected == 200)


@pytest.mark.parametrize(("role", "offer"), ROLE_OFFER_PAIRS)
def test_delete_offer(client: TestClient, world: World, role: str, offer: str) -> None:
    offer_id = world.offers[offer].id
    expected = expected_change_status(role, OFFER_OWNERS[offer], VISIBLE_OFFERS[role], offer, 204)
    assert_status(client.delete(f"/offers/{offer_id}", headers=party(world, role).headers), expected)
    after = client.get(f"/offers/{offer_id}", headers=world.operator.headers)
    assert after.status_code == (404 if expected == 204 else 200)


@pytest.mark.parametrize("status", ["draft", "archived"])
def test_unpublished_offer_is_hidden_from_others(client: TestClient, world: World, status: str) -> None:
    path = f"/offers/{world.offers['public'].id}"
    changed = client.patch(path, json={"status": status}, headers=world.member_vendor.headers)
    assert changed.status_code == 200, changed.text
    assert client.get(path, headers=world.member_vendor.headers).status_code == 200
    for role in ("other_vendor", "buyer"):
        assert_problem(client.get(path, headers=party(world, role).headers), 404)


def test_offers_of_suspended_supplier_are_hidden(client: TestClient, world: World) -> None:
    suspended = client.patch(
        f"/organisations/{world.member_vendor.id}",
        json={"admission_status": "suspended"},
        headers=world.operator.headers,
    )
    assert suspended.status_code == 200, suspended.text
    assert_problem(client.get(f"/offers/{world.offers['public'].id}", headers=world.buyer.headers), 404)
    assert external_ids(client.get("/offers", headers=world.buyer.headers)) == {"o-public"}


@pytest.mark.parametrize(
    ("role", "owner", "expected"),
    [
        ("member_vendor", None, 201),
        ("member_vendor", "member_vendor", 201),
        ("member_vendor", "other_vendor", 403),
        ("pending_vendor", None, 201),
        ("buyer", None, 403),
        ("buyer", "member_vendor", 403),
        ("other_buyer", None, 403),
        ("operator", "other_vendor", 201),
        ("operator", None, 422),
        ("operator", "buyer", 422),
    ],
)
def test_create_offer(client: TestClient, world: World, role: str, owner: str | None, expected: int) -> None:
    payload = {**NEW_OFFER, **({"owner_id": party(world, owner).id} if owner else {})}
    response = client.post("/offers", json=payload, headers=party(world, role).headers)
    assert_status(response, expected)
    if expected == 201:
        assert response.json()["owner_id"] == party(world, owner or role).id


# --- needs ------------------------------------------------------------------------------------------

ROLE_NEED_PAIRS = [(role, name) for role in ROLES for name in NEED_EXTERNAL_IDS]


@pytest.mark.parametrize(("role", "need"), ROLE_NEED_PAIRS)
def test_read_need(client: TestClient, world: World, role: str, need: str) -> None:
    response = client.get(f"/needs/{world.needs[need].id}", headers=party(world, role).headers)
    if need in VISIBLE_NEEDS[role]:
        assert response.status_code == 200, response.text
        assert response.json()["external_id"] == NEED_EXTERNAL_IDS[need]
    else:
        assert_problem(response, 404)


@pytest.mark.parametrize("role", ROLES)
def test_list_needs_shows_exactly_the_visible_ones(client: TestClient, world: World, role: str) -> None:
    response = client.get("/needs", headers=party(world, role).headers)
    assert external_ids(response) == {NEED_EXTERNAL_IDS[name] for name in VISIBLE_NEEDS[role]}


@pytest.mark.parametrize(("role", "need"), ROLE_NEED_PAIRS)
def test_update_need(client: TestClient, world: World, role: str, need: str) -> None:
    need_id = world.needs[need].id
    expected = expected_change_status(role, NEED_OWNERS[need], VISIBLE_NEEDS[role], need, 200)
    response = client.patch(f"/needs/{need_id}", json={"text": "Changed"}, headers=party(world, role).headers)
    assert_status(response, expected)
    text = client.get(f"/needs/{need_id}", headers=world.operator.headers).json()["text"]
    assert (text == "Changed") is (expected == 200)


@pytest.mark.parametrize(("role", "need"), ROLE_NEED_PAIRS)
def test_delete_need(client: TestClient, world: World, role: str, need: str) -> None:
    need_id = world.needs[need].id
    expected = expected_change_status(role, NEED_OWNERS[need], VISIBLE_NEEDS[role], need, 204)
    assert_status(client.delete(f"/needs/{need_id}", headers=party(world, role).headers), expected)
    after = client.get(f"/needs/{need_id}", headers=world.operator.headers)
    assert after.status_code == (404 if expected == 204 else 200)


def test_closed_need_is_hidden_from_vendors(client: TestClient, world: World) -> None:
    path = f"/needs/{world.needs['shared'].id}"
    closed = client.patch(path, json={"status": "closed"}, headers=world.buyer.headers)
    assert closed.status_code == 200, closed.text
    assert client.get(path, headers=world.buyer.headers).status_code == 200
    assert_problem(client.get(path, headers=world.member_vendor.headers), 404)
    assert external_ids(client.get("/needs", headers=world.member_vendor.headers)) == {"s-shared"}


@pytest.mark.parametrize(
    ("role", "owner", "expected"),
    [
        ("buyer", None, 201),
        ("other_buyer", "other_buyer", 201),
        ("buyer", "other_buyer", 403),
        *[(vendor, None, 403) for vendor in VENDORS],
        ("member_vendor", "buyer", 403),
        ("operator", "buyer", 201),
        ("operator", None, 422),
        ("operator", "member_vendor", 422),
    ],
)
def test_create_need(client: TestClient, world: World, role: str, owner: str | None, expected: int) -> None:
    payload = {**NEW_NEED, **({"owner_id": party(world, owner).id} if owner else {})}
    response = client.post("/needs", json=payload, headers=party(world, role).headers)
    assert_status(response, expected)
    if expected == 201:
        assert response.json()["owner_id"] == party(world, owner or role).id


# --- organisations ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_list_organisations(client: TestClient, world: World, role: str) -> None:
    response = client.get("/organisations", params={"per_page": 100}, headers=party(world, role).headers)
    assert response.status_code == 200, response.text
    ids = {item["id"] for item in response.json()["items"]}
    expected = {party(world, r).id for r in ROLES} if role == "operator" else {party(world, role).id}
    assert ids == expected


@pytest.mark.parametrize(("role", "target"), [(role, target) for role in ROLES for target in ROLES])
def test_read_organisation(client: TestClient, world: World, role: str, target: str) -> None:
    response = client.get(f"/organisations/{party(world, target).id}", headers=party(world, role).headers)
    if role in ("operator", target):
        assert response.status_code == 200, response.text
        assert response.json()["id"] == party(world, target).id
    else:
        assert_problem(response, 404)


@pytest.mark.parametrize("role", NON_OPERATORS)
def test_other_organisations_keys_are_hidden(client: TestClient, world: World, role: str) -> None:
    target = world.other_buyer if role != "other_buyer" else world.buyer
    assert_problem(client.get(f"/organisations/{target.id}/keys", headers=party(world, role).headers), 404)


@pytest.mark.parametrize(("role", "expected"), [*[(r, 403) for r in NON_OPERATORS], ("operator", 201)])
def test_create_organisation(client: TestClient, world: World, role: str, expected: int) -> None:
    response = client.post(
        "/organisations", json={"name": "Newcomer", "kind": "buyer"}, headers=party(world, role).headers
    )
    assert_status(response, expected)


@pytest.mark.parametrize("role", NON_OPERATORS)
def test_non_operator_cannot_change_its_own_organisation(client: TestClient, world: World, role: str) -> None:
    caller = party(world, role)
    response = client.patch(
        f"/organisations/{caller.id}", json={"admission_status": "admitted"}, headers=caller.headers
    )
    assert_problem(response, 403)


@pytest.mark.parametrize("role", NON_OPERATORS)
def test_non_operator_cannot_see_to_change_another_organisation(
    client: TestClient, world: World, role: str
) -> None:
    target = world.pending_vendor if role != "pending_vendor" else world.other_vendor
    response = client.patch(
        f"/organisations/{target.id}",
        json={"admission_status": "admitted"},
        headers=party(world, role).headers,
    )
    assert_problem(response, 404)


def test_operator_changes_an_organisation(client: TestClient, world: World) -> None:
    response = client.patch(
        f"/organisations/{world.pending_vendor.id}",
        json={"admission_status": "admitted"},
        headers=world.operator.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["admission_status"] == "admitted"


@pytest.mark.parametrize("role", NON_OPERATORS)
@pytest.mark.parametrize("own", [True, False], ids=["own", "other"])
def test_non_operator_cannot_issue_keys(client: TestClient, world: World, role: str, own: bool) -> None:
    caller = party(world, role)
    target = caller if own else world.operator
    response = client.post(f"/organisations/{target.id}/keys", json={"role": "buyer"}, headers=caller.headers)
    assert_problem(response, 403)


def test_operator_issues_a_working_key(client: TestClient, world: World) -> None:
    response = client.post(
        f"/organisations/{world.other_buyer.id}/keys",
        json={"role": "buyer", "label": "second"},
        headers=world.operator.headers,
    )
    assert response.status_code == 201, response.text
    me = client.get("/organisations/me", headers={"Authorization": f"Bearer {response.json()['key']}"})
    assert me.status_code == 200, me.text
    assert me.json()["id"] == world.other_buyer.id


# --- alliances --------------------------------------------------------------------------------------


def grant(client: TestClient, caller: Party, organisation_id: int) -> Response:
    return client.post(
        "/alliances/CN100/memberships", json={"organisation_id": organisation_id}, headers=caller.headers
    )


def set_membership(client: TestClient, caller: Party, organisation_id: int, status: str) -> Response:
    return client.patch(
        f"/alliances/CN100/memberships/{organisation_id}", json={"status": status}, headers=caller.headers
    )


@pytest.mark.parametrize(("role", "expected"), [*[(r, 403) for r in NON_OPERATORS], ("operator", 201)])
def test_create_alliance(client: TestClient, world: World, role: str, expected: int) -> None:
    response = client.post(
        "/alliances", json={"code": "EU50", "name": "EU 50"}, headers=party(world, role).headers
    )
    assert_status(response, expected)


@pytest.mark.parametrize("role", NON_OPERATORS)
def test_non_operator_cannot_change_alliance(client: TestClient, world: World, role: str) -> None:
    caller = party(world, role)
    response = client.patch(
        "/alliances/CN100", json={"admin_organisation_id": caller.id}, headers=caller.headers
    )
    assert_problem(response, 403)


@pytest.mark.parametrize("role", NON_OPERATORS)
def test_membership_is_never_self_declared(client: TestClient, world: World, role: str) -> None:
    caller = party(world, role)
    assert_problem(grant(client, caller, caller.id), 403)
    assert_problem(grant(client, caller, world.other_vendor.id), 403)
    assert_problem(set_membership(client, caller, world.buyer.id, "revoked"), 403)


def test_operator_grants_membership(client: TestClient, world: World) -> None:
    response = grant(client, world.operator, world.other_vendor.id)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "active"
    visible = client.get(f"/offers/{world.offers['alliance_only'].id}", headers=world.other_vendor.headers)
    assert visible.status_code == 200, visible.text


def test_alliance_admin_grants_and_revokes(client: TestClient, world: World) -> None:
    alliance_only = f"/offers/{world.offers['alliance_only'].id}"
    admin = client.patch(
        "/alliances/CN100",
        json={"admin_organisation_id": world.other_buyer.id},
        headers=world.operator.headers,
    )
    assert admin.status_code == 200, admin.text

    granted = grant(client, world.other_buyer, world.other_vendor.id)
    assert granted.status_code == 201, granted.text
    assert client.get(alliance_only, headers=world.other_vendor.headers).status_code == 200

    assert client.get(alliance_only, headers=world.buyer.headers).status_code == 200
    revoked = set_membership(client, world.other_buyer, world.buyer.id, "revoked")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert_problem(client.get(alliance_only, headers=world.buyer.headers), 404)
    assert "m-cn100" not in external_ids(client.get("/offers", headers=world.buyer.headers))

    # Being admin of the alliance is the other buyer's right, not the revoked buyer's.
    assert_problem(grant(client, world.buyer, world.buyer.id), 403)


# --- imports ----------------------------------------------------------------------------------------

OFFER_LINE = (
    b'{"id": "imp-1", "supplier": "Member Steel", "title": "Rebar", "kind": "product", "category": "steel"}'
)
NEED_LINE = b'{"id": "imp-1", "buyer": "Rail Buyer", "text": "Rebar wanted"}'


@pytest.mark.parametrize(
    ("path", "role", "body"),
    [
        *[("/imports/offers", r, OFFER_LINE) for r in BUYERS],
        *[("/imports/needs", r, NEED_LINE) for r in VENDORS],
        *[("/imports/carbon-catalogue", r, b"") for r in NON_OPERATORS],
    ],
)
def test_import_refused(client: TestClient, world: World, path: str, role: str, body: bytes) -> None:
    assert_problem(client.post(path, content=body, headers={**party(world, role).headers, **JSONL}), 403)


@pytest.mark.parametrize(
    ("path", "role", "body", "listing"),
    [
        ("/imports/offers", "member_vendor", OFFER_LINE, "/offers"),
        ("/imports/needs", "buyer", NEED_LINE, "/needs"),
    ],
)
def test_import_allowed_for_own_organisation(
    client: TestClient, world: World, path: str, role: str, body: bytes, listing: str
) -> None:
    caller = party(world, role)
    response = client.post(path, content=body, headers={**caller.headers, **JSONL})
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1, response.text
    own = client.get(listing, params={"owner_id": caller.id}, headers=caller.headers)
    assert "imp-1" in external_ids(own)


def test_vendor_import_cannot_declare_membership(client: TestClient, world: World) -> None:
    line = OFFER_LINE.replace(b'"kind"', b'"alliance": ["CN100"], "kind"')
    headers = {**world.other_vendor.headers, **JSONL}
    response = client.post("/imports/offers", content=line, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["warnings"], response.text
    members = client.get("/alliances/CN100/memberships", headers=world.operator.headers).json()["items"]
    assert world.other_vendor.id not in {m["organisation_id"] for m in members}
    hidden = client.get(f"/offers/{world.offers['alliance_only'].id}", headers=world.other_vendor.headers)
    assert_problem(hidden, 404)


@pytest.mark.parametrize(
    ("path", "role", "line"),
    [
        (
            "/imports/offers",
            "member_vendor",
            OFFER_LINE.replace(
                b'"kind"', b'"visibility": "alliance", "visibility_alliance": "ROGUE", "kind"'
            ),
        ),
        ("/imports/needs", "buyer", NEED_LINE.replace(b'"text"', b'"alliance_only": "ROGUE", "text"')),
    ],
    ids=["offers", "needs"],
)
def test_non_operator_import_cannot_create_alliance(
    client: TestClient, world: World, path: str, role: str, line: bytes
) -> None:
    caller = party(world, role)
    report = client.post(path, content=line, headers={**caller.headers, **JSONL}).json()
    assert report["failed"] == 1
    assert "ROGUE" in report["errors"][0]["message"]
    assert_problem(client.get("/alliances/ROGUE", headers=world.operator.headers), 404)
