"""The PACT host announces footprints: a PublishedEvent to each client's callback that may list them, after
the change commits, to a real receiving server."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.app import create_app
from matchmaker.config import Settings
from matchmaker.pact import events
from matchmaker.pact.events import DELIVERY_ATTEMPTS, PUBLISHED, check_event
from matchmaker.pact.service import create_client, revoke_client
from tests.factories import Party, World
from tests.pact_receivers import Receiver, running_receiver
from tests.test_api_offers import NEW_OFFER
from tests.test_pact_host import Credentials, footprints, token_for

PUBLIC_URL = "https://matchmaker.example/mm"
MakeReceiver = Callable[..., Receiver]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(environment="test", data_dir=tmp_path, public_url=PUBLIC_URL)


@pytest.fixture
def receivers() -> Iterator[MakeReceiver]:
    """Requesters' hosts (tests/pact_receivers.py), as many as a test starts, each answering `status`."""
    with ExitStack() as stack:

        def start(status: int = 200) -> Receiver:
            return stack.enter_context(running_receiver(status))

        yield start


def deliveries_done(timeout: float = 20.0) -> None:
    """Wait until every delivery scheduled so far has ended: both delivery threads reach a barrier, which
    they take only after the tasks queued before it."""
    workers = events._DELIVERIES._max_workers
    barrier = threading.Barrier(workers)
    waits = [events._DELIVERIES.submit(barrier.wait, timeout) for _ in range(workers)]
    for wait in waits:
        wait.result(timeout=timeout)


def callback_client(session: Session, party: Party, receiver: Receiver) -> Credentials:
    new = create_client(
        session=session, organisation=party.organisation, callback_url=receiver.url,
        callback_client_id="callback-id", callback_client_secret="callback-secret",
    )  # fmt: skip
    session.commit()
    return Credentials(new.client.client_id, new.secret)


def create_offer(client: TestClient, party: Party, external_id: str, **values: Any) -> dict[str, Any]:
    body = {**NEW_OFFER, "external_id": external_id, "title": f"Offer {external_id}", **values}
    response = client.post("/offers", json=body, headers=party.headers)
    assert response.status_code == 201, response.text
    offer: dict[str, Any] = response.json()
    return offer


def footprint_id(client: TestClient, credentials: Credentials, title: str) -> str:
    """The id of the offer's current footprint (the listing also holds those it replaced)."""
    listed = footprints(client, token_for(client, credentials), status="Active")
    (found,) = [fp for fp in listed if fp["productNameCompany"] == title]
    return str(found["id"])


def announced(receiver: Receiver) -> list[str]:
    return [pf_id for event in receiver.events for pf_id in event["data"]["pfIds"]]


def test_publishing_an_offer_announces_the_listed_footprint_to_a_members_callback(
    client: TestClient, session: Session, world: World, receivers: MakeReceiver
) -> None:
    receiver = receivers()
    member = callback_client(session, world.buyer, receiver)
    create_offer(client, world.member_vendor, "ann-1", status="published")
    (event,) = receiver.wait_for(1)
    check_event(event)
    assert event["type"] == PUBLISHED and event["source"] == f"{PUBLIC_URL}/3/events"
    assert event["data"]["pfIds"] == [footprint_id(client, member, "Offer ann-1")]
    # Delivered with a token from the callback's host, as answers to requests are.
    assert receiver.authorizations == ["Bearer receiver-token"] and receiver.tokens_issued == 1


def test_an_edit_while_published_is_announced_again_under_a_new_id_only_for_a_new_pcf(
    client: TestClient, session: Session, world: World, receivers: MakeReceiver
) -> None:
    receiver = receivers()
    member = callback_client(session, world.buyer, receiver)
    offer = create_offer(client, world.member_vendor, "ann-2", status="published")
    (created,) = receiver.wait_for(1)
    headers = world.member_vendor.headers
    renamed = client.patch(f"/offers/{offer['id']}", json={"title": "Offer ann-2b"}, headers=headers)
    assert renamed.status_code == 200
    first, titled = receiver.wait_for(2)
    assert first == created and titled["id"] != created["id"]
    assert created["data"] == titled["data"] == {"pfIds": [footprint_id(client, member, "Offer ann-2b")]}
    changed = client.patch(f"/offers/{offer['id']}", json={"pcf_value": 0.55}, headers=headers)
    assert changed.status_code == 200
    *_, new_pcf = receiver.wait_for(3)
    current = footprint_id(client, member, "Offer ann-2b")
    assert new_pcf["data"] == {"pfIds": [current]} and current not in created["data"]["pfIds"]


