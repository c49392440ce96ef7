"""LCA results imported as footprints: real ILCD+EPD data sets and an openLCA v1 export (tests/lca_files,
SOURCES.md there), and openLCA v2 zips written with GreenDelta's own package. Each imported GWP is checked
against the file read a second time, here, with the standard library."""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import olca_schema as olca
import pytest
from fastapi.testclient import TestClient
from olca_schema.zipio import ZipWriter
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.auth import Principal
from matchmaker.db.models import Offer
from matchmaker.lca.schemas import LcaImportReport
from matchmaker.lca.service import import_file
from tests.cli_support import assert_clean_failure, db_session, ok, run
from tests.markets import Market

FILES = Path(__file__).parent / "lca_files"
OPERATOR = Principal(organisation_id=0, role="operator", key_id=0)
NS = {
    "p": "http://lca.jrc.it/ILCD/Process",
    "c": "http://lca.jrc.it/ILCD/Common",
    "epd": "http://www.iai.kit.edu/EPD/2013",
}
MODULE = "{http://www.iai.kit.edu/EPD/2013}module"


def stated_a1_a3(path: Path, indicator: str) -> float:
    """The file's own A1-A3 value of the named LCIA result, read with ElementTree and full XPaths."""
    root = ElementTree.parse(path).getroot()
    for result in root.findall("p:LCIAResults/p:LCIAResult", NS):
        names = [
            item.text or ""
            for item in result.findall("p:referenceToLCIAMethodDataSet/c:shortDescription", NS)
        ]
        if any(name.strip() == indicator for name in names):
            for amount in result.findall("c:other/epd:amount", NS):
                if (amount.get(MODULE) or amount.get("module")) == "A1-A3" and amount.text:
                    return float(amount.text)
    raise AssertionError(f"{indicator} A1-A3 not in {path.name}")


def offer_of(session: Session, uuid: str) -> Offer:
    return session.scalars(select(Offer).where(Offer.external_id == f"lca:{uuid}")).one()


@pytest.mark.parametrize(
    ("name", "indicator", "uuid"),
    [
        (
            "ibu-2-layer-parquet.xml",
            "Global Warming Potential total (GWP-total)",
            "2eb43850-0ab2-4068-afe5-218d69a096f8",
        ),
        (
            "indata-epd-v1.3-example.xml",
            "Global Warming Potential - total (GWP-total)",
            "57a4ae65-d305-421e-b21f-a3f0c35b8abe",
        ),
        (
            "indata-kalk-feinkalk.xml",
            "Globales Erwärmungspotenzial (GWP)",
            "6c6bf0f0-4ba1-4032-a92d-5fa52ca1189d",
        ),
    ],
)
def test_a_real_ilcd_epd_data_set_gives_the_gwp_it_states(
    session: Session, name: str, indicator: str, uuid: str
) -> None:
    path = FILES / name
    report = import_file(
        session=session,
        principal=OPERATOR,
        name=name,
        body=path.read_bytes(),
        supplier="EPD Owner",
        declared_unit="m2",
    )
    [outcome] = report.data_sets
    assert outcome.outcome == "created", outcome.message
    expected = stated_a1_a3(path, indicator)
    offer = session.get(Offer, outcome.offer_id)
    assert offer is not None and offer.pcf_value == expected and offer.pcf_unit == "kgCO2e/m2"
    assert offer.pcf_origin == "lca" and not offer.pcf_verified and offer.status == "draft"
    provenance = offer.pcf_provenance or {}
    assert (
        provenance["format"] == "ilcd+epd" and provenance["file"] == name and provenance["scope"] == "A1-A3"
    )
    assert (
        provenance["dataset_uuid"] and provenance["dataset_version"] and provenance["indicator"] == indicator
    )


