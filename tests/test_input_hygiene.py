"""Text and numbers that enter: text that cannot be stored never gets in, numbers are numbers and bounded.

Each door is tried as a hostile client would: JSON bodies sent as raw bytes (an ordinary client cannot even
encode an unpaired surrogate), import files over HTTP and through the CLI, PACT footprints, forms, cookies
and PACT credentials. A refusal is a 4xx naming the field or the line; the good lines still land, and
every list keeps answering. Runs on SQLite, and on PostgreSQL with MATCHMAKER_TEST_DATABASE_URL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.routing import BaseRoute

from matchmaker.app import create_app
from matchmaker.auth import Principal
from matchmaker.config import Settings
from matchmaker.db.models import Offer
from matchmaker.pact.importing import import_footprints
from matchmaker.pact.service import create_client
from matchmaker.routing import CheckedRoute
from tests.cli_support import assert_clean_failure, db_session, run
from tests.factories import Party, World
from tests.test_pact_mapping import STEEL_COIL, fixture
from tests.web_support import csrf_token, sign_in

PROBLEM = "application/problem+json"
LONG_INTEGER = "9" * 4301  # one digit past Python's integer conversion limit
NEW_OFFER: dict[str, Any] = {
    "title": "Low-carbon rebar",
    "kind": "product",
    "category": "steel",
    "pcf_value": 0.4,
    "pcf_unit": "tCO2e/t",
}
LINE: dict[str, Any] = {
    "id": "good-1",
    "title": "Green hydrogen",
    "kind": "product",
    "category": "hydrogen",
    "supplier": "H2 Co",
    "pcf_value": 1.2,
    "pcf_unit": "kgCO2e/kg",
}


def raw_json(value: Any) -> bytes:
    """JSON as a hostile client writes it: "\\udfff" escapes, which json.loads turns into surrogates."""
    return json.dumps(value).encode()


def send_json(client: TestClient, method: str, path: str, body: Any, party: Party) -> Any:
    headers = {**party.headers, "Content-Type": "application/json"}
    return client.request(method, path, content=raw_json(body), headers=headers)


def jsonl(*lines: dict[str, Any] | str) -> bytes:
    return b"".join((line if isinstance(line, str) else json.dumps(line)).encode() + b"\n" for line in lines)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def offer_ids(client: TestClient, party: Party) -> set[str]:
    """The external ids in the caller's offer list (which must itself keep answering)."""
    response = client.get("/offers?per_page=100", headers=party.headers)
    assert response.status_code == 200, response.text
    return {item["external_id"] for item in response.json()["items"]}


# --- JSON bodies ------------------------------------------------------------------------------------------

BAD_OFFERS = [
    pytest.param({**NEW_OFFER, "title": "Rebar \udfff"}, "title", "unpaired surrogate", id="title"),
    pytest.param(
        {**NEW_OFFER, "attributes": {"grade": ["S355", "\ud800"]}},
        "attributes.grade.1",
        "unpaired surrogate",
        id="nested-attribute",
    ),
    pytest.param(
        {**NEW_OFFER, "attributes": {"size\udfff": 1}},
        "attributes.size\\udfff",
        "surrogate",
        id="attribute-key",
    ),
    pytest.param({**NEW_OFFER, "\udfff": 1}, "\\udfff", "unpaired surrogate", id="unknown-key"),
    pytest.param({**NEW_OFFER, "attributes": {"note": "a\x00b"}}, "attributes.note", "NUL", id="nul"),
    pytest.param({**NEW_OFFER, "description": "\uffff"}, "description", "non-character", id="non-character"),
]


@pytest.mark.parametrize(("body", "field", "reason"), BAD_OFFERS)
def test_text_that_cannot_be_stored_is_a_422_naming_the_field(
    client: TestClient, world: World, body: dict[str, Any], field: str, reason: str
) -> None:
    vendor = world.other_vendor
    before = offer_ids(client, vendor)

    problem = assert_problem(send_json(client, "POST", "/offers", body, vendor), 422)

    assert [error["field"] for error in problem["errors"]] == [field]
    assert reason in problem["errors"][0]["message"]
    assert offer_ids(client, vendor) == before


