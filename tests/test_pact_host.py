"""The PACT v3 host over HTTP: token, discovery, footprints with every filter, pagination, access control,
errors in the spec's shape, and events answered asynchronously to a real receiving server."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from matchmaker.pact import repository
from matchmaker.pact.cache import FootprintCache
from matchmaker.pact.mapping import footprint_of_offer
from matchmaker.pact.model import validate_footprint
from matchmaker.pact.service import create_client, visible_footprints
from tests.factories import World
from tests.pact_receivers import Receiver, running_receiver

NIL_UUID = "00000000-0000-0000-0000-000000000000"


@dataclass
class Credentials:
    client_id: str
    secret: str


@pytest.fixture
def member_client(session: Session, world: World) -> Credentials:
    """A PACT client of a CN100 buyer: it may see the alliance-only offer."""
    new = create_client(session=session, organisation=world.buyer.organisation, label="member")
    session.commit()
    return Credentials(new.client.client_id, new.secret)


@pytest.fixture
def outsider_client(session: Session, world: World) -> Credentials:
    new = create_client(session=session, organisation=world.other_buyer.organisation, label="outsider")
    session.commit()
    return Credentials(new.client.client_id, new.secret)


def token_for(client: TestClient, credentials: Credentials) -> dict[str, str]:
    response = client.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(credentials.client_id, credentials.secret),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"].lower() == "bearer" and body["expires_in"] > 0
    return {"Authorization": f"Bearer {body['access_token']}"}


def footprints(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = client.get("/3/footprints", params=params, headers=headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


# --- authentication --------------------------------------------------------------------------------------


def test_discovery_names_the_token_endpoint(client: TestClient) -> None:
    document = client.get("/.well-known/openid-configuration").json()
    assert document["token_endpoint"] == "http://testserver/auth/token"
    assert "client_credentials" in document["grant_types_supported"]


def test_wrong_credentials_get_an_oauth_error(client: TestClient, member_client: Credentials) -> None:
    wrong = client.post(
        "/auth/token", data={"grant_type": "client_credentials"}, auth=(member_client.client_id, "nope")
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    unknown = client.post(
        "/auth/token", data={"grant_type": "client_credentials"}, auth=("abcdefghijklmnop", "x")
    )
    assert unknown.status_code == 401
    grant = client.post(
        "/auth/token", data={"grant_type": "password"}, auth=(member_client.client_id, member_client.secret)
    )
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"


def test_extra_token_parameters_are_accepted(client: TestClient, member_client: Credentials) -> None:
    response = client.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "scope": "footprints", "audience": "x", "resource": "y"},
        auth=(member_client.client_id, member_client.secret),
    )
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/3/footprints", f"/3/footprints/{NIL_UUID}"])
def test_a_missing_or_invalid_token_is_401_bad_request(client: TestClient, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer very-invalid-access-token-123"}):
        response = client.get(path, headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == "BadRequest" and response.json()["message"]


def test_a_suspended_organisations_client_loses_access(
    client: TestClient, world: World, member_client: Credentials
) -> None:
    headers = token_for(client, member_client)
    client.patch(
        f"/organisations/{world.buyer.id}",
        json={"admission_status": "suspended"},
        headers=world.operator.headers,
    )
    assert client.get("/3/footprints", headers=headers).status_code == 401


# --- footprints and access control -----------------------------------------------------------------------


def test_every_footprint_validates_and_only_shared_ones_are_listed(
    client: TestClient, world: World, member_client: Credentials, outsider_client: Credentials
) -> None:
    member = footprints(client, token_for(client, member_client))
    outsider = footprints(client, token_for(client, outsider_client))
    for footprint in member + outsider:
        validate_footprint(footprint)
    titles = {fp["productNameCompany"] for fp in member}
    assert titles == {"Offer m-public", "Offer m-cn100", "Offer o-public"}  # no draft, no pending supplier
    assert {fp["productNameCompany"] for fp in outsider} == {"Offer m-public", "Offer o-public"}


def test_one_footprint_by_id_404_unknown_403_not_shared(
    client: TestClient, member_client: Credentials, outsider_client: Credentials
) -> None:
    member_headers = token_for(client, member_client)
    alliance_only = next(
        fp for fp in footprints(client, member_headers) if fp["productNameCompany"] == "Offer m-cn100"
    )
    got = client.get(f"/3/footprints/{alliance_only['id']}", headers=member_headers)
    assert got.status_code == 200 and got.json() == {"data": alliance_only}
    denied = client.get(f"/3/footprints/{alliance_only['id']}", headers=token_for(client, outsider_client))
    assert denied.status_code == 403 and denied.json()["code"] == "AccessDenied"
    missing = client.get(f"/3/footprints/{NIL_UUID}", headers=member_headers)
    assert missing.status_code == 404 and missing.json()["code"] == "NotFound"


def footprint_of(client: TestClient, headers: dict[str, str], footprint_id: str) -> dict[str, Any]:
    response = client.get(f"/3/footprints/{footprint_id}", headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_an_edited_offer_and_a_renamed_supplier_are_served_fresh(
    client: TestClient, world: World, member_client: Credentials
) -> None:
    """Footprints are cached per state of an offer: a change to what the mapping reads is never stale."""
    headers = token_for(client, member_client)
    offer = world.offers["public"]
    before = next(fp for fp in footprints(client, headers) if fp["productNameCompany"] == "Offer m-public")
    cache = client.app.state.pact_footprints  # type: ignore[attr-defined]
    hits = cache.hits
    assert footprint_of(client, headers, before["id"]) == before and cache.hits > hits  # served from cache

    edited = client.patch(
        f"/offers/{offer.id}",
        json={"title": "Greener rebar", "pcf_value": 0.4},
        headers=world.member_vendor.headers,
    )
    assert edited.status_code == 200, edited.text
    # A new PCF is a new footprint; the one it replaced keeps its value, and says it is deprecated.
    old = footprint_of(client, headers, before["id"])
    assert (old["status"], old["productNameCompany"]) == ("Deprecated", "Greener rebar")
    assert old["pcf"]["pcfExcludingBiogenicUptake"] == before["pcf"]["pcfExcludingBiogenicUptake"] == "0.5"
    (after,) = [
        fp for fp in footprints(client, headers, status="Active") if fp["productIds"] == before["productIds"]
    ]
    assert after["precedingPfIds"] == [before["id"]]
    assert footprint_of(client, headers, after["id"]) == after
    assert after["productNameCompany"] == "Greener rebar"
    assert after["pcf"]["pcfExcludingBiogenicUptake"] == "0.4"
    assert after["companyName"] == "Member Steel"

    renamed = client.patch(
        f"/organisations/{world.member_vendor.id}",
        json={"name": "Renamed Steel"},
        headers=world.operator.headers,
    )
    assert renamed.status_code == 200, renamed.text
    for footprint_id in (before["id"], after["id"]):
        assert footprint_of(client, headers, footprint_id)["companyName"] == "Renamed Steel"
    assert {
        fp["companyName"] for fp in footprints(client, headers) if fp["id"] in (before["id"], after["id"])
    } == {"Renamed Steel"}


def test_the_footprint_cache_is_bounded_and_keyed_by_issuer(session: Session, world: World) -> None:
    cache = FootprintCache(max_entries=2)
    offers = [world.offers["public"], world.offers["alliance_only"], world.offers["draft"]]
    first = cache.footprint_of(offers[0], issuer="one.example")
    other = cache.footprint_of(offers[0], issuer="two.example")
    assert first is not None and other is not None and first["id"] != other["id"]
    assert first == footprint_of_offer(offers[0], issuer="one.example")
    for offer in offers:
        cache.footprint_of(offer, issuer="one.example")
    assert len(cache) == 2


@pytest.mark.parametrize("chunk", [1, 3, 500])
def test_offers_missing_from_the_cache_load_in_chunks_and_one_gone_meanwhile_is_left_out(
    session: Session, world: World, member_client: Credentials, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    client = repository.get_client_by_client_id(session, member_client.client_id)
    assert client is not None
    expected = visible_footprints(session=session, client=client, issuer="one.example")
    states = repository.published_offer_states

    def with_a_draft(*args: Any, **kwargs: Any) -> list[Any]:
        # As if the draft had been published when its state was read and withdrawn before its loading.
        draft = world.offers["draft"]
        gone = (
            draft.id, draft.version, draft.updated_at, draft.created_at, draft.owner_id, "Member Steel", None
        )  # fmt: skip
        return sorted([*states(*args, **kwargs), gone])

    monkeypatch.setattr(repository, "published_offer_states", with_a_draft)
    monkeypatch.setattr(repository, "ID_CHUNK", chunk)
    cache = FootprintCache()
    for _ in range(2):  # cold, then warm
        found = visible_footprints(session=session, client=client, issuer="one.example", cache=cache)
        assert found == expected and len(found) == 3
    assert cache.hits == 3


def test_each_filter_selects_as_the_spec_says(client: TestClient, member_client: Credentials) -> None:
    headers = token_for(client, member_client)
    everything = footprints(client, headers)
    first = everything[0]
    start = first["validityPeriodStart"]
    assert [fp["id"] for fp in footprints(client, headers, productId=first["productIds"][0])] == [first["id"]]
    company = footprints(client, headers, companyId=[first["companyIds"][0], "abcdefgh", "ijklmnop"])
    assert company and all(first["companyIds"][0] in fp["companyIds"] for fp in company)
    geography = first["pcf"]["geographyCountry"]
    assert all(
        fp["pcf"].get("geographyCountry") == geography
        for fp in footprints(client, headers, geography=geography)
    )
    assert len(footprints(client, headers, geography="")) == len(everything)
    classification = first["productClassifications"][0]
    assert first in footprints(client, headers, classification=classification)
    assert first in footprints(client, headers, validOn=start)
    assert first in footprints(client, headers, validAfter="2000-01-01T00:00:00.000Z")
    assert first in footprints(client, headers, validBefore="2100-01-01T00:00:00Z")
    assert len(footprints(client, headers, status="Active")) == len(everything)
    both = footprints(client, headers, status="Active", productId=first["productIds"][0])
    assert [fp["id"] for fp in both] == [first["id"]]
    for nothing in (
        {"productId": "urn:bogus:product:1"}, {"companyId": "urn:bogus:company:1"}, {"geography": "XX"},
        {"classification": "urn:bogus:classification:1"}, {"validOn": "1900-01-01T00:00:00Z"},
        {"validAfter": "2099-12-31T23:59:59Z"}, {"validBefore": "1900-01-01T00:00:00Z"},
        {"status": "BogusStatus"}, {"companyId": "urn:bogus:c", "productId": "urn:bogus:p"},
    ):  # fmt: skip
        assert footprints(client, headers, **nothing) == [], nothing


def test_bad_parameters_are_400_in_the_spec_shape(client: TestClient, member_client: Credentials) -> None:
    headers = token_for(client, member_client)
    for params in (
        {"$filter": "pcf/geographyCountry eq 'CN'"},
        {"limit": "abc"},
        {"limit": "0"},
        {"validOn": "soon"},
    ):
        response = client.get("/3/footprints", params=params, headers=headers)
        assert response.status_code == 400 and response.json()["code"] == "BadRequest", params


def test_pages_follow_an_absolute_next_link_to_the_end(
    client: TestClient, member_client: Credentials
) -> None:
    headers = token_for(client, member_client)
    everything = footprints(client, headers)
    collected, url = [], "http://testserver/3/footprints?limit=1&status=Active"
    while url:
        response = client.get(url, headers=headers)
        collected += response.json()["data"]
        link = response.headers.get("link")
        url = link.split(">", 1)[0].lstrip("<") if link else ""
        if link:
            assert link.endswith('; rel="next"') and url.startswith("http://testserver/3/footprints?")
            assert "status=Active" in url
    assert collected == everything and len(everything) == 3


# --- events ----------------------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A requester's host: it issues a token for its callback credentials and records the events posted."""
    with running_receiver() as state:
        yield state