def test_the_parquet_keeps_its_other_modules_and_scenarios_as_provenance(session: Session) -> None:
    path = FILES / "ibu-2-layer-parquet.xml"
    report = import_file(
        session=session, principal=OPERATOR, name=path.name, body=path.read_bytes(), declared_unit="m2"
    )
    [outcome] = report.data_sets
    offer = session.get(Offer, outcome.offer_id)
    assert (
        offer is not None and offer.owner.name == "Hamberger Flooring GmbH & Co. KG"
    )  # the data set's owner
    modules = (offer.pcf_provenance or {})["modules"]
    assert modules["A1-A3"] == "6.529" and modules["D (S1)"] == "-4.877" and modules["C3 (S2)"] == "11.76"


def ilcd_zip(process: bytes, *, flow_property: str, mean_value: str) -> bytes:
    """An ILCD zip: the real parquet process with a flow data set for its reference flow."""
    flow_id = "f4334466-81e7-f904-3112-4ddf3739391c"
    flow = f"""<?xml version="1.0" encoding="UTF-8"?>
<flowDataSet xmlns="http://lca.jrc.it/ILCD/Flow" xmlns:common="http://lca.jrc.it/ILCD/Common" version="1.1">
  <flowInformation>
    <dataSetInformation><common:UUID>{flow_id}</common:UUID></dataSetInformation>
    <quantitativeReference><referenceToReferenceFlowProperty>0</referenceToReferenceFlowProperty></quantitativeReference>
  </flowInformation>
  <flowProperties>
    <flowProperty dataSetInternalID="0">
      <referenceToFlowPropertyDataSet type="flow property data set" refObjectId="x">
        <common:shortDescription xml:lang="en">{flow_property}</common:shortDescription>
      </referenceToFlowPropertyDataSet>
      <meanValue>{mean_value}</meanValue>
    </flowProperty>
  </flowProperties>
</flowDataSet>"""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ILCD/processes/2eb43850-0ab2-4068-afe5-218d69a096f8_00.01.000.xml", process)
        archive.writestr(f"ILCD/flows/{flow_id}.xml", flow)
        archive.writestr("ILCD/processes/broken.xml", b"<processDataSet><unclosed>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("flow_property", "mean_value", "unit", "value"),
    [
        ("Area", "1.0", "kgCO2e/m2", 6.529),
        ("Mass", "1000.0", "kgCO2e/t", 6.529),
        ("Mass", "20", "kgCO2e/kg", 6.529 / 20),
    ],
)
def test_an_ilcd_zip_takes_the_declared_unit_from_the_reference_flow_and_reports_a_bad_data_set(
    session: Session, flow_property: str, mean_value: str, unit: str, value: float
) -> None:
    body = ilcd_zip(
        (FILES / "ibu-2-layer-parquet.xml").read_bytes(), flow_property=flow_property, mean_value=mean_value
    )
    report = import_file(session=session, principal=OPERATOR, name="parquet.zip", body=body, supplier="S")
    outcomes = {item.path.rsplit("/", 1)[-1]: item for item in report.data_sets}
    good = outcomes["2eb43850-0ab2-4068-afe5-218d69a096f8_00.01.000.xml"]
    assert (
        good.outcome == "created"
        and good.pcf_unit == unit
        and good.pcf_value == pytest.approx(value, rel=1e-12)
    )
    assert outcomes["broken.xml"].outcome == "failed" and "XML" in (outcomes["broken.xml"].message or "")


def test_a_single_data_set_without_its_flow_asks_for_the_declared_unit(session: Session) -> None:
    path = FILES / "indata-kalk-feinkalk.xml"
    report = import_file(
        session=session, principal=OPERATOR, name=path.name, body=path.read_bytes(), supplier="S"
    )
    [outcome] = report.data_sets
    assert outcome.outcome == "failed" and "declared unit" in (outcome.message or "")


