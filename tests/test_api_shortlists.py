"""A need's shortlist over HTTP: keep, note, drop, compare in the need's unit, export as CSV and XLSX."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from matchmaker.shortlists.export import HEADER_ROW
from tests.factories import World, make_need, make_offer


def _ceilinged_need(session: Session, world: World) -> int:
    need = make_need(
        session,
        owner=world.buyer.organisation,
        external_id="b-ceiling",
        text="Low-carbon hot-rolled steel coil for rail bogies",
        max_pcf=800,
        max_pcf_unit="kgCO2e/t",
    )
    session.commit()
    return need.id


def test_a_buyer_keeps_notes_and_drops_offers(client: TestClient, world: World) -> None:
    need, offer = world.needs["shared"].id, world.offers["public"].id
    headers = world.buyer.headers
    added = client.put(
        f"/needs/{need}/shortlist/{offer}", json={"note": "ask for 2027 volumes"}, headers=headers
    )
    assert added.status_code == 201, added.text
    again = client.put(f"/needs/{need}/shortlist/{offer}", json={"note": "second call"}, headers=headers)
    assert again.status_code == 200
    bare = client.put(f"/needs/{need}/shortlist/{world.offers['other_public'].id}", headers=headers)
    assert bare.status_code == 201
    listed = client.get(f"/needs/{need}/shortlist", headers=headers).json()
    assert [(i["offer"]["id"], i["note"]) for i in listed["items"]] == [
        (offer, "second call"),
        (world.offers["other_public"].id, ""),
    ]
    assert client.delete(f"/needs/{need}/shortlist/{offer}", headers=headers).status_code == 204
    assert client.delete(f"/needs/{need}/shortlist/{offer}", headers=headers).status_code == 404
    assert len(client.get(f"/needs/{need}/shortlist", headers=headers).json()["items"]) == 1


def test_footprints_are_compared_in_the_ceilings_unit(
    client: TestClient, world: World, session: Session
) -> None:
    need = _ceilinged_need(session, world)
    kg = make_offer(
        session, owner=world.other_vendor.organisation, external_id="kg", pcf_value=0.62, pcf_unit="kgCO2e/kg"
    )
    kwh = make_offer(
        session,
        owner=world.other_vendor.organisation,
        external_id="kwh",
        pcf_value=0.05,
        pcf_unit="kgCO2e/kWh",
    )
    session.commit()
    for offer in (kg.id, kwh.id):
        client.put(f"/needs/{need}/shortlist/{offer}", headers=world.buyer.headers)
    shortlist = client.get(f"/needs/{need}/shortlist", headers=world.buyer.headers).json()
    assert (shortlist["unit"], shortlist["ceiling"]) == ("kgCO2e/t", 800)
    first, second = (item["footprint"] for item in shortlist["items"])
    assert (first["value"], first["headroom"], first["headroom_percent"]) == (620, 180, 22.5)
    # Energy cannot be drawn against a mass ceiling: shown as stated, not converted.
    assert (second["stated_unit"], second["value"], second["headroom"]) == ("kgCO2e/kWh", None, None)


def test_the_csv_export_has_a_header_and_a_row_per_offer(
    client: TestClient, world: World, session: Session
) -> None:
    need = _ceilinged_need(session, world)
    client.put(
        f"/needs/{need}/shortlist/{world.offers['public'].id}",
        json={"note": "=HYPERLINK(1)"},
        headers=world.buyer.headers,
    )
    response = client.get(f"/needs/{need}/shortlist?format=csv", headers=world.buyer.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Offer id", "Offer", "Supplier"]
    assert "Footprint (kgCO2e/t)" in rows[0] and rows[0][-1] == "Exported"
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["Offer id"], row["Footprint (kgCO2e/t)"], row["Headroom (kgCO2e/t)"]) == (
        str(world.offers["public"].id),
        "500.0",
        "300.0",
    )
    assert row["Note"] == "'=HYPERLINK(1)"  # a formula a supplier or buyer typed stays text
    assert row["Exported"].endswith("(Asia/Shanghai)")


def test_the_xlsx_export_reads_back_in_chinese_with_units(
    client: TestClient, world: World, session: Session
) -> None:
    need = _ceilinged_need(session, world)
    for offer in ("public", "other_public"):
        note = {"note": "\x07ring the supplier"}  # a control character a workbook cannot hold: dropped
        client.put(
            f"/needs/{need}/shortlist/{world.offers[offer].id}", json=note, headers=world.buyer.headers
        )
    response = client.get(f"/needs/{need}/shortlist?format=xlsx&lang=zh", headers=world.buyer.headers)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.title == "候选清单"
    assert str(sheet["A2"].value).startswith("导出时间：")
    assert sheet["A3"].value == "碳足迹单位：kgCO2e/t"
    header = [cell.value for cell in sheet[HEADER_ROW]]
    assert header[:3] == ["报价编号", "产品", "供应商"] and "碳足迹（kgCO2e/t）" in header
    rows = [
        dict(zip(header, [c.value for c in row], strict=True))
        for row in sheet.iter_rows(min_row=HEADER_ROW + 1)
    ]
    assert [r["报价编号"] for r in rows] == [world.offers["public"].id, world.offers["other_public"].id]
    assert [r["碳足迹（kgCO2e/t）"] for r in rows] == [500, 500]
    assert {r["第三方核查"] for r in rows} == {"是"}
    assert {r["备注"] for r in rows} == {"ring the supplier"}


def test_an_offer_the_buyer_may_not_see_cannot_be_kept(client: TestClient, world: World) -> None:
    need = world.needs["shared"].id
    for hidden in ("draft", "pending_public"):
        response = client.put(
            f"/needs/{need}/shortlist/{world.offers[hidden].id}", headers=world.buyer.headers
        )
        assert response.status_code == 404, hidden


def test_nobody_else_sees_or_changes_a_shortlist(client: TestClient, world: World) -> None:
    need, offer = world.needs["shared"].id, world.offers["public"].id
    client.put(f"/needs/{need}/shortlist/{offer}", headers=world.buyer.headers)
    # The vendor may see the (shared) need itself, never the buyer's shortlist.
    for stranger in (world.other_buyer, world.member_vendor, world.other_vendor):
        for method, path in (
            ("GET", f"/needs/{need}/shortlist"),
            ("GET", f"/needs/{need}/shortlist?format=csv"),
            ("PUT", f"/needs/{need}/shortlist/{offer}"),
            ("DELETE", f"/needs/{need}/shortlist/{offer}"),
        ):
            response = client.request(method, path, headers=stranger.headers)
            assert response.status_code == 404, (stranger.organisation.name, method, path)
            assert response.headers["content-type"] == "application/problem+json"
    operator = client.get(f"/needs/{need}/shortlist", headers=world.operator.headers)
    assert operator.status_code == 200 and len(operator.json()["items"]) == 1
