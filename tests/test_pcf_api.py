"""PCF accounting through the API: a vendor's bill counted with the shipped library, saved as its offer's
footprint marked calculated (never verified), exported to PACT, and calculated again under a newer library
version with the old result kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.db.models import FootprintVersion, Offer
from matchmaker.factors import service as factors
from matchmaker.factors.library import LibraryFile, shipped
from matchmaker.pact.mapping import footprint_of_offer
from matchmaker.pact.model import validate_footprint
from tests.cli_support import assert_clean_failure, db_session, ok, run, write_jsonl
from tests.markets import Market
from tests.web_support import sign_in

# 1 t of rebar: 1.05 t of scrap bought from another supplier on the platform (its footprint 0.45 tCO2e/t),
# 480 kWh from the East China grid in 2023 (0.55 kgCO2/kWh), 2 GJ of natural gas, 300 tkm by road.
GAS_PER_GJ = (56100 + 1 * 29.8 + 0.1 * 273) / 1000
REBAR_TOTAL = 1050 * 0.45 + 480 * 0.55 + 2 * GAS_PER_GJ + 300 * 0.10163


def rebar_bom(scrap_offer: int) -> dict[str, Any]:
    return {
        "declared_unit": "t",
        "output": {"amount": 1000, "unit": "kg"},
        "region": "CN",
        "year": 2023,
        "lines": [
            {"kind": "offer", "offer": scrap_offer, "amount": 1.05, "unit": "t", "name": "scrap"},
            {"kind": "electricity", "grid": "cn.east", "year": 2023, "amount": 480, "unit": "kWh"},
            {"kind": "fuel", "fuel": "natural_gas", "amount": 2, "unit": "GJ"},
            {"kind": "transport", "mode": "road.hgv_average_laden", "amount": 300, "unit": "tkm"},
        ],
    }


@pytest.fixture
def library(session: Session) -> str:
    factors.load_shipped(session=session)
    session.commit()
    return shipped()[-1].version


def corrected_east_china_grid() -> str:
    """The shipped library with the East China grid's 2023 factor corrected, 0.55 -> 0.50 kgCO2/kWh."""
    return "".join(
        line.replace(",0.5500,", ",0.5000,") if line.startswith("electricity.cn.east.2023,") else line
        for line in shipped()[-1].text.splitlines(keepends=True)
    )


def close(actual: float | None, expected: float) -> bool:
    return actual is not None and abs(actual - expected) <= 1e-9 * abs(expected)