def epd_without(modules: dict[str, str]) -> bytes:
    """The parquet data set with its GWP-total modules replaced (INA: not assessed)."""
    text = (FILES / "ibu-2-layer-parquet.xml").read_text(encoding="utf-8")
    for module, value in modules.items():
        text = text.replace(
            f'<epd:amount epd:module="{module}">6.529</epd:amount>',
            f'<epd:amount epd:module="{module}">{value}</epd:amount>',
        )
    return text.encode()


def test_a_module_not_assessed_is_never_zero(session: Session) -> None:
    body = epd_without({"A1-A3": "INA"})
    assert b">INA<" in body
    report = import_file(
        session=session, principal=OPERATOR, name="ina.xml", body=body, supplier="S", declared_unit="m2"
    )
    [outcome] = report.data_sets
    assert outcome.outcome == "failed" and "not assessed" in (outcome.message or "")
    assert session.scalars(select(Offer).where(Offer.external_id.like("lca:%"))).all() == []


# --- openLCA JSON-LD ---------------------------------------------------------------------------------------


def _gwp(
    amount: float, *, name: str = "Climate change - GWP100", unit: str = "kg CO2 eq"
) -> olca.ImpactResult:
    return olca.ImpactResult(indicator=olca.Ref(id=f"ind-{name}", name=name, ref_unit=unit), amount=amount)


def olca_v2_zip(tmp_path: Path) -> Path:
    """An openLCA 2 export written with GreenDelta's package: a result, an EPD whose modules are results."""
    path = tmp_path / "export.zip"
    steel = olca.Ref(id="flow-steel", name="hot-rolled steel coil")
    with ZipWriter(path) as writer:
        writer.write(
            olca.Result(
                id="result-coil",
                name="Hot-rolled coil, cradle to gate",
                version="01.00.000",
                impact_method=olca.Ref(id="ef31", name="EF 3.1"),
                flow_results=[
                    olca.FlowResult(flow=steel, amount=1000.0, unit=olca.Ref(name="kg"), is_ref_flow=True)
                ],
                impact_results=[
                    _gwp(0.31, name="Acidification", unit="mol H+ eq"),
                    _gwp(2150.5),
                    _gwp(2100.0, name="Climate change - Fossil"),
                ],
            )
        )
        for module, amount in (("A1-A3", 95.2), ("A4", 3.1), ("C3", 0.7)):
            writer.write(
                olca.Result(id=f"epd-{module}", name=f"module {module}", impact_results=[_gwp(amount)])
            )
        writer.write(
            olca.Epd(
                id="epd-panel",
                name="Insulation panel EPD",
                version="00.00.003",
                product=olca.EpdProduct(
                    flow=olca.Ref(id="flow-panel", name="panel"), amount=2.0, unit=olca.Ref(name="m2")
                ),
                modules=[
                    olca.EpdModule(name=module, result=olca.Ref(id=f"epd-{module}"), multiplier=1.0)
                    for module in ("A1-A3", "A4", "C3")
                ],
                manufacturer=olca.Ref(id="actor", name="Panel Maker Ltd"),
            )
        )
        writer.write(
            olca.Result(
                id="result-no-gwp",
                name="no climate",
                impact_results=[_gwp(1, name="Ozone depletion", unit="kg CFC-11 eq")],
            )
        )
    return path