@pytest.mark.parametrize(
    ("method", "path", "role", "body", "field"),
    [
        ("PATCH", "/offers/{offer}", "member_vendor", {"attributes": {"k": "\udc00"}}, "attributes.k"),
        ("POST", "/needs", "buyer", {"text": "rebar \udfff"}, "text"),
        ("PATCH", "/needs/{need}", "buyer", {"text": "\ud83d"}, "text"),
        ("POST", "/search", "buyer", {"text": "steel", "region": ["\udfff"]}, "region.0"),
        ("POST", "/alliances", "operator", {"code": "YRD", "name": "Y\udfff"}, "name"),
    ],
)
def test_every_json_body_refuses_unstorable_text(
    client: TestClient, world: World, method: str, path: str, role: str, body: dict[str, Any], field: str
) -> None:
    target = path.format(offer=world.offers["public"].id, need=world.needs["shared"].id)
    problem = assert_problem(send_json(client, method, target, body, getattr(world, role)), 422)
    assert problem["errors"][0]["field"] == field


def test_a_number_past_the_integer_limit_in_a_json_body_is_a_422(client: TestClient, world: World) -> None:
    headers = {**world.other_vendor.headers, "Content-Type": "application/json"}
    body = raw_json(NEW_OFFER).replace(b"0.4", LONG_INTEGER.encode())
    problem = assert_problem(client.post("/offers", content=body, headers=headers), 422)
    assert "4300" in problem["errors"][0]["message"]


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every APIRoute, also inside included routers (FastAPI keeps those as wrappers of the router)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)
        elif isinstance(route, APIRoute):
            yield route


def test_every_route_checks_its_json_body() -> None:
    app = create_app(Settings(environment="test"))
    routes = list(api_routes(app.routes))
    unchecked = [route.path for route in routes if not isinstance(route, CheckedRoute)]
    assert len(routes) > 40 and not unchecked


# --- numbers are numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "role", "body", "field"),
    [
        ("POST", "/offers", "other_vendor", {**NEW_OFFER, "pcf_value": True}, "pcf_value"),
        ("POST", "/offers", "other_vendor", {**NEW_OFFER, "pcf_value": "12"}, "pcf_value"),
        ("PATCH", "/offers/{offer}", "member_vendor", {"pcf_value": "0.3"}, "pcf_value"),
        (
            "POST",
            "/needs",
            "buyer",
            {"text": "rebar", "max_pcf": False, "max_pcf_unit": "tCO2e/t"},
            "max_pcf",
        ),
        ("PATCH", "/needs/{need}", "buyer", {"max_pcf": "2", "max_pcf_unit": "tCO2e/t"}, "max_pcf"),
        ("POST", "/search", "buyer", {"text": "steel", "max_pcf": "1", "max_pcf_unit": "tCO2e/t"}, "max_pcf"),
        ("POST", "/search", "buyer", {"text": "steel", "limit": "5"}, "limit"),
    ],
)
def test_a_number_written_as_text_or_a_boolean_is_refused(
    client: TestClient, world: World, method: str, path: str, role: str, body: dict[str, Any], field: str
) -> None:
    target = path.format(offer=world.offers["public"].id, need=world.needs["shared"].id)
    problem = assert_problem(send_json(client, method, target, body, getattr(world, role)), 422)
    assert [error["field"] for error in problem["errors"]] == [field]


@pytest.mark.parametrize(
    ("method", "path", "role", "body", "field"),
    [
        ("POST", "/offers", "other_vendor", {**NEW_OFFER, "pcf_verified": "true"}, "pcf_verified"),
        ("POST", "/offers", "other_vendor", {**NEW_OFFER, "pcf_verified": 1}, "pcf_verified"),
        ("PATCH", "/offers/{offer}", "member_vendor", {"pcf_verified": 1e-400}, "pcf_verified"),
        ("POST", "/needs", "buyer", {"text": "rebar", "require_verified": "yes"}, "require_verified"),
        ("PATCH", "/needs/{need}", "buyer", {"require_verified": 0}, "require_verified"),
        ("POST", "/search", "buyer", {"text": "steel", "require_verified": "0"}, "require_verified"),
    ],
)
def test_a_boolean_written_as_text_or_a_number_is_refused(
    client: TestClient, world: World, method: str, path: str, role: str, body: dict[str, Any], field: str
) -> None:
    """Found by hostile testing after numbers were made strict: "true", 1 and 1e-400 were read as booleans."""
    target = path.format(offer=world.offers["public"].id, need=world.needs["shared"].id)
    problem = assert_problem(send_json(client, method, target, body, getattr(world, role)), 422)
    assert [error["field"] for error in problem["errors"]] == [field]
    assert send_json(client, method, target, {**body, field: True}, getattr(world, role)).status_code < 300


