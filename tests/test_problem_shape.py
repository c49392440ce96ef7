"""Every error, from every router and from FastAPI's own routing and validation, has one shape.

RFC 9457 `application/problem+json` with type, title, status (the HTTP status), detail and instance; a 422
also lists the offending fields as errors=[{field, message}].
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.app import create_app
from matchmaker.config import Settings
from matchmaker.errors import PROBLEM_MEDIA_TYPE, ProblemDetails
from matchmaker.pact.endpoints import is_pact_path
from tests.factories import World

# Small enough that the 413 case is cheap; every other import body here is far below it.
MAX_IMPORT_BYTES = 1024
MISSING = 999_999_999  # an id no row has (inside the 32-bit range of the id columns)
OFFER = {"title": "Rebar", "kind": "product", "category": "steel", "pcf_value": 0.5, "pcf_unit": "tCO2e/t"}
NEED = {"text": "low-carbon rebar", "category": "steel"}


class Failing(NamedTuple):
    """A request that must fail: who sends it (a role of the world, None for no key, "forged" for a key
    that does not exist), what it sends, and the status and the field (for a 422) it must fail with."""

    caller: str | None
    method: str
    path: str  # formatted with the ids of the world, e.g. {offer}
    status: int
    field: str | None = None  # for a 422: the field errors[] must name (None: any)
    json: Any = None
    content: bytes | None = None
    content_type: str | None = None


CASES = {
    # 401: no key, or a key that does not exist
    "401-offers-no-key": Failing(None, "GET", "/offers", 401),
    "401-needs-no-key": Failing(None, "GET", "/needs", 401),
    "401-organisations-me-no-key": Failing(None, "GET", "/organisations/me", 401),
    "401-alliances-forged-key": Failing("forged", "GET", "/alliances", 401),
    "401-imports-no-key": Failing(None, "POST", "/imports/offers", 401, content=b"{}\n"),
    # 403: a key of the wrong role
    "403-organisations-create-as-buyer": Failing(
        "buyer", "POST", "/organisations", 403, json={"name": "New", "kind": "buyer"}
    ),
    "403-organisations-update-as-vendor": Failing(
        "member_vendor", "PATCH", "/organisations/{member_vendor}", 403, json={"name": "Renamed"}
    ),
    "403-keys-create-as-vendor": Failing(
        "member_vendor", "POST", "/organisations/{member_vendor}/keys", 403, json={"role": "vendor"}
    ),
    "403-alliances-create-as-vendor": Failing(
        "member_vendor", "POST", "/alliances", 403, json={"code": "NEW", "name": "New"}
    ),
    "403-memberships-grant-as-buyer": Failing(
        "buyer", "POST", "/alliances/CN100/memberships", 403, json={"organisation_id": "{other_vendor}"}
    ),
    "403-offers-create-as-buyer": Failing("buyer", "POST", "/offers", 403, json=OFFER),
    "403-offers-update-as-buyer": Failing("buyer", "PATCH", "/offers/{offer}", 403, json={"title": "Mine"}),
    "403-needs-create-as-vendor": Failing("member_vendor", "POST", "/needs", 403, json=NEED),
    "403-imports-catalogue-as-vendor": Failing(
        "member_vendor", "POST", "/imports/carbon-catalogue", 403, content=b"x", content_type="text/csv"
    ),
    "403-imports-needs-as-vendor": Failing("member_vendor", "POST", "/imports/needs", 403, content=b"{}\n"),
    # 404: unknown ids, rows the caller may not see, unknown routes
    "404-organisation-unknown": Failing("operator", "GET", f"/organisations/{MISSING}", 404),
    "404-organisation-of-another": Failing("buyer", "GET", "/organisations/{member_vendor}", 404),
    "404-key-unknown": Failing("operator", "DELETE", f"/organisations/{{member_vendor}}/keys/{MISSING}", 404),
    "404-alliance-unknown": Failing("operator", "GET", "/alliances/NOPE", 404),
    "404-membership-unknown": Failing(
        "operator", "PATCH", "/alliances/CN100/memberships/{other_vendor}", 404, json={"status": "revoked"}
    ),
    "404-offer-unknown": Failing("member_vendor", "GET", f"/offers/{MISSING}", 404),
    "404-offer-draft-of-another": Failing("buyer", "GET", "/offers/{draft_offer}", 404),
    "404-need-unknown": Failing("buyer", "DELETE", f"/needs/{MISSING}", 404),
    "404-need-private-of-another": Failing("member_vendor", "GET", "/needs/{private_need}", 404),
    "404-route-unknown": Failing("operator", "GET", "/no-such-route", 404),
    "404-route-unknown-no-key": Failing(None, "GET", "/imports", 404),
    # 405: a known route, a method it does not have
    "405-organisations-delete": Failing("operator", "DELETE", "/organisations", 405),
    "405-alliance-delete": Failing("operator", "DELETE", "/alliances/CN100", 405),
    "405-offer-put": Failing("member_vendor", "PUT", "/offers/{offer}", 405, json=OFFER),
    "405-needs-patch-collection": Failing("buyer", "PATCH", "/needs", 405, json=NEED),
    "405-imports-get": Failing("operator", "GET", "/imports/offers", 405),
    # 409: duplicates
    "409-organisation-name": Failing(
        "operator", "POST", "/organisations", 409, json={"name": "Platform", "kind": "buyer"}
    ),
    "409-organisation-rename": Failing(
        "operator", "PATCH", "/organisations/{buyer}", 409, json={"name": "Ship Buyer"}
    ),
    "409-alliance-code": Failing(
        "operator", "POST", "/alliances", 409, json={"code": "CN100", "name": "Again"}
    ),
    "409-offer-external-id": Failing(
        "member_vendor", "POST", "/offers", 409, json={**OFFER, "external_id": "m-public"}
    ),
    "409-need-external-id": Failing("buyer", "POST", "/needs", 409, json={**NEED, "external_id": "b-shared"}),
    # 413: an import over the configured size
    "413-imports-offers": Failing(
        "operator", "POST", "/imports/offers", 413, content=b"{}\n" * MAX_IMPORT_BYTES
    ),
    # 400: bodies that cannot be read at all
    "400-offers-body-not-utf8": Failing(
        "member_vendor", "POST", "/offers", 400, content=b'{"title": "\xff"}', content_type="application/json"
    ),
    "400-imports-not-utf8": Failing("operator", "POST", "/imports/needs", 400, content=b"\xff\xfe\xfa\n"),
    "400-imports-catalogue-no-columns": Failing(
        "operator", "POST", "/imports/carbon-catalogue", 400, content=b"a,b\n1,2\n", content_type="text/csv"
    ),
    # 422: a bad field, named in errors[].field
    # FastAPI reports malformed JSON as a 422 whose "field" is the character offset (here "10").
    "422-offers-malformed-json": Failing(
        "member_vendor", "POST", "/offers", 422, content=b'{"title": ', content_type="application/json"
    ),
    "422-offer-pcf-unit": Failing(
        "member_vendor", "POST", "/offers", 422, "pcf_unit", json={**OFFER, "pcf_unit": "kgCO2/kg"}
    ),
    "422-offer-category": Failing(
        "member_vendor", "POST", "/offers", 422, "category", json={**OFFER, "category": "steelx"}
    ),
    "422-offer-extra-field": Failing(
        "member_vendor", "POST", "/offers", 422, "colour", json={**OFFER, "colour": "green"}
    ),
    "422-offer-owner-required": Failing("operator", "POST", "/offers", 422, "owner_id", json=OFFER),
    "422-offer-update-category": Failing(
        "operator", "PATCH", "/offers/{offer}", 422, "category", json={"category": "steelx"}
    ),
    "422-offer-id-not-int": Failing("member_vendor", "GET", "/offers/abc", 422, "offer_id"),
    "422-offers-per-page": Failing("buyer", "GET", "/offers?per_page=0", 422, "per_page"),
    "422-offers-sort": Failing("buyer", "GET", "/offers?sort=colour", 422, "sort"),
    "422-need-unit": Failing(
        "buyer", "POST", "/needs", 422, "max_pcf_unit", json={**NEED, "max_pcf_unit": "x"}
    ),
    "422-need-text-missing": Failing("buyer", "POST", "/needs", 422, "text", json={"category": "steel"}),
    "422-need-update-status": Failing(
        "buyer", "PATCH", "/needs/{shared_need}", 422, "status", json={"status": "x"}
    ),
    "422-needs-category-query": Failing("member_vendor", "GET", "/needs?category=steelx", 422, "category"),
    "422-organisation-kind": Failing(
        "operator", "POST", "/organisations", 422, "kind", json={"name": "New", "kind": "alien"}
    ),
    "422-organisations-page": Failing("operator", "GET", "/organisations?page=0", 422, "page"),
    "422-key-role-for-kind": Failing(
        "operator", "POST", "/organisations/{buyer}/keys", 422, "role", json={"role": "vendor"}
    ),
    "422-alliance-code": Failing(
        "operator", "POST", "/alliances", 422, "code", json={"code": "no spaces", "name": "Bad"}
    ),
    "422-membership-organisation": Failing(
        "operator",
        "POST",
        "/alliances/CN100/memberships",
        422,
        "organisation_id",
        json={"organisation_id": MISSING},
    ),
    "422-membership-status": Failing(
        "operator",
        "PATCH",
        "/alliances/CN100/memberships/{member_vendor}",
        422,
        "status",
        json={"status": "gone"},
    ),
    "422-imports-format": Failing(
        "operator", "POST", "/imports/offers?format=xml", 422, "format", content=b"{}\n"
    ),
}


@pytest.fixture
def problem_client(tmp_path: Path, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    settings = Settings(environment="test", data_dir=tmp_path, max_import_bytes=MAX_IMPORT_BYTES)
    with TestClient(create_app(settings, session_factory=session_factory)) as client:
        yield client


def world_ids(world: World) -> dict[str, int]:
    parties = ("operator", "member_vendor", "other_vendor", "buyer")
    return {
        **{name: getattr(world, name).id for name in parties},
        "offer": world.offers["public"].id,
        "draft_offer": world.offers["draft"].id,
        "shared_need": world.needs["shared"].id,
        "private_need": world.needs["private"].id,
    }


def fill(value: Any, ids: dict[str, int]) -> Any:
    """Put the world's ids into a request: "{offer}" as a whole JSON value becomes the integer id."""
    if isinstance(value, dict):
        return {key: fill(item, ids) for key, item in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    return value


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_error_is_problem_json(problem_client: TestClient, world: World, case: Failing) -> None:
    ids = world_ids(world)
    headers = {"X-API-Key": "mm_000000000000_forged"} if case.caller == "forged" else {}
    if case.caller not in (None, "forged"):
        headers.update(getattr(world, case.caller).headers)
    if case.content_type:
        headers["Content-Type"] = case.content_type
    path = case.path.format(**ids)

    response = problem_client.request(
        case.method, path, headers=headers, json=fill(case.json, ids), content=case.content
    )

    assert response.status_code == case.status, response.text
    assert response.headers["content-type"].split(";")[0].strip() == PROBLEM_MEDIA_TYPE, response.headers
    problem = response.json()
    assert (
        {"type", "title", "status", "detail", "instance"}
        <= problem.keys()
        <= {
            "type",
            "title",
            "status",
            "detail",
            "instance",
            "errors",
        }
    ), problem
    assert problem["status"] == response.status_code
    ProblemDetails.model_validate(problem)  # the schema the OpenAPI document declares
    assert isinstance(problem["type"], str) and problem["type"].startswith("/problems/"), problem
    assert isinstance(problem["title"], str) and problem["title"], problem
    assert isinstance(problem["detail"], str) and problem["detail"], problem
    assert problem["instance"] == path.split("?")[0], problem
    if case.status == 401:
        assert response.headers.get("www-authenticate") == "Bearer"
    if case.status == 422:
        errors = problem.get("errors")
        assert isinstance(errors, list) and errors, problem
        assert all(isinstance(e, dict) and e.keys() == {"field", "message"} for e in errors), errors
        if case.field is not None:
            assert case.field in {error["field"] for error in errors}, errors


def test_the_openapi_document_declares_problem_responses(problem_client: TestClient) -> None:
    document = problem_client.get("/openapi.json").json()
    assert "ProblemDetails" in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path in ("/healthz", "/readyz"):
                continue
            declared = operation["responses"]
            if is_pact_path(path):  # PACT's routes answer in PACT's error shape, and say so
                if path != "/.well-known/openid-configuration":
                    assert "400" in declared and "application/json" in declared["400"]["content"], (
                        method,
                        path,
                    )
                continue
            assert "401" in declared, (method, path)
            assert "application/problem+json" in declared["401"]["content"], (method, path)