def test_an_openlca_v2_zip_gives_each_product_the_gwp_it_states(session: Session, tmp_path: Path) -> None:
    path = olca_v2_zip(tmp_path)
    report = import_file(
        session=session, principal=OPERATOR, name=path.name, body=path.read_bytes(), supplier="Coil Co"
    )
    assert report.format == "openlca-jsonld-v2"
    outcomes = {item.dataset_uuid or item.path: item for item in report.data_sets}
    # read again, here: the zip's JSON as written
    with zipfile.ZipFile(path) as archive:
        coil = json.loads(archive.read("results/result-coil.json"))
        a1_a3 = json.loads(archive.read("results/epd-A1-A3.json"))
        epd = json.loads(archive.read("epds/epd-panel.json"))
    coil_gwp = next(
        item["amount"]
        for item in coil["impactResults"]
        if item["indicator"]["name"] == "Climate change - GWP100"
    )
    reference = next(flow for flow in coil["flowResults"] if flow.get("isRefFlow"))
    assert (reference["amount"], reference["unit"]["name"]) == (1000.0, "kg")
    coil_offer = offer_of(session, "result-coil")
    assert (coil_offer.pcf_value, coil_offer.pcf_unit) == (coil_gwp, "kgCO2e/t")
    assert (coil_offer.pcf_provenance or {})["method"] == "EF 3.1"
    panel = offer_of(session, "epd-panel")
    per_m2 = a1_a3["impactResults"][0]["amount"] / epd["product"]["amount"]
    assert panel.pcf_value == pytest.approx(per_m2, rel=1e-12) and panel.pcf_unit == "kgCO2e/m2"
    assert panel.owner.name == "Coil Co" and (panel.pcf_provenance or {})["modules"]["C3"] == "0.7"
    # the EPD's module results are not products of their own; the result without a GWP is reported
    no_gwp = outcomes["results/result-no-gwp.json"]
    assert "epd-A4" not in outcomes and no_gwp.outcome == "failed"
    assert "Ozone depletion" in (no_gwp.message or "")
    # imported again, nothing changes
    again = import_file(
        session=session, principal=OPERATOR, name=path.name, body=path.read_bytes(), supplier="Coil Co"
    )
    assert {item.outcome for item in again.data_sets if item.offer_id} == {"unchanged"}


def test_an_openlca_v1_export_reads_processes_with_lcia_results(session: Session) -> None:
    buffer = io.BytesIO()
    process = {
        "@context": "http://greendelta.github.io/olca-schema/context.jsonld",
        "@type": "Process",
        "@id": "p-cement",
        "name": "cement, at plant",
        "version": "00.00.001",
        "exchanges": [
            {
                "@type": "Exchange",
                "quantitativeReference": True,
                "input": False,
                "amount": 1.0,
                "unit": {"@type": "Unit", "name": "t"},
                "flow": {"@type": "Flow", "name": "cement"},
            }
        ],
        "impactResults": [
            {"indicator": {"name": "IPCC 2013 GWP 100a", "refUnit": "kg CO2 eq"}, "amount": 812.4}
        ],
    }
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("processes/p-cement.json", json.dumps(process))
        archive.writestr("processes/bad.json", "{not json")
    report = import_file(
        session=session, principal=OPERATOR, name="v1.zip", body=buffer.getvalue(), supplier="Cem"
    )
    assert report.format == "openlca-jsonld-v1"
    cement = offer_of(session, "p-cement")
    assert (cement.pcf_value, cement.pcf_unit) == (812.4, "kgCO2e/t")
    assert [item.outcome for item in report.data_sets if item.path == "processes/bad.json"] == ["failed"]


def test_the_real_v1_export_without_results_says_there_is_nothing_to_import(session: Session) -> None:
    path = FILES / "bw2io-beef-cattle-finishing-v1.zip"
    report = import_file(
        session=session, principal=OPERATOR, name=path.name, body=path.read_bytes(), supplier="S"
    )
    assert report.format == "openlca-jsonld-v1" and report.data_sets == []
    assert "no product with a climate-change result" in report.warnings[0]


# --- the API, the command line ----------------------------------------------------------------------------