def test_an_id_in_a_body_is_a_number_too(client: TestClient, world: World) -> None:
    body = {**NEW_OFFER, "owner_id": str(world.other_vendor.id)}
    problem = assert_problem(send_json(client, "POST", "/offers", body, world.operator), 422)
    assert [error["field"] for error in problem["errors"]] == ["owner_id"]
    body["owner_id"] = world.other_vendor.id
    assert send_json(client, "POST", "/offers", body, world.operator).status_code == 201


def test_integers_and_floats_are_numbers(client: TestClient, world: World) -> None:
    created = send_json(client, "POST", "/offers", {**NEW_OFFER, "pcf_value": 12}, world.other_vendor)
    assert created.status_code == 201, created.text
    assert created.json()["pcf_value"] == 12.0
    changed = send_json(
        client, "PATCH", f"/offers/{created.json()['id']}", {"pcf_value": 0.5}, world.other_vendor
    )
    assert changed.status_code == 200 and changed.json()["pcf_value"] == 0.5


def test_a_jsonl_number_must_be_a_number_and_a_csv_cell_is_read_as_one(
    client: TestClient, world: World
) -> None:
    report = client.post(
        "/imports/offers",
        content=jsonl({**LINE, "pcf_value": "12"}, {**LINE, "id": "good-2", "pcf_verified": True}),
        headers={**world.operator.headers, "Content-Type": "application/x-ndjson"},
    ).json()
    assert (report["created"], report["failed"]) == (1, 1)
    assert report["errors"][0]["line"] == 1 and "pcf_value" in report["errors"][0]["message"]

    csv_text = (
        "id,title,kind,category,supplier,pcf_value,pcf_unit\nc1,Rebar,product,steel,CSV Co,12,tCO2e/t\n"
    )
    report = client.post(
        "/imports/offers", content=csv_text, headers={**world.operator.headers, "Content-Type": "text/csv"}
    ).json()
    assert (report["created"], report["failed"]) == (1, 0)


def test_a_form_still_takes_a_number_typed_as_text(client: TestClient, world: World) -> None:
    sign_in(client, world.other_vendor.key)
    token = csrf_token(client, "/ui/offers/new")
    fields = {"title": "Form rebar", "kind": "product", "category": "steel", "pcf_value": "0.42"}
    response = client.post(
        "/ui/offers",
        data={"csrf_token": token, **fields, "pcf_unit": "tCO2e/t"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    listed = client.get("/offers?per_page=100", headers=world.other_vendor.headers).json()["items"]
    assert [item["pcf_value"] for item in listed if item["title"] == "Form rebar"] == [0.42]


# --- import files -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_number_json_does_not_allow_is_a_422_anywhere_in_a_body(
    client: TestClient, world: World, number: str, method: str
) -> None:
    """Found by hostile testing: NaN in `attributes` was a 500 on PostgreSQL and invalid JSON on SQLite."""
    body = {**NEW_OFFER, "attributes": {"x": 0.5}} if method == "POST" else {"attributes": {"x": 0.5}}
    path = "/offers" if method == "POST" else f"/offers/{world.offers['public'].id}"
    raw = json.dumps(body).replace("0.5", number).encode()
    headers = {**world.member_vendor.headers, "Content-Type": "application/json"}
    assert_problem(client.request(method, path, content=raw, headers=headers), 422)
    line = json.dumps({**LINE, "id": "nan", "attributes": {"x": 0.5}}).replace("0.5", number)
    report = client.post(
        "/imports/offers",
        content=line.encode() + b"\n" + jsonl({**LINE, "id": "fine"}),
        headers={**world.member_vendor.headers, "Content-Type": "application/x-ndjson"},
    ).json()
    assert (report["created"], report["failed"], report["errors"][0]["line"]) == (1, 1, 1)
    assert "invalid JSON" in report["errors"][0]["message"]


@pytest.mark.parametrize("path", ["/search", "/needs/search"])
def test_a_misspelt_search_filter_is_refused_not_ignored(client: TestClient, world: World, path: str) -> None:
    body = {"text": "rebar", "max_pfc": 1}
    problem = assert_problem(send_json(client, "POST", path, body, world.buyer), 422)
    assert [error["field"] for error in problem["errors"]] == ["max_pfc"]


def test_import_lines_with_unstorable_text_or_unreadable_numbers_are_each_refused(
    client: TestClient, world: World
) -> None:
    body = jsonl(
        LINE,
        {**LINE, "id": "bad-attr", "attributes": {"colour": "\udfff"}},
        {**LINE, "id": "bad-\udfff"},
        {**LINE, "id": "bad-nul", "title": "H\x00"},
        json.dumps({**LINE, "id": "long"}).replace("1.2", LONG_INTEGER),
        {**LINE, "id": "good-2"},
    )
    response = client.post(
        "/imports/offers",
        content=body,
        headers={**world.operator.headers, "Content-Type": "application/x-ndjson"},
    )

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["total"], report["created"], report["failed"]) == (6, 2, 4)
    errors = {error["line"]: error for error in report["errors"]}
    assert [(line, errors[line]["id"]) for line in sorted(errors)] == [
        (2, "bad-attr"),
        (3, None),  # an id that cannot be stored is not repeated either
        (4, "bad-nul"),
        (5, None),
    ]
    assert "attributes.colour" in errors[2]["message"] and "surrogate" in errors[2]["message"]
    assert "id" in errors[3]["message"] and "surrogate" in errors[3]["message"]
    assert "title" in errors[4]["message"] and "NUL" in errors[4]["message"]
    assert "4300 digits" in errors[5]["message"]
    assert {"good-1", "good-2"} <= offer_ids(client, world.buyer)


