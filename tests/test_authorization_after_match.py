"""The authorization matrix of what follows a match: shortlists, feedback, inquiries and alerts, each role
against the buyer's need, an inquiry between the buyer and a supplier, and the buyer's alert. A third
organisation gets 404 for every one; a party acting outside its part gets 403."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session

from matchmaker.db.models import Alert
from tests.factories import World

ROLES = ("operator", "member_vendor", "other_vendor", "pending_vendor", "buyer", "other_buyer")
STRANGERS = ("other_vendor", "pending_vendor", "other_buyer")


def _headers(world: World, role: str) -> dict[str, str]:
    return dict(getattr(world, role).headers)


def _inquiry(client: TestClient, world: World) -> int:
    sent = client.post(
        "/inquiries",
        json={"offer_id": world.offers["public"].id, "message": "price?"},
        headers=world.buyer.headers,
    )
    assert sent.status_code == 201, sent.text
    return int(sent.json()["id"])


@pytest.mark.parametrize("role", ROLES)
def test_shortlist_and_feedback_of_a_need(client: TestClient, world: World, role: str) -> None:
    need, offer = world.needs["shared"].id, world.offers["public"].id
    allowed = role in ("operator", "buyer")
    headers = _headers(world, role)
    calls: list[tuple[str, str, Any, int]] = [
        ("GET", f"/needs/{need}/shortlist", None, 200),
        ("PUT", f"/needs/{need}/shortlist/{offer}", {"note": "x"}, 201),
        ("GET", f"/needs/{need}/shortlist?format=xlsx", None, 200),
        ("DELETE", f"/needs/{need}/shortlist/{offer}", None, 204),
        ("PUT", f"/needs/{need}/feedback/{offer}", {"verdict": "relevant"}, 201),
        ("GET", f"/needs/{need}/feedback", None, 200),
        ("DELETE", f"/needs/{need}/feedback/{offer}", None, 204),
    ]
    for method, path, body, expected in calls:
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == (expected if allowed else 404), (role, method, path, response.text)
        if not allowed:
            assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("role", ROLES)
def test_an_inquiry(client: TestClient, world: World, role: str) -> None:
    inquiry = _inquiry(client, world)
    headers = _headers(world, role)
    read = client.get(f"/inquiries/{inquiry}", headers=headers)
    step = client.post(
        f"/inquiries/{inquiry}/messages", json={"kind": "message", "body": "hi"}, headers=headers
    )
    listed = client.get("/inquiries", headers=headers).json()["total"]
    if role in STRANGERS:
        assert (read.status_code, step.status_code, listed) == (404, 404, 0)
    elif role == "operator":
        assert (read.status_code, step.status_code, listed) == (200, 403, 1)  # reads, takes no part
    else:
        assert (read.status_code, step.status_code, listed) == (200, 201, 1)


@pytest.mark.parametrize("role", ROLES)
def test_an_alert(client: TestClient, world: World, session: Session, role: str) -> None:
    alert = session.scalar(
        insert(Alert)
        .values(
            organisation_id=world.buyer.organisation.id,
            kind="offer_fits_need",
            key="fit:test",
            need_id=world.needs["shared"].id,
            offer_id=world.offers["public"].id,
            details={},
        )  # fmt: skip
        .returning(Alert.id)
    )
    session.commit()
    headers = _headers(world, role)
    mark = client.post(f"/alerts/{alert}/read", headers=headers)
    items = client.get("/alerts", headers=headers).json()["items"]
    if role == "buyer":
        assert (mark.status_code, [a["id"] for a in items]) == (200, [alert])
    else:
        assert (mark.status_code, items) == (404, [])
