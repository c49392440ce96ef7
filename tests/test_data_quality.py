"""A footprint's data quality (primary data share, quality ratings, measured or expected, who verified it)
is stated by its vendor or its source, shown, and filters matches exactly: in the ranking over the offer
table and in the database's own reading alike. A need chooses to leave out expired verifications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.db.base import utcnow
from matchmaker.db.models import Alert
from matchmaker.matching.eligibility import Criteria, judge
from matchmaker.matching.offer_table import OfferTable
from matchmaker.matching.repository import visible_offer_facts
from matchmaker.offers.expiry import warn_of_expiry
from matchmaker.pact.mapping import footprint_of_offer, offer_record_of_footprint
from matchmaker.pact.model import validate_footprint
from matchmaker.visibility import EVERYONE
from tests.markets import Market
from tests.web_support import sign_in

QUALITY = {
    "primary_data_share": 62.5,
    "dqr_technological": 1.4,
    "dqr_temporal": 2,
    "dqr_geographical": 1,
    "pcf_basis": "retrospective",
}


def test_a_vendor_states_its_data_quality_and_nonsense_is_refused(client: TestClient, market: Market) -> None:
    offer = market.offers["eaf-rebar"]
    changed = client.patch(f"/offers/{offer.id}", json=QUALITY, headers=market.eaf_steel.headers)
    assert changed.status_code == 200, changed.text
    shown = client.get(f"/offers/{offer.id}", headers=market.buyer.headers).json()
    assert {name: shown[name] for name in QUALITY} == QUALITY
    for bad in (
        {"primary_data_share": 101},
        {"dqr_temporal": 4},
        {"dqr_geographical": "2"},
        {"pcf_basis": "guess"},
    ):
        refused = client.patch(f"/offers/{offer.id}", json=bad, headers=market.eaf_steel.headers)
        assert refused.status_code == 422, bad
        assert refused.headers["content-type"].startswith("application/problem+json")
    sign_in(client, market.buyer.key)
    page = client.get(f"/ui/offers/{offer.id}", headers={"Accept-Language": "zh-CN"})
    assert "原始数据 62.5%" in page.text and "实测（回顾性）" in page.text


def _matched(client: TestClient, market: Market, **need: object) -> tuple[set[str], dict[str, list[str]]]:
    created = client.post(
        "/needs", json={"text": "low-carbon rebar for a metro line", **need}, headers=market.buyer.headers
    )
    assert created.status_code == 201, created.text
    body = client.get(f"/needs/{created.json()['id']}/matches?limit=50", headers=market.buyer.headers).json()
    missed = {miss["offer"]["external_id"]: miss["failed_filters"] for miss in body["near_misses"]}
    return {match["offer"]["external_id"] for match in body["matches"]}, missed


def test_a_need_asks_for_a_primary_data_share_and_offers_without_one_are_left_out(
    client: TestClient, session: Session, market: Market
) -> None:
    market.offers["eaf-rebar"].primary_data_share = 60.0
    market.offers["bof-rebar"].primary_data_share = 40.0
    session.commit()
    matched, missed = _matched(client, market, min_primary_share=50)
    assert "eaf-rebar" in matched and "bof-rebar" not in matched
    assert all(external_id not in matched for external_id in missed)
    assert "min_primary_share" in missed.get("bof-rebar", ["min_primary_share"])
    assert not any(o.primary_data_share is None and o.external_id in matched for o in market.offers.values())
    searched = client.post(
        "/search", json={"text": "rebar", "min_primary_share": 50}, headers=market.buyer.headers
    ).json()
    assert {m["offer"]["external_id"] for m in searched["matches"]} <= {"eaf-rebar"}


def test_third_party_only_refuses_a_second_party_verification_that_require_verified_accepts(
    client: TestClient, market: Market
) -> None:
    offer = market.offers["eaf-rebar"]
    evidence = client.post(
        f"/offers/{offer.id}/evidence",
        json={"verifier": "Metro Rail Procurement audit team", "report_number": "AUD-7", "party": "second",
              "verified_on": "2026-11-01", "valid_until": "2028-10-31"},
        headers=market.eaf_steel.headers,
    )  # fmt: skip
    assert evidence.status_code == 201, evidence.text
    accepted = client.post(
        f"/evidence/{evidence.json()['id']}/review",
        json={"decision": "accepted"},
        headers=market.operator.headers,
    )
    assert accepted.status_code == 200
    assert (
        client.get(f"/offers/{offer.id}", headers=market.buyer.headers).json()["verification_party"]
        == "second"
    )
    verified, _ = _matched(client, market, require_verified=True)
    assert "eaf-rebar" in verified
    independent, missed = _matched(client, market, require_third_party=True)
    assert "eaf-rebar" not in independent
    assert all(external_id not in independent for external_id in missed)


@pytest.mark.parametrize("choice", ["rank_down", "exclude"])
def test_a_need_chooses_whether_expired_verifications_stay(
    client: TestClient, session: Session, market: Market, choice: str
) -> None:
    market.offers["eaf-rebar"].verified_until = datetime.now(UTC) - timedelta(seconds=1)
    session.commit()
    matched, missed = _matched(client, market, expired_footprints=choice)
    if choice == "exclude":
        assert "eaf-rebar" not in matched and "exclude_expired" in missed.get(
            "eaf-rebar", ["exclude_expired"]
        )
    else:
        assert "eaf-rebar" in matched


def test_the_offer_table_and_the_database_judge_data_quality_alike(session: Session, market: Market) -> None:
    market.offers["eaf-rebar"].primary_data_share = 75.0
    market.offers["bof-rebar"].verification_party = "first"
    market.offers["zh-rebar"].verified_until = datetime.now(UTC) - timedelta(days=1)
    market.offers["outsider-rebar"].footprint_valid_until = datetime.now(UTC) - timedelta(days=1)
    session.commit()
    table = OfferTable()
    table.sync(session)
    facts = {f.id: f for f in visible_offer_facts(session, viewer=EVERYONE)}
    for criteria in (
        Criteria(min_primary_share=70),
        Criteria(min_primary_share=80),
        Criteria(require_third_party=True),
        Criteria(exclude_expired=True),
    ):
        eligible, _ = table.partition(criteria, viewer=EVERYONE)
        by_table = {int(table.facts(row).id) for row in eligible.tolist()}
        by_rule = {offer_id for offer_id, fact in facts.items() if judge(fact, criteria).eligible}
        assert by_table == by_rule, criteria
    assert {table.facts(table.row_of(i)) for i in facts} == set(facts.values())


def test_a_pact_footprint_brings_its_data_quality() -> None:
    footprint = {
        "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "specVersion": "3.0.0",
        "productNameCompany": "Green hydrogen",
        "companyName": "H2 Co",
        "pcf": {
            "declaredUnitOfMeasurement": "kilogram",
            "declaredUnitAmount": "1",
            "pcfExcludingBiogenicUptake": "0.9",
            "primaryDataShare": "56.1",
            "dqi": {"technologicalDQR": "1.6", "temporalDQR": "2", "geographicalDQR": "9"},
        },
    }
    record = offer_record_of_footprint(footprint).record
    assert record["primary_data_share"] == 56.1 and record["dqr_technological"] == 1.6
    assert record["dqr_temporal"] == 2.0 and "dqr_geographical" not in record  # 9 is no rating: left unstated


def test_the_pact_host_serves_the_data_quality_it_was_told(session: Session, market: Market) -> None:
    offer = market.offers["eaf-rebar"]
    offer.primary_data_share, offer.dqr_technological, offer.dqr_temporal = 62.5, 1.4, 2.0
    session.commit()
    served = footprint_of_offer(offer, issuer="test")
    assert served is not None and served["pcf"]["primaryDataShare"] == "62.5"
    assert "dqi" not in served["pcf"]  # two ratings of three: PACT's dqi needs all three
    offer.dqr_geographical = 1.0
    session.commit()
    served = footprint_of_offer(offer, issuer="test")
    assert served is not None
    assert served["pcf"]["dqi"] == {"technologicalDQR": "1.4", "temporalDQR": "2", "geographicalDQR": "1"}
    validate_footprint(served)


def test_every_footprint_is_valid_for_three_years_unless_its_source_says_otherwise(
    client: TestClient, session: Session, market: Market
) -> None:
    created = client.post(
        "/offers",
        json={"title": "Low-carbon rebar B500B", "kind": "product", "category": "steel", "pcf_value": 0.5,
              "pcf_unit": "tCO2e/t", "status": "published"},
        headers=market.outsider_steel.headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    until = datetime.fromisoformat(created.json()["footprint_valid_until"])
    assert timedelta(days=3 * 365 - 2) < until - datetime.now(UTC) < timedelta(days=3 * 365 + 2)
    assert created.json()["footprint_expired"] is False
    # A title leaves it; a new footprint is valid from now; the operator's stated end is kept.
    offer_id = created.json()["id"]
    retitled = client.patch(
        f"/offers/{offer_id}", json={"title": "Rebar B500B"}, headers=market.outsider_steel.headers
    )
    assert retitled.json()["footprint_valid_until"] == created.json()["footprint_valid_until"]
    stated = client.patch(
        f"/offers/{offer_id}", json={"pcf_valid_until": "2027-01-31"}, headers=market.operator.headers
    )
    assert stated.json()["footprint_valid_until"].startswith("2027-01-31T16:00:00")  # midnight in Shanghai


def test_a_self_declared_footprint_past_its_validity_is_marked_and_may_be_left_out(
    client: TestClient, session: Session, market: Market
) -> None:
    offer = market.offers["outsider-rebar"]
    offer.footprint_valid_until = datetime.now(UTC) - timedelta(seconds=1)
    session.commit()
    shown = client.get(f"/offers/{offer.id}", headers=market.buyer.headers).json()
    assert shown["footprint_expired"] is True
    kept, _ = _matched(client, market)
    assert "outsider-rebar" in kept
    left, missed = _matched(client, market, expired_footprints="exclude")
    assert "outsider-rebar" not in left
    sign_in(client, market.buyer.key)
    page = client.get(f"/ui/offers/{offer.id}", headers={"Accept-Language": "zh-CN"})
    assert 'data-testid="footprint-expired"' in page.text and "已过期" in page.text


@pytest.mark.parametrize("written", ["1_0", "٥٠", "５０", "0x10"])
def test_a_number_is_written_in_plain_digits_wherever_it_is_typed(
    client: TestClient, market: Market, written: str
) -> None:
    need = client.post("/needs", json={"text": "low-carbon rebar"}, headers=market.buyer.headers).json()["id"]
    for parameter in ("min_primary_share", "max_pcf"):
        refused = client.get(
            f"/needs/{need}/matches",
            params={parameter: written, "max_pcf_unit": "tCO2e/t"},
            headers=market.buyer.headers,
        )
        assert refused.status_code == 422, (parameter, refused.text)
    header = "id,supplier,title,kind,category,pcf_value,pcf_unit\n"
    line = header + f"x-1,Jiangsu Green Steel,Rebar,product,steel,{written},tCO2e/t\n"
    imported = client.post(
        "/imports/offers",
        content=line.encode(),
        headers={**market.eaf_steel.headers, "Content-Type": "text/csv"},
    ).json()
    assert imported["failed"] == 1 and "pcf_value" in imported["errors"][0]["message"]
    sign_in(client, market.buyer.key)
    page = client.get(f"/ui/needs/{need}", params={"min_primary_share": written})
    assert page.status_code == 200 and 'data-testid="match"' not in page.text


def test_a_vendor_is_warned_once_of_a_footprint_whose_validity_ends_within_30_days(
    client: TestClient, session: Session, market: Market
) -> None:
    self_declared = market.offers["outsider-rebar"]
    self_declared.footprint_valid_until = utcnow() + timedelta(days=10)
    vouched = market.offers["eaf-rebar"]  # its verification ends with its footprint: one warning, of that
    vouched.verified_until = vouched.footprint_valid_until = utcnow() + timedelta(days=12)
    session.commit()
    assert warn_of_expiry(session=session, now=utcnow()) == 2
    assert warn_of_expiry(session=session, now=utcnow()) == 0
    session.commit()
    told = {(a.kind, a.offer_id) for a in session.scalars(select(Alert)).all()}
    assert told == {("footprint_expiring", self_declared.id), ("verification_expiring", vouched.id)}
    sign_in(client, market.outsider_steel.key)
    assert "碳足迹有效期至" in client.get("/ui/alerts", headers={"Accept-Language": "zh-CN"}).text
