"""Schema-driven fuzzing of the OpenAPI document: no 5xx, every error is application/problem+json, and
every status is one the document declares for the operation.

The schema is loaded once, from an app that never touches a database (the OpenAPI document needs none).
Each test builds the real app over the per-test rolled-back connection and drives one operation with
Hypothesis (derandomised, bounded), as the operator and, in a smaller pass, as a vendor and a buyer.

The bugs the fuzz once found (ids beyond INTEGER, lone CRs in CSV, deeply nested JSON, NUL characters) are
pinned as regression cases in `test_fuzz_findings`.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.app import create_app
from matchmaker.config import Settings
from matchmaker.errors import PROBLEM_MEDIA_TYPE
from matchmaker.pact.endpoints import is_pact_path
from tests.factories import Party, World

# An explicit default config, so a schemathesis.toml lying around cannot change what the fuzz does.
SCHEMA = schemathesis.openapi.from_dict(
    create_app(Settings(environment="test", data_dir=Path("unused"))).openapi(), config=schemathesis.Config()
)
OPERATIONS: dict[str, APIOperation] = {
    result.ok().label: result.ok() for result in SCHEMA.get_all_operations()
}
# The same switch conftest.py uses to pick the database.
ON_POSTGRES = bool(os.environ.get("MATCHMAKER_TEST_DATABASE_URL"))
# Selected apart by scripts/test.sh, which runs it on two workers; plain `pytest` runs it with the rest.
pytestmark = pytest.mark.fuzz

OPERATOR_EXAMPLES = 30
PARTY_EXAMPLES = 10


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        # No shrinking: a failure reports the request as generated, and the run stays bounded.
        phases=(Phase.explicit, Phase.generate),
        # Function-scoped fixtures, filtered examples and large bodies are all deliberate here.
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


# --- what the fuzz sends ---------------------------------------------------------------------------------


def known_path_parameters(operation: APIOperation, world: World, caller: Party) -> list[dict[str, Any]]:
    """Path parameters naming rows that exist, so the fuzz gets past the 404 of a random id."""
    values: dict[str, list[Any]] = {
        "organisation_id": sorted({caller.id, world.member_vendor.id, world.buyer.id}),
        "code": [world.alliance.code],
        "offer_id": [offer.id for offer in world.offers.values()],
        "need_id": [need.id for need in world.needs.values()],
    }
    names = sorted({parameter.name for parameter in operation.path_parameters} & values.keys())
    if not names:
        return []
    return [
        dict(zip(names, combination, strict=True))
        for combination in itertools.product(*(values[n] for n in names))
    ]


# Header lines that make a fuzzed CSV body reach the row readers instead of the missing-columns refusal.
CSV_HEADERS = {
    "/imports/offers": "id,supplier,title,kind,category,pcf_value,pcf_unit,certifications\n",
    "/imports/needs": "id,buyer,text,category,max_pcf,max_pcf_unit,require_verified\n",
    "/imports/carbon-catalogue": '*PCF-ID,"Product name (and functional unit)",Company,'
    '"Product\'s carbon footprint (PCF, kg CO2e)",Product detail,Year of reporting\n',
}


def nudge(case: Case, world: World, caller: Party) -> Case:
    """Give a generated request the few values the schema cannot express (known categories, units and
    alliance codes, a supplier or buyer to act for, CSV headers), so the fuzz gets past validation."""
    body = case.body
    if isinstance(body, str) and case.path in CSV_HEADERS and "csv" in (case.media_type or ""):
        case.body = CSV_HEADERS[case.path] + body
        return case
    if not isinstance(body, dict):
        return case
    if "category" in body:
        body["category"] = "steel"
    if "pcf_unit" in body or "pcf_value" in body:
        body.pop("declared_unit", None)
        body["pcf_unit"] = "kgCO2e/kg"
        body["pcf_value"] = body["pcf_value"] if isinstance(body.get("pcf_value"), float) else 1.5
    if "max_pcf_unit" in body or "max_pcf" in body:
        body["max_pcf_unit"] = "tCO2e/t"
        body["max_pcf"] = body["max_pcf"] if isinstance(body.get("max_pcf"), float) else 2.0
    for name in ("visibility_alliance", "alliance_only"):
        if name in body:
            body[name] = world.alliance.code
    creates = case.method.upper() == "POST" and case.path in ("/offers", "/needs")
    if caller is world.operator and (creates or "owner_id" in body):
        body["owner_id"] = (world.buyer if case.path.startswith("/needs") else world.member_vendor).id
    elif caller is not world.operator:
        body.pop("owner_id", None)
    return case


def case_strategy(operation: APIOperation, world: World, caller: Party) -> st.SearchStrategy[Case]:
    """Valid and invalid requests as the schema allows, plus valid ones nudged toward success (see
    `nudge`), half of those (where there are path parameters) naming rows that exist."""

    def nudged(strategy: st.SearchStrategy[Case]) -> st.SearchStrategy[Case]:
        return strategy.map(lambda case: nudge(case, world, caller))

    strategies = [operation.as_strategy(generation_mode=mode) for mode in GenerationMode]
    strategies.append(nudged(operation.as_strategy(generation_mode=GenerationMode.POSITIVE)))
    known = [
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=fixed)
        for fixed in known_path_parameters(operation, world, caller)
    ]
    if known:
        strategies.append(nudged(st.one_of(known)))
    return st.one_of(strategies)


def locks_caller_out(case: Case, caller: Party) -> bool:
    """Revoking the caller's own key or suspending its organisation turns the rest of the run into 401s."""
    if not case.path_parameters or case.path_parameters.get("organisation_id") != caller.id:
        return False
    if case.method.upper() == "DELETE":
        return True
    return isinstance(case.body, dict) and case.body.get("admission_status") == "suspended"