def test_a_preview_counts_the_bill_with_the_library_and_saves_nothing(
    client: TestClient, market: Market, library: str
) -> None:
    scrap = market.offers["outsider-rebar"]  # 0.45 tCO2e/t, verified: primary data
    offer = market.offers["eaf-rebar"]
    answer = client.post("/pcf/calculate", json=rebar_bom(scrap.id), headers=market.eaf_steel.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["library_version"] == library and body["unit"] == "kgCO2e/t" and body["complete"]
    assert close(body["total"], REBAR_TOTAL)
    assert close(sum(line["per_declared_unit"] for line in body["lines"]), body["total"])
    assert close(body["primary_data_share"], 1050 * 0.45 / REBAR_TOTAL * 100)
    assert body["hotspots"][0] == 1
    assert {factor["key"] for factor in body["factors"]} == {
        "electricity.cn.east.2023", "transport.road.hgv_average_laden", "combustion.natural_gas.co2",
        "combustion.natural_gas.ch4", "combustion.natural_gas.n2o", "gwp.ar6.co2", "gwp.ar6.ch4_fossil",
        "gwp.ar6.n2o",
    }  # fmt: skip
    assert all(factor["source"] and factor["licence"] for factor in body["factors"])
    unchanged = client.get(f"/offers/{offer.id}", headers=market.eaf_steel.headers).json()
    assert unchanged["pcf_value"] == 0.62 and unchanged["pcf_origin"] is None


def test_a_saved_calculation_is_the_offers_footprint_calculated_and_never_verified(
    client: TestClient, session: Session, market: Market, library: str
) -> None:
    offer = market.offers["eaf-rebar"]
    before = client.get(f"/offers/{offer.id}", headers=market.buyer.headers).json()
    assert before["verification_status"] == "verified"
    saved = client.post(
        f"/offers/{offer.id}/calculations",
        json=rebar_bom(market.offers["outsider-rebar"].id),
        headers=market.eaf_steel.headers,
    )
    assert saved.status_code == 201, saved.text
    shown = client.get(f"/offers/{offer.id}", headers=market.buyer.headers).json()
    assert close(shown["pcf_value"], REBAR_TOTAL) and shown["pcf_unit"] == "kgCO2e/t"
    assert shown["pcf_origin"] == "calculated" and shown["pcf_provenance"]["library"] == library
    assert shown["verification_status"] == "self_declared" and not shown["pcf_verified"]
    assert shown["dqr_technological"] is not None and shown["primary_data_share"] > 0
    # require_verified leaves it out, as a near miss for that reason
    need = client.post(
        "/needs",
        json={"text": "low-carbon rebar for a metro line", "require_verified": True},
        headers=market.buyer.headers,
    ).json()
    body = client.get(f"/needs/{need['id']}/matches?limit=50", headers=market.buyer.headers).json()
    assert offer.external_id not in {match["offer"]["external_id"] for match in body["matches"]}
    # its PACT export says so and validates against the PACT v3 schema
    session.expire_all()
    footprint = footprint_of_offer(offer, issuer="test")
    assert footprint is not None and "verification" not in footprint["pcf"]
    assert "not verified" in footprint["comment"]
    validate_footprint(footprint)
    # its badge says calculated, on the card a buyer reads
    sign_in(client, market.buyer.key)
    page = client.get(f"/ui/offers/{offer.id}", headers={"Accept-Language": "en"})
    assert "Calculated, not verified" in page.text
    # the history keeps the verified footprint it replaced; the calculation keeps its bill
    kept = client.get(f"/offers/{offer.id}/calculations", headers=market.eaf_steel.headers).json()
    assert len(kept) == 1 and kept[0]["bom"]["lines"][0]["name"] == "scrap"


def test_a_bill_with_a_gap_is_not_saved_and_names_its_line(
    client: TestClient, market: Market, library: str
) -> None:
    offer = market.offers["eaf-rebar"]
    bom = rebar_bom(market.offers["outsider-rebar"].id)
    bom["lines"].append({"kind": "factor", "name": "ferro-alloys", "amount": 8, "unit": "kg"})
    preview = client.post("/pcf/calculate", json=bom, headers=market.eaf_steel.headers).json()
    assert preview["total"] is None and not preview["complete"]
    assert [gap["line"] for gap in preview["gaps"]] == [5] and close(preview["covered"], REBAR_TOTAL)
    refused = client.post(f"/offers/{offer.id}/calculations", json=bom, headers=market.eaf_steel.headers)
    assert refused.status_code == 422 and refused.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert refused.json()["errors"][0]["field"] == "lines.4"
    assert client.get(f"/offers/{offer.id}", headers=market.buyer.headers).json()["pcf_value"] == 0.62


def test_other_suppliers_offers_and_hidden_ones_are_not_theirs_to_use(
    client: TestClient, session: Session, market: Market, library: str
) -> None:
    offer = market.offers["eaf-rebar"]
    bom = rebar_bom(market.offers["outsider-rebar"].id)
    # another supplier's key cannot save into this offer
    assert (
        client.post(
            f"/offers/{offer.id}/calculations", json=bom, headers=market.bof_steel.headers
        ).status_code
        == 403
    )
    # nor read its bill
    assert client.get(f"/offers/{offer.id}/calculations", headers=market.bof_steel.headers).status_code == 403
    # a draft of another supplier is as unknown as one that does not exist
    hidden = market.offers["bof-rebar"]
    hidden.status = "draft"
    session.commit()
    for missing in (hidden.id, 999_999):
        answer = client.post("/pcf/calculate", json=rebar_bom(missing), headers=market.eaf_steel.headers)
        assert answer.status_code == 422
        assert answer.json()["errors"] == [{"field": "lines.0", "message": f"offer {missing} not found"}]
    # an offer cannot be an input of itself
    looped = client.post(
        f"/offers/{offer.id}/calculations", json=rebar_bom(offer.id), headers=market.eaf_steel.headers
    )
    assert looped.status_code == 422 and "its own footprint" in looped.json()["errors"][0]["message"]


def test_a_new_library_version_lists_what_it_changes_and_recalculates_on_request(
    client: TestClient, session: Session, market: Market, library: str
) -> None:
    offer = market.offers["eaf-rebar"]
    saved = client.post(
        f"/offers/{offer.id}/calculations",
        json=rebar_bom(market.offers["outsider-rebar"].id),
        headers=market.eaf_steel.headers,
    )
    assert saved.status_code == 201
    factors.load(session=session, library=LibraryFile("2099.1", corrected_east_china_grid()))
    session.commit()
    expected = REBAR_TOTAL - 480 * 0.05
    listed = client.get("/pcf/recalculations?version=2099.1", headers=market.eaf_steel.headers).json()
    assert [(change["offer_id"], change["old_library_version"]) for change in listed] == [(offer.id, library)]
    assert close(listed[0]["old_total"], REBAR_TOTAL) and close(listed[0]["new_total"], expected)
    # another supplier sees none of it; its own footprint, with no factor that changed, is not listed
    other = market.offers["bof-rebar"]
    process_only = {**CLI_BOM, "lines": CLI_BOM["lines"][1:]}
    assert client.post(
        f"/offers/{other.id}/calculations", json=process_only, headers=market.bof_steel.headers
    ).is_success
    assert client.get("/pcf/recalculations?version=2099.1", headers=market.bof_steel.headers).json() == []
    everything = client.get("/pcf/recalculations?version=2099.1", headers=market.operator.headers).json()
    assert [change["offer_id"] for change in everything] == [offer.id]
    # listing writes nothing
    assert close(
        client.get(f"/offers/{offer.id}", headers=market.buyer.headers).json()["pcf_value"], REBAR_TOTAL
    )
    done = client.post("/pcf/recalculations", json={"version": "2099.1"}, headers=market.eaf_steel.headers)
    assert done.status_code == 200 and len(done.json()) == 1
    shown = client.get(f"/offers/{offer.id}", headers=market.buyer.headers).json()
    assert close(shown["pcf_value"], expected) and shown["pcf_provenance"]["library"] == "2099.1"
    kept = client.get(f"/offers/{offer.id}/calculations", headers=market.eaf_steel.headers).json()
    assert [(row["library_version"], row["reason"]) for row in kept] == [
        ("2099.1", "recalculation"), (library, "bom"),
    ]  # fmt: skip
    # the footprint history holds the stated footprint, the first calculation and the second, in order
    history = session.scalars(
        select(FootprintVersion)
        .where(FootprintVersion.offer_id == offer.id)
        .order_by(FootprintVersion.version)
    ).all()
    stated = [(row.pcf_value, row.pcf_origin) for row in history]
    assert stated[0] == (0.62, None)
    assert [origin for _, origin in stated[-2:]] == ["calculated", "calculated"]
    assert close(stated[-2][0], REBAR_TOTAL) and close(stated[-1][0], expected)
    # nothing is left to change under that version, and an older one takes nothing back
    assert client.get("/pcf/recalculations?version=2099.1", headers=market.eaf_steel.headers).json() == []
    older = client.get(f"/pcf/recalculations?version={library}", headers=market.eaf_steel.headers).json()
    assert older == []


def test_a_footprint_whose_input_is_gone_is_listed_with_why_and_left_as_it_was(
    client: TestClient, session: Session, market: Market, library: str
) -> None:
    offer, scrap = market.offers["eaf-rebar"], market.offers["outsider-rebar"]
    bom = rebar_bom(scrap.id)
    assert client.post(
        f"/offers/{offer.id}/calculations", json=bom, headers=market.eaf_steel.headers
    ).is_success
    scrap.status = "draft"  # its supplier withdraws it: the bill's supplier no longer sees it
    factors.load(session=session, library=LibraryFile("2099.1", corrected_east_china_grid()))
    session.commit()
    [listed] = client.get("/pcf/recalculations?version=2099.1", headers=market.operator.headers).json()
    assert listed["new_total"] is None and listed["gaps"] == [f"offer {scrap.id} not found"]
    done = client.post("/pcf/recalculations", json={"version": "2099.1"}, headers=market.operator.headers)
    assert done.status_code == 200
    shown = client.get(f"/offers/{offer.id}", headers=market.eaf_steel.headers).json()
    assert close(shown["pcf_value"], REBAR_TOTAL) and shown["pcf_provenance"]["library"] == library


def test_the_command_line_calculates_a_bill_and_saves_it_on_request(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    ok("db", "upgrade", env=cli_env)
    ok("import", "offers", write_jsonl(tmp_path / "offers.jsonl", [CLI_OFFER]), env=cli_env)
    with db_session(cli_env) as session:
        offer_id = session.scalars(select(Offer.id)).one()
    bom = tmp_path / "bom.json"
    bom.write_text(json.dumps(CLI_BOM), encoding="utf-8")
    shown = ok("pcf", "calc", bom, env=cli_env)
    # 1000 kWh x 0.55 + 450 kg CO2, over 2 t
    assert "footprint: 500 kgCO2e/t" in shown.stdout and "electricity.cn.east.2023" in shown.stdout
    saved = ok("pcf", "calc", bom, "--offer", str(offer_id), env=cli_env)
    assert "calculated, not verified" in saved.stderr
    with db_session(cli_env) as session:
        offer = session.get(Offer, offer_id)
        assert offer is not None and (offer.pcf_value, offer.pcf_unit, offer.pcf_origin) == (
            500, "kgCO2e/t", "calculated",
        )  # fmt: skip
        assert not offer.pcf_verified
    gap = tmp_path / "gap.json"
    gap.write_text(
        json.dumps({**CLI_BOM, "lines": [*CLI_BOM["lines"], {"kind": "factor", "amount": 1, "unit": "kg"}]})
    )
    incomplete = run("pcf", "calc", gap, env=cli_env)
    assert incomplete.returncode == 1 and "line 3" in incomplete.stdout and "GAP" in incomplete.stdout
    # a newer library lists, then writes, what it changes
    with db_session(cli_env) as session:
        factors.load(session=session, library=LibraryFile("2099.1", corrected_east_china_grid()))
        session.commit()
    listed = ok("pcf", "recalc", "--version", "2099.1", env=cli_env)
    assert (
        f"offer {offer_id} Steel billet: 500 -> 475 kgCO2e/t" in listed.stdout
        and "0 written" in listed.stdout
    )
    ok("pcf", "recalc", "--version", "2099.1", "--apply", env=cli_env)
    with db_session(cli_env) as session:
        assert session.get(Offer, offer_id).pcf_value == 475  # type: ignore[union-attr]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**CLI_BOM, "declared_unit": "furlong"}))
    assert_clean_failure(run("pcf", "calc", bad, env=cli_env))
    assert_clean_failure(run("pcf", "calc", tmp_path / "missing.json", env=cli_env))


CLI_OFFER = {
    "id": "billet",
    "supplier": "Cli Steel",
    "title": "Steel billet",
    "kind": "product",
    "category": "steel",
    "status": "draft",
}
CLI_BOM = {
    "declared_unit": "t",
    "output": {"amount": 2, "unit": "t"},
    "lines": [
        {"kind": "electricity", "grid": "cn.east", "year": 2023, "amount": 1000, "unit": "kWh"},
        {"kind": "process", "gas": "co2", "amount": 450, "unit": "kg"},
    ],
}


HEAD = '{"declared_unit": "t", "output": {"amount": 1, "unit": "t"}, '
PROCESS = '{"kind": "process", "gas": "co2", "amount": 1, "unit": "kg"}'


@pytest.mark.parametrize(
    "hostile",
    [
        HEAD + '"lines": [' + PROCESS.replace('"kg"', '"kg", "name": "\\ud800"') + "]}",
        HEAD + '"lines": [' + PROCESS.replace('"amount": 1', '"amount": 1' + "0" * 300) + "]}",
        HEAD + '"lines": [' + PROCESS.replace('"amount": 1', '"amount": "1"') + "]}",
        HEAD.replace('"amount": 1', '"amount": 5e-324')
        + '"lines": ['
        + PROCESS.replace('"amount": 1, "unit": "kg"', '"amount": 1e12, "unit": "Gg"')
        + "]}",
        HEAD + '"lines": [{"kind": "nuclear", "amount": 1, "unit": "kg"}]}',
        HEAD + '"lines": [' + ",".join([PROCESS] * 501) + "]}",
        HEAD + '"library": "1999.1", "lines": [' + PROCESS + "]}",
    ],
)
def test_a_hostile_bill_gets_a_clear_4xx(
    client: TestClient, market: Market, library: str, hostile: str
) -> None:
    answer = client.post(
        "/pcf/calculate",
        content=hostile.encode("utf-8", "surrogatepass"),
        headers={**market.eaf_steel.headers, "Content-Type": "application/json"},
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_only_a_verifiers_accepted_evidence_verifies_a_calculated_footprint(
    client: TestClient, market: Market, library: str
) -> None:
    offer = market.offers["eaf-rebar"]
    bom = rebar_bom(market.offers["outsider-rebar"].id)
    assert client.post(
        f"/offers/{offer.id}/calculations", json=bom, headers=market.eaf_steel.headers
    ).is_success
    # the operator's word, and the same footprint written again with a tick, do not verify it
    for headers in (market.operator.headers, market.eaf_steel.headers):
        client.patch(f"/offers/{offer.id}", json={"pcf_verified": True}, headers=headers).raise_for_status()
        shown = client.get(f"/offers/{offer.id}", headers=market.buyer.headers).json()
        assert shown["verification_status"] == "self_declared" and shown["pcf_origin"] == "calculated"
    evidence = client.post(
        f"/offers/{offer.id}/evidence", json=VERIFIER_REPORT, headers=market.eaf_steel.headers
    ).json()
    reviewed = client.post(
        f"/evidence/{evidence['id']}/review", json={"decision": "accepted"}, headers=market.operator.headers
    )
    assert reviewed.status_code == 200, reviewed.text
    shown = client.get(f"/offers/{offer.id}", headers=market.buyer.headers).json()
    # verified now, and no longer a draft marked calculated; its provenance still names the calculation
    assert shown["verification_status"] == "verified" and shown["pcf_origin"] is None
    assert shown["pcf_provenance"]["library"] == library


VERIFIER_REPORT = {
    "verifier": "中国质量认证中心",
    "report_number": "CQC-PCF-2026-0077",
    "standard": "ISO 14067",
    "verified_on": "2026-10-01",
    "valid_until": "2029-09-30",
}