def request_event(source: str, event_id: str, **data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0", "id": event_id, "source": source, "time": "2026-11-24T10:00:00Z",
        "type": "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3", "data": data,
    }  # fmt: skip


def test_a_footprint_request_is_answered_200_then_fulfilled_at_the_requesters_host(
    client: TestClient, session: Session, world: World, receiver: Receiver
) -> None:
    new = create_client(
        session=session, organisation=world.buyer.organisation, callback_url=receiver.url,
        callback_client_id="test_client_id", callback_client_secret="test_client_secret",
    )  # fmt: skip
    session.commit()
    headers = token_for(client, Credentials(new.client.client_id, new.secret))
    wanted = footprints(client, headers)[0]
    response = client.post(
        "/3/events",
        json=request_event(receiver.url, "run-1/13", productId=wanted["productIds"]),
        headers=headers,
    )
    assert response.status_code == 200 and response.content == b""
    response = client.post(
        "/3/events",
        json=request_event(receiver.url, "run-1/14.B", productId=["urn:pact:null"]),
        headers=headers,
    )
    assert response.status_code == 200
    fulfilled, rejected = sorted(receiver.wait_for(2), key=lambda e: e["type"])
    assert fulfilled["type"].endswith("RequestFulfilledEvent.3")
    assert fulfilled["data"]["requestEventId"] == "run-1/13"
    assert [fp["id"] for fp in fulfilled["data"]["pfs"]] == [wanted["id"]]
    for footprint in fulfilled["data"]["pfs"]:
        validate_footprint(footprint)
    assert rejected["type"].endswith("RequestRejectedEvent.3")
    assert (
        rejected["data"]["requestEventId"] == "run-1/14.B" and rejected["data"]["error"]["code"] == "NotFound"
    )
    assert receiver.tokens_issued == 2 and receiver.authorizations == ["Bearer receiver-token"] * 2