# --- the known bugs, pinned in test_fuzz_findings and kept out of the fuzz -----------------------------

# --- the fuzz ------------------------------------------------------------------------------------------


def assert_well_formed(label: str, status: int, content_type: str, body: bytes) -> None:
    assert status < 500, f"{label} -> {status}: {body[:500]!r}"
    if status >= 400:
        media_type = content_type.split(";")[0].strip()
        path = label.split(" ", 1)[1]
        if is_pact_path(path):
            # PACT's own error shapes: {code, message}, or RFC 6749's {error} at the token endpoint.
            assert media_type == "application/json", f"{label} -> {status} as {content_type!r}"
            error = json.loads(body)
            assert ("code" in error and "message" in error) or "error" in error, f"{label} -> {body[:500]!r}"
        else:
            assert media_type == PROBLEM_MEDIA_TYPE, (
                f"{label} -> {status} as {content_type!r}: {body[:500]!r}"
            )


def run_fuzz(app: FastAPI, operation: APIOperation, world: World, caller: Party, max_examples: int) -> None:
    @fuzz_settings(max_examples)
    @given(case=case_strategy(operation, world, caller))
    def fuzz(case: Case) -> None:
        assume(not locks_caller_out(case, caller))
        label = f"{case.method.upper()} {case.formatted_path}"
        try:
            response = case.call(app=app, headers=caller.headers)
        except Exception as error:  # an error escaped the app (a 500 it answers is checked below)
            raise AssertionError(f"{label} -> 500: {error!r}") from error
        content_type = (response.headers.get("content-type") or [""])[0]
        assert_well_formed(label, response.status_code, content_type, response.content)
        assert_declared(operation, label, response.status_code)

    fuzz()


def assert_declared(operation: APIOperation, label: str, status: int) -> None:
    """The status is one the OpenAPI document says this operation answers."""
    declared = operation.definition.raw["responses"]
    assert str(status) in declared or "default" in declared, (
        f"{label} -> {status}, declared: {sorted(declared)}"
    )


@pytest.fixture
def app(tmp_path: Path, session_factory: sessionmaker[Session]) -> FastAPI:
    return create_app(Settings(environment="test", data_dir=tmp_path), session_factory=session_factory)


@pytest.mark.parametrize("label", OPERATIONS)
def test_fuzz_as_operator(app: FastAPI, world: World, label: str) -> None:
    run_fuzz(app, OPERATIONS[label], world, world.operator, OPERATOR_EXAMPLES)


@pytest.mark.parametrize("role", ["member_vendor", "buyer"])
@pytest.mark.parametrize("label", OPERATIONS)
def test_fuzz_as_party(app: FastAPI, world: World, label: str, role: str) -> None:
    run_fuzz(app, OPERATIONS[label], world, getattr(world, role), PARTY_EXAMPLES)


# --- what the fuzz found -------------------------------------------------------------------------------

BIG = 2**64  # beyond any SQL integer
LARGE = 2**40  # beyond PostgreSQL's 32-bit INTEGER, within SQLite's 64-bit one
DEEP = "[" * 5000 + "]" * 5000  # deeper than json.loads can recurse


@pytest.mark.parametrize(
    ("role", "method", "path", "payload"),
    [
        pytest.param("operator", "GET", f"/offers/{BIG}", None, id="offer-id-2**64"),
        pytest.param("buyer", "GET", f"/needs/{BIG}", None, id="need-id-2**64"),
        pytest.param("operator", "GET", f"/organisations/{BIG}", None, id="org-id-2**64"),
        pytest.param("operator", "GET", f"/offers?owner_id={BIG}", None, id="owner-query-2**64"),
        pytest.param(
            "operator",
            "POST",
            "/alliances/CN100/memberships",
            {"json": {"organisation_id": BIG}},
            id="membership-body-2**64",
        ),
        pytest.param("operator", "GET", f"/offers/{LARGE}", None, id="offer-id-2**40"),
        pytest.param(
            "operator",
            "POST",
            "/imports/offers?format=csv",
            {"content": b"id,title\r1,x\r", "headers": {"Content-Type": "text/csv"}},
            id="csv-import-lone-cr",
        ),
        pytest.param(
            "operator",
            "POST",
            "/imports/carbon-catalogue",
            {"content": b"*PCF-ID,Company\r1,x\r", "headers": {"Content-Type": "text/csv"}},
            id="catalogue-import-lone-cr",
        ),
        pytest.param(
            "operator",
            "POST",
            "/imports/offers",
            {"content": DEEP.encode() + b"\n", "headers": {"Content-Type": "application/x-ndjson"}},
            id="jsonl-import-deep-nesting",
        ),
        pytest.param(
            "buyer",
            "POST",
            "/needs",
            {"json": {"text": "rebar\x00"}},
            id="need-text-nul",
        ),
        pytest.param("operator", "GET", "/offers?region=a%00b", None, id="region-query-nul"),
    ],
)
def test_fuzz_findings(
    app: FastAPI, world: World, role: str, method: str, path: str, payload: dict[str, Any] | None
) -> None:
    """Each request is a client error at worst, reported as problem+json, never a 500."""
    caller: Party = getattr(world, role)
    payload = dict(payload or {})
    headers = {**caller.headers, **payload.pop("headers", {})}
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.request(method, path, headers=headers, **payload)
    assert_well_formed(
        f"{method} {path[:80]}", response.status_code, response.headers["content-type"], response.content
    )