def test_the_same_data_set_imported_again_keeps_the_verification_it_earned(
    client: TestClient, session: Session, market: Market
) -> None:
    body = (FILES / "ibu-2-layer-parquet.xml").read_bytes()
    upload = "/imports/lca?name=parquet.xml&declared_unit=m2"
    headers = {**market.eaf_steel.headers, "Content-Type": "application/xml"}
    offer_id = client.post(upload, content=body, headers=headers).json()["data_sets"][0]["offer_id"]
    evidence = client.post(
        f"/offers/{offer_id}/evidence",
        json={"verifier": "IBU", "report_number": "EPD-HAM-2020", "verified_on": "2026-10-01",
              "valid_until": "2029-09-30"},
        headers=market.eaf_steel.headers,
    ).json()  # fmt: skip
    client.post(
        f"/evidence/{evidence['id']}/review", json={"decision": "accepted"}, headers=market.operator.headers
    ).raise_for_status()
    again = client.post(upload, content=body, headers=headers).json()["data_sets"][0]
    assert again["outcome"] == "unchanged"
    shown = client.get(f"/offers/{offer_id}", headers=market.eaf_steel.headers).json()  # a draft: its own
    assert shown["verification_status"] == "verified" and shown["pcf_origin"] == "lca"


def test_a_vendor_uploads_for_itself_and_hostile_files_get_a_clear_4xx(
    client: TestClient, session: Session, market: Market
) -> None:
    body = (FILES / "ibu-2-layer-parquet.xml").read_bytes()
    answer = client.post(
        "/imports/lca?name=parquet.xml&declared_unit=m2&supplier=Someone Else",
        content=body,
        headers={**market.eaf_steel.headers, "Content-Type": "application/xml"},
    )
    assert answer.status_code == 200, answer.text
    [outcome] = answer.json()["data_sets"]
    offer = client.get(f"/offers/{outcome['offer_id']}", headers=market.eaf_steel.headers).json()
    assert offer["supplier"] == "Jiangsu Green Steel" and offer["pcf_origin"] == "lca"
    assert offer["pcf_value"] == 6.529 and offer["verification_status"] == "self_declared"
    # a buyer may not import offers
    assert client.post("/imports/lca", content=body, headers=market.buyer.headers).status_code == 403
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("processes/big.xml", b"<" + b" " * 600_000_000)
    for hostile in (
        b"PK\x03\x04 not really a zip",
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xx"><!ENTITY y "&x;&x;">]>'
        b"<processDataSet>&y;</processDataSet>",
        b'{"json": "is not an LCA file"}',
        bomb.getvalue(),
    ):
        refused = client.post("/imports/lca", content=hostile, headers=market.eaf_steel.headers)
        assert refused.status_code in (200, 413, 422), refused.text
        if refused.status_code == 200:  # a data set reported, not a 500
            assert all(item["outcome"] == "failed" for item in refused.json()["data_sets"])
        else:
            assert refused.headers["content-type"].startswith("application/problem+json")


def test_the_command_line_imports_an_lca_file(tmp_path: Path, cli_env: dict[str, str]) -> None:
    path = olca_v2_zip(tmp_path)
    ok("db", "upgrade", env=cli_env)
    partly = run("import", "lca", path, "--supplier", "Coil Co", env=cli_env)
    assert partly.returncode == 1  # the result without a GWP
    assert "created offer" in partly.stdout and "Ozone depletion" in partly.stderr
    with db_session(cli_env) as session:
        assert offer_of(session, "result-coil").pcf_value == 2150.5
    assert_clean_failure(
        run("import", "lca", FILES / "bw2io-beef-cattle-finishing-v1.zip", "--supplier", "S", env=cli_env)
    )
    assert_clean_failure(
        run("import", "lca", FILES / "indata-kalk-feinkalk.xml", "--declared-unit", "furlong", env=cli_env),
        code=2,
    )
    no_owner = run("import", "lca", path, env=cli_env)
    assert no_owner.returncode == 1 and "--supplier" in no_owner.stderr