def test_a_csv_cell_that_cannot_be_stored_is_one_bad_line(client: TestClient, world: World) -> None:
    csv_text = (
        "id,title,kind,category,supplier,pcf_value,pcf_unit\n"
        "c1,Rebar\x00,product,steel,CSV Co,1,tCO2e/t\n"
        "c2,Beam\ufdd0,product,steel,CSV Co,1,tCO2e/t\n"
        "c3,Rebar,product,steel,CSV Co,1,tCO2e/t\n"
    )
    report = client.post(
        "/imports/offers", content=csv_text, headers={**world.operator.headers, "Content-Type": "text/csv"}
    ).json()
    assert (report["created"], report["failed"]) == (1, 2)
    assert [(error["line"], error["id"]) for error in report["errors"]] == [(2, "c1"), (3, "c2")]


@pytest.mark.parametrize("path", ["/imports/offers", "/imports/needs", "/imports/carbon-catalogue"])
@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b" \n\n"])
def test_an_empty_import_file_is_refused(client: TestClient, world: World, path: str, content: bytes) -> None:
    problem = assert_problem(client.post(path, content=content, headers=world.operator.headers), 422)
    assert "empty" in problem["detail"]


def test_the_cli_reports_each_bad_line_in_one_line_and_imports_the_rest(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "offers.jsonl"
    path.write_bytes(
        jsonl(
            LINE,
            json.dumps({**LINE, "id": "long"}).replace("1.2", LONG_INTEGER),
            {**LINE, "id": "x\udfff"},
            {**LINE, "id": "bad-attr", "attributes": {"\ud800": "key"}},
        )
    )
    result = run("import", "offers", path, env=cli_env)

    assert_clean_failure(result)
    reasons = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert len(reasons) == 3, result.stderr
    assert reasons[0].startswith("line 2:") and "4300 digits" in reasons[0]
    assert reasons[1].startswith("line 3:") and "surrogate" in reasons[1]
    assert reasons[2].startswith("line 4 (id bad-attr):") and "attributes.\\ud800" in reasons[2]
    with db_session(cli_env) as session:
        assert list(session.scalars(select(Offer.external_id))) == ["good-1"]

    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    result = run("import", "offers", empty, env=cli_env)
    assert_clean_failure(result)
    assert "empty" in result.stderr


def test_pact_footprints_with_unstorable_text_are_each_refused(session: Session) -> None:
    operator = Principal(organisation_id=0, role="operator", key_id=0)
    footprints = [
        # Kept in the offer's attributes, where no string field of a model would have looked.
        fixture(STEEL_COIL, productIds=["urn:pact:sample:\udfff"]),
        fixture(STEEL_COIL, id="5e0c2a9e-7b4d-4e2a-9c1f-5a6b7c8d9e07", companyName="Steel\x00Co"),
        fixture(STEEL_COIL, id="5e0c2a9e-7b4d-4e2a-9c1f-5a6b7c8d9e08"),
    ]
    report = import_footprints(session=session, principal=operator, footprints=footprints)

    assert (report.created, report.failed) == (1, 2)
    assert [error.line for error in report.errors] == [1, 2]
    assert "attributes.pact.productIds.0" in report.errors[0].message
    report.model_dump_json()  # the report can be sent back
    stored = session.scalars(select(Offer.title)).all()
    assert all("\udfff" not in title for title in stored)


# --- numbers in text --------------------------------------------------------------------------------------


def test_an_absurd_ceiling_in_a_search_text_bounds_nothing(client: TestClient, world: World) -> None:
    text = f"rebar with a carbon footprint under {'9' * 309} kgCO2e/t"
    response = send_json(client, "POST", "/search", {"text": text}, world.buyer)
    assert response.status_code == 200, response.text
    assert response.json()["criteria"]["max_pcf"] is None

    sane = send_json(client, "POST", "/search", {"text": "rebar under 800 kgCO2e/t"}, world.buyer)
    assert sane.json()["criteria"]["max_pcf"] == 800


# --- cookies and credentials ------------------------------------------------------------------------------


def test_a_non_ascii_session_cookie_means_signed_out(client: TestClient, world: World) -> None:
    response = client.get(
        "/ui/offers",
        headers={b"Cookie": b"mm_session=abc\xe9.def\xe9"},
        follow_redirects=False,
    )
    assert response.status_code in (302, 303, 401), response.text
    assert "/ui/sign-in" in response.headers.get("location", "/ui/sign-in")


def test_a_non_ascii_csrf_token_is_a_bad_token(client: TestClient, world: World) -> None:
    token = csrf_token(client)
    cookie = b"mm_csrf=" + token.encode()[:-2] + b"\xe9\xe9"
    response = client.post(
        "/ui/sign-in",
        content=f"csrf_token={token}&key={world.buyer.key}&next=/ui".encode(),
        headers={b"Cookie": cookie, b"Content-Type": b"application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert 400 <= response.status_code < 500, response.text


def test_a_nul_in_pact_client_credentials_is_a_client_error(
    client: TestClient, session: Session, world: World
) -> None:
    new = create_client(session=session, organisation=world.buyer.organisation, label="probe")
    session.commit()
    for client_id, secret in [(new.client.client_id + "\x00", new.secret), (new.client.client_id, "x\x00")]:
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        response = client.post("/auth/token", data=form)
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_request"


def test_a_non_ascii_pact_token_is_refused(client: TestClient, world: World) -> None:
    headers = {b"Authorization": b"Bearer mmpact.1.99999999999.\xe9\xe9"}
    response = client.get("/3/footprints", headers=headers)
    assert response.status_code == 401, response.text


def test_a_nul_in_the_sign_in_key_is_a_refused_sign_in(client: TestClient, world: World) -> None:
    token = csrf_token(client)
    form = {"csrf_token": token, "key": "mm_\x00bcdefghijkl_secret", "next": "/ui"}
    response = client.post("/ui/sign-in", data=form, follow_redirects=False)
    assert response.status_code == 401, response.text


def test_a_pact_event_with_unstorable_text_is_a_400(
    client: TestClient, session: Session, world: World
) -> None:
    new = create_client(session=session, organisation=world.buyer.organisation, label="events")
    session.commit()
    form = {"grant_type": "client_credentials"}
    token = client.post("/auth/token", data=form, auth=(new.client.client_id, new.secret)).json()
    event = {
        "specversion": "1.0",
        "id": "e-\udfff",
        "source": "//example.com",
        "time": "2026-11-24T10:00:00Z",
        "type": "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3",
        "data": {"productId": ["urn:gtin:\ud800"], "comment": "please"},
    }
    headers = {"Authorization": f"Bearer {token['access_token']}", "Content-Type": "application/json"}
    response = client.post("/3/events", content=raw_json(event), headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "BadRequest" and "surrogate" in response.json()["message"]