def test_an_alliance_only_offer_is_announced_to_members_only(
    client: TestClient, session: Session, world: World, receivers: MakeReceiver
) -> None:
    member_host, outsider_host = receivers(), receivers()
    member = callback_client(session, world.buyer, member_host)
    callback_client(session, world.other_buyer, outsider_host)
    create_offer(
        client, world.member_vendor, "ann-3", status="published", visibility="alliance",
        visibility_alliance="CN100",
    )  # fmt: skip
    deliveries_done()
    assert announced(member_host) == [footprint_id(client, member, "Offer ann-3")]
    assert outsider_host.events == []


def test_a_draft_is_announced_only_once_published(
    client: TestClient, session: Session, world: World, receivers: MakeReceiver
) -> None:
    receiver = receivers()
    member = callback_client(session, world.buyer, receiver)
    draft = create_offer(client, world.member_vendor, "ann-4")
    assert draft["status"] == "draft"
    deliveries_done()
    assert receiver.events == []
    published = client.patch(
        f"/offers/{draft['id']}", json={"status": "published"}, headers=world.member_vendor.headers
    )
    assert published.status_code == 200
    receiver.wait_for(1)
    deliveries_done()
    assert announced(receiver) == [footprint_id(client, member, "Offer ann-4")]


def test_an_archived_offer_is_not_announced(
    client: TestClient, session: Session, world: World, receivers: MakeReceiver
) -> None:
    """Its footprint leaves the listing: there is nothing a client could pull."""
    receiver = receivers()
    callback_client(session, world.buyer, receiver)
    offer = world.offers["public"]
    archived = client.patch(
        f"/offers/{offer.id}", json={"status": "archived"}, headers=world.member_vendor.headers
    )
    assert archived.status_code == 200
    deliveries_done()
    assert receiver.events == []


def test_a_revoked_client_is_not_told(
    client: TestClient, session: Session, world: World, receivers: MakeReceiver
) -> None:
    kept_host, revoked_host = receivers(), receivers()
    callback_client(session, world.buyer, kept_host)
    revoked = create_client(
        session=session, organisation=world.buyer.organisation, callback_url=revoked_host.url
    )
    session.commit()
    assert revoke_client(
        session=session, organisation=world.buyer.organisation, client_row_id=revoked.client.id
    )
    session.commit()
    create_offer(client, world.member_vendor, "ann-5", status="published")
    deliveries_done()
    assert len(kept_host.events) == 1 and revoked_host.events == []


def test_a_failing_callback_does_not_fail_the_change(
    client: TestClient, session: Session, world: World, receivers: MakeReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    receiver = receivers(status=500)
    callback_client(session, world.buyer, receiver)
    with caplog.at_level(logging.WARNING, logger="matchmaker.pact.events"):
        offer = create_offer(client, world.member_vendor, "ann-6", status="published")
        deliveries_done()
    assert client.get(f"/offers/{offer['id']}", headers=world.member_vendor.headers).status_code == 200
    # Retried as answers to requests are, then given up on the record.
    assert len(receiver.events) == DELIVERY_ATTEMPTS
    assert "not delivered" in caplog.text


def test_without_a_public_url_nothing_is_announced(
    tmp_path: Path, session: Session, session_factory: sessionmaker[Session], world: World,
    receivers: MakeReceiver, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    receiver = receivers()
    callback_client(session, world.buyer, receiver)
    with caplog.at_level(logging.DEBUG, logger="matchmaker.pact.announce"):
        app = create_app(Settings(environment="test", data_dir=tmp_path), session_factory=session_factory)
    assert "MATCHMAKER_PUBLIC_URL is not set" in caplog.text
    with TestClient(app) as plain:
        create_offer(plain, world.member_vendor, "ann-7", status="published")
    deliveries_done()
    assert receiver.events == []
