"""Bulk import over HTTP: the same service as the CLI."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.db.models import Membership, Offer, Organisation
from matchmaker.imports.schemas import MAX_LISTED_ERRORS
from matchmaker.imports.service import BATCH
from tests.factories import World

LINE = {
    "id": "x1",
    "title": "Green hydrogen",
    "kind": "product",
    "category": "hydrogen",
    "supplier": "H2 Co",
    "region": "Inner Mongolia",
    "pcf_value": 1.2,
    "pcf_unit": "kgCO2e/kg",
    "pcf_verified": True,
    "alliance": ["CN100"],
}


def _jsonl(*records: dict[str, object] | str) -> str:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n"


def test_the_operator_imports_jsonl_and_a_bad_line_is_named(client: TestClient, world: World) -> None:
    body = _jsonl(LINE, "{not json", {**LINE, "id": "x2", "pcf_unit": "kgCO2/kg"}, {**LINE, "id": "x3"})
    response = client.post(
        "/imports/offers",
        content=body,
        headers={**world.operator.headers, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["failed"]) == (2, 2)
    assert [(e["line"], e["id"]) for e in report["errors"]] == [(2, None), (3, "x2")]
    assert "kgCO2/kg" in report["errors"][1]["message"]
    # The supplier was created admitted and made a CN100 member by the operator's import.
    offers = client.get("/offers?alliance=CN100&category=hydrogen", headers=world.buyer.headers).json()
    assert {o["external_id"] for o in offers["items"]} == {"x1", "x3"}

    again = client.post("/imports/offers", content=body, headers=world.operator.headers).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)


def test_a_vendor_imports_csv_as_its_own_and_cannot_declare_memberships(
    client: TestClient, world: World
) -> None:
    csv_text = (
        "id,title,kind,category,supplier,pcf_value,pcf_unit,pcf_verified,alliance,certifications\n"
        "c1,Low-carbon cement,product,cement_concrete,Someone Else,0.45,tCO2e/t,true,CN100,ISO 14001;EPD\n"
        "c2,Mystery,product,cement_concrete,Someone Else,abc,tCO2e/t,true,,\n"
    )
    response = client.post(
        "/imports/offers",
        content=csv_text,
        headers={**world.other_vendor.headers, "Content-Type": "text/csv"},
    )
    report = response.json()
    assert (report["created"], report["failed"]) == (1, 1)
    assert report["errors"][0]["line"] == 3
    assert "alliance" in report["warnings"][0]
    offer = client.get("/offers?category=cement_concrete", headers=world.other_vendor.headers).json()[
        "items"
    ][0]
    assert (offer["supplier"], offer["alliances"], offer["certifications"]) == (
        "Outsider Steel",
        [],
        ["ISO 14001", "EPD"],
    )


def test_a_buyer_imports_needs(client: TestClient, world: World) -> None:
    body = _jsonl({"id": "n1", "buyer": "ignored", "text": "绿氢", "max_pcf": 2, "max_pcf_unit": "kgCO2e/kg"})
    report = client.post("/imports/needs", content=body, headers=world.other_buyer.headers).json()
    assert report["created"] == 1
    needs = client.get("/needs", headers=world.other_buyer.headers).json()["items"]
    assert "n1" in {n["external_id"] for n in needs}


def test_a_file_that_is_not_utf8_is_refused(client: TestClient, world: World) -> None:
    response = client.post("/imports/offers", content=b"\xff\xfe\x00bad", headers=world.operator.headers)
    assert response.status_code == 400
    assert "UTF-8" in response.json()["detail"]


def test_a_csv_that_is_not_the_catalogue_is_refused(client: TestClient, world: World) -> None:
    response = client.post("/imports/carbon-catalogue", content="a,b\n1,2\n", headers=world.operator.headers)
    assert response.status_code == 400
    assert "missing columns" in response.json()["detail"]


def test_a_file_of_bad_lines_lists_the_first_thousand_and_counts_the_rest(
    client: TestClient, world: World
) -> None:
    """A report (and the server's memory) must not grow with every bad line: 1.7 million `{}` lines once
    made a 270 MB answer and 6.6 GB of memory. The good line at the end is still imported."""
    body = "{}\n" * (MAX_LISTED_ERRORS + 500) + json.dumps(LINE) + "\n"
    response = client.post(
        "/imports/offers",
        content=body,
        headers={**world.member_vendor.headers, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["failed"], report["created"]) == (MAX_LISTED_ERRORS + 500, 1)
    assert len(report["errors"]) == MAX_LISTED_ERRORS and report["errors_not_listed"] == 500
    assert report["errors"][-1]["line"] == MAX_LISTED_ERRORS


def test_a_large_file_lands_in_batches_and_a_bad_line_in_one_is_named_while_the_rest_land(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    """Records are written BATCH at a time; a batch with a refused record is written again one by one."""
    lines: list[dict[str, object]] = [
        {**LINE, "id": f"bulk-{n}", "supplier": f"Bulk Co {n % 3}", "title": f"Hydrogen lot {n}"}
        for n in range(1, BATCH * 2 + 201)
    ]
    lines[BATCH + 99] = {**lines[BATCH + 99], "supplier": "Platform"}  # the operator: not a supplier
    lines[BATCH + 199] = {**lines[BATCH + 199], "pcf_unit": "kgCO2/kg"}  # invalid
    lines[BATCH + 299] = lines[BATCH + 298]  # the line before, again: nothing changes
    lines[BATCH + 300] = {**lines[BATCH + 298], "title": "Hydrogen lot, renamed"}  # the same offer, changed
    response = client.post(
        "/imports/offers",
        content=_jsonl(*lines),
        headers={**world.operator.headers, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["unchanged"], report["updated"], report["failed"]) == (
        len(lines) - 4, 1, 1, 2,
    )  # fmt: skip
    assert [(e["line"], e["id"]) for e in report["errors"]] == [
        (BATCH + 100, f"bulk-{BATCH + 100}"),
        (BATCH + 200, f"bulk-{BATCH + 200}"),
    ]
    assert "not a supplier" in report["errors"][0]["message"]
    with session_factory() as session:
        bulk = Organisation.name.like("Bulk Co %")
        rows = session.execute(select(Offer.external_id, Offer.title).join(Offer.owner).where(bulk))
        titles = {external_id: title for external_id, title in rows}
        members = session.scalars(
            select(Organisation.name).join(Membership).where(Organisation.name.like("Bulk Co %"))
        ).all()
    assert len(titles) == len(lines) - 4
    assert f"bulk-{BATCH + 100}" not in titles and f"bulk-{BATCH + 200}" not in titles
    assert titles[f"bulk-{BATCH + 299}"] == "Hydrogen lot, renamed"
    assert sorted(members) == ["Bulk Co 0", "Bulk Co 1", "Bulk Co 2"]