def _zip(entries: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _process(amount: object, gwp: object, name: str = "cement") -> str:
    return json.dumps(
        {
            "@type": "Process",
            "@id": "p",
            "name": name,
            "exchanges": [{"quantitativeReference": True, "amount": amount, "unit": {"name": "kg"}}],
            "impactResults": [{"indicator": {"name": "GWP 100a", "refUnit": "kg CO2 eq"}, "amount": gwp}],
        }  # fmt: skip
    )


def test_entries_of_one_name_twice_and_odd_versions_are_not_taken(session: Session) -> None:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns of the duplicate: it is the point
        archive.writestr("olca-schema.json", '{"version": true}')
        archive.writestr("processes/p.json", _process(1, 5))
        archive.writestr("processes/p.json", _process(1, 6))
    report = import_file(
        session=session, principal=OPERATOR, name="twice.zip", body=buffer.getvalue(), supplier="S"
    )
    assert report.format == "openlca-jsonld-v2"
    [outcome] = report.data_sets
    assert outcome.outcome == "failed" and "several entries" in (outcome.message or "")


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0" encoding="klingon"?><processDataSet/>',
        b'<?xml version="1.0"?><processDataSet xmlns="http://lca.jrc.it/ILCD/Process"/>',
        b"<not-even-xml",
    ],
)
def test_an_odd_xml_data_set_is_reported(session: Session, body: bytes) -> None:
    report = import_file(session=session, principal=OPERATOR, name="odd.xml", body=body, supplier="S")
    assert [item.outcome for item in report.data_sets] == ["failed"]


def _bad_crc() -> bytes:
    body = bytearray(_zip({"processes/p.json": _process(1, 2)}))
    at = body.index(b'"impactResults"')
    body[at + 2] ^= 0x01  # one byte of the stored entry changed: its checksum no longer holds
    return bytes(body)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (_zip({"processes/p.json": "[" * 100_000 + "]" * 100_000}), "not JSON"),
        (_bad_crc(), "cannot be read"),
        (_zip({"processes/p.json": _process(0, 5)}), "greater than zero"),
        (_zip({"processes/p.json": _process(-1, 5)}), "greater than zero"),
        (_zip({"processes/p.json": _process("0", 5)}), "greater than zero"),
        (_zip({"processes/p.json": _process(1, "9e999999")}), "out of range"),
        (_zip({"processes/p.json": _process(1, "1e400")}), "out of range"),
        (_zip({"processes/p.json": _process(1e-300, 5)}), "out of range"),
        (_zip({"processes/p.json": _process(1, 5, name="\ud800")}), "surrogate"),
        (_zip({"processes/p.json": _process([1], 5)}), "not a number"),
        (_zip({"processes/p.json": _process(1, 5).replace('"@id": "p"', '"@id": 7')}), "uuid is not text"),
        (_zip({"processes/p.json": _process(1, 5).replace('"name": "cement"', '"name": ["a"]')}), "not text"),
        (
            _zip({"processes/p.json": _process(1, 5).replace('"name": "cement"', '"name": {"a": 1}')}),
            "not text",
        ),
        (
            _zip({"olca-schema.json": '{"version": true}', "processes/p.json": _process(1, 5, name="\x00")}),
            "NUL",
        ),
    ],
)
def test_a_hostile_data_set_is_reported_and_nothing_else_breaks(
    session: Session, body: bytes, says: str
) -> None:
    report = import_file(session=session, principal=OPERATOR, name="hostile.zip", body=body, supplier="S")
    [outcome] = report.data_sets
    assert outcome.outcome == "failed" and says in (outcome.message or ""), outcome.message
    LcaImportReport.model_validate_json(report.model_dump_json())  # the report itself can be sent


@pytest.mark.parametrize(("mean_value", "says"), [("0", "greater than zero"), ("-1000", "greater than zero")])
def test_an_ilcd_flow_of_no_size_is_refused_not_taken_as_one(
    session: Session, mean_value: str, says: str
) -> None:
    body = ilcd_zip(
        (FILES / "ibu-2-layer-parquet.xml").read_bytes(), flow_property="Mass", mean_value=mean_value
    )
    report = import_file(session=session, principal=OPERATOR, name="parquet.zip", body=body, supplier="S")
    assert [item.outcome for item in report.data_sets] == ["failed", "failed"]
    assert says in (report.data_sets[0].message or "") or says in (report.data_sets[1].message or "")