def test_answers_go_only_to_the_registered_callback(
    client: TestClient, session: Session, world: World, receiver: Receiver
) -> None:
    """A client cannot make the host post elsewhere: not to another source, nor through a query string."""
    registered = create_client(
        session=session, organisation=world.buyer.organisation, callback_url=receiver.url
    )
    unregistered = create_client(session=session, organisation=world.other_buyer.organisation)
    session.commit()
    headers = token_for(client, Credentials(registered.client.client_id, registered.secret))
    for source in ("http://127.0.0.1:9/elsewhere", f"{receiver.url}?x=/3/events"):
        event = request_event(source, "run-2/1", productId=["urn:pact:null"])
        assert client.post("/3/events", json=event, headers=headers).status_code == 200
    other = token_for(client, Credentials(unregistered.client.client_id, unregistered.secret))
    event = request_event(receiver.url, "run-2/2", productId=["urn:pact:null"])
    assert client.post("/3/events", json=event, headers=other).status_code == 200
    # Only the query-string variant reached the registered host, at its own /3/events without the query.
    events = receiver.wait_for(2, timeout=3)
    assert [e["data"]["requestEventId"] for e in events] == ["run-2/1"]


def test_malformed_events_are_400_and_a_published_event_for_unknown_ids_is_200(
    client: TestClient, member_client: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    headers = token_for(client, member_client)
    published = {
        "specversion": "1.0", "id": "e-1", "source": "//example.com", "time": "2026-11-24T10:00:00Z",
        "type": "org.wbcsd.pact.ProductFootprint.PublishedEvent.3",
        "data": {"pfIds": ["3a6c14a7-4deb-498a-b5ea-16ce2535b576"]},
    }  # fmt: skip
    with caplog.at_level(logging.INFO, logger="matchmaker.pact.events"):
        assert client.post("/3/events", json=published, headers=headers).status_code == 200
    # Not acted on, but on record: who announced which footprints.
    assert member_client.client_id in caplog.text and "3a6c14a7-4deb-498a-b5ea-16ce2535b576" in caplog.text
    not_uuids = {**published, "data": {"pfIds": ["urn:gtin:4712345060507"]}}
    for bad in (
        not_uuids,
        {**published, "type": "Nope"},
        {k: v for k, v in published.items() if k != "source"},
    ):
        response = client.post("/3/events", json=bad, headers=headers)
        assert response.status_code == 400 and response.json()["code"] == "BadRequest"
    assert client.post("/3/events", json=published).status_code == 401


def test_events_are_never_posted_to_a_plain_http_address_elsewhere() -> None:
    from matchmaker.pact.events import events_url, may_deliver_to

    assert events_url("https://peer.example/pact") == "https://peer.example/pact/3/events"
    assert events_url("https://peer.example/3/events") == "https://peer.example/3/events"
    assert events_url("//peer.example") == "https://peer.example/3/events"
    assert events_url("https://peer.example/x?y=/3/events#z") == "https://peer.example/x/3/events"
    assert may_deliver_to("https://peer.example/3/events")
    assert may_deliver_to("http://127.0.0.1:9/3/events")
    assert not may_deliver_to("http://10.0.0.5/3/events") and not may_deliver_to("file:///etc/passwd")
    assert not may_deliver_to("https://peer.example/3/events?next=http://10.0.0.5")


def test_hostile_parameters_and_bodies_get_400_not_500(
    client: TestClient, member_client: Credentials
) -> None:
    headers = token_for(client, member_client)
    for params in ({"offset": "²"}, {"offset": "9" * 5000}, {"limit": "1" * 20}):
        response = client.get("/3/footprints", params=params, headers=headers)
        assert response.status_code == 400 and response.json()["code"] == "BadRequest"
    deep = client.post(
        "/3/events", content=b"[" * 100_000, headers={**headers, "Content-Type": "application/json"}
    )
    assert deep.status_code == 400 and deep.json()["code"] == "BadRequest"
    unknown = client.get("/3/nothing-here", headers=headers)
    assert unknown.status_code == 404 and unknown.json()["code"] == "NotFound"
