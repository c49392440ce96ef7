"""Footprints a buyer can trust: a vendor's tick is not verification; evidence the operator accepted is, until
it ends, exactly. A rejected or expired footprint never passes `require_verified`: not in the matches, the
free-text search, the offer list, the vendor's view, nor the PACT listing. The evidence's document follows
the offer's visibility."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from matchmaker.matching.eligibility import Criteria, judge
from matchmaker.matching.offer_table import OfferTable
from matchmaker.matching.repository import visible_offer_facts
from matchmaker.pact.mapping import footprint_of_offer
from matchmaker.verification import end_of_day
from matchmaker.visibility import EVERYONE
from tests.markets import Market

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
EVIDENCE = {
    "verifier": "中国质量认证中心",
    "accreditation": "CNAS C001-P",
    "report_number": "CQC-PCF-2026-0042",
    "standard": "ISO 14067",
    "verified_on": "2026-10-01",
    "valid_until": "2029-09-30",
}
NEW_OFFER = {
    "external_id": "wind-rebar",
    "title": "Wind-powered EAF rebar HRB400E",
    "description": "Rebar from scrap in an electric arc furnace on wind power.",
    "kind": "product",
    "category": "steel",
    "pcf_value": 0.41,
    "pcf_unit": "tCO2e/t",
    "pcf_verified": True,
    "status": "published",
}
VERIFIED_ONLY = {"text": "low-carbon rebar", "require_verified": True}


def _create(client: TestClient, market: Market) -> int:
    created = client.post("/offers", json=NEW_OFFER, headers=market.eaf_steel.headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _submit(client: TestClient, market: Market, offer_id: int, **changes: str) -> int:
    submitted = client.post(
        f"/offers/{offer_id}/evidence", json={**EVIDENCE, **changes}, headers=market.eaf_steel.headers
    )
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["status"] == "submitted"
    return int(submitted.json()["id"])


def _review(client: TestClient, market: Market, evidence_id: int, **decision: str) -> dict:
    reviewed = client.post(f"/evidence/{evidence_id}/review", json=decision, headers=market.operator.headers)
    assert reviewed.status_code == 200, reviewed.text
    return dict(reviewed.json())


def _searched(client: TestClient, market: Market) -> set[str]:
    found = client.post("/search", json=VERIFIED_ONLY, headers=market.buyer.headers)
    assert found.status_code == 200, found.text
    return {match["offer"]["external_id"] for match in found.json()["matches"]}


def _listed_verified(client: TestClient, market: Market) -> set[str]:
    listed = client.get("/offers?verified=true&per_page=100", headers=market.buyer.headers).json()
    return {offer["external_id"] for offer in listed["items"]}


def test_a_vendor_tick_is_self_declared_until_the_operator_accepts_its_evidence(
    client: TestClient, market: Market
) -> None:
    offer_id = _create(client, market)
    offer = client.get(f"/offers/{offer_id}", headers=market.buyer.headers).json()
    assert (offer["pcf_verified"], offer["verification_status"]) == (False, "self_declared")
    assert "wind-rebar" not in _listed_verified(client, market)
    assert "wind-rebar" not in _searched(client, market)

    evidence_id = _submit(client, market, offer_id)
    # Submitted is not accepted: the queue holds it, and the footprint is still self-declared.
    queue = client.get("/evidence", headers=market.operator.headers).json()
    assert [item["id"] for item in queue] == [evidence_id]
    assert client.get("/evidence", headers=market.eaf_steel.headers).status_code == 403
    assert "wind-rebar" not in _listed_verified(client, market)

    accepted = _review(client, market, evidence_id, decision="accepted")
    assert accepted["status"] == "accepted"
    offer = client.get(f"/offers/{offer_id}", headers=market.buyer.headers).json()
    assert offer["verification_status"] == "verified" and offer["pcf_verified"] is True
    assert offer["verified_by"] == "中国质量认证中心"
    # Valid through 2029-09-30 in Shanghai: it ends at midnight after it there.
    assert datetime.fromisoformat(offer["verified_until"]) == end_of_day(date(2029, 9, 30))
    assert "wind-rebar" in _listed_verified(client, market)
    assert "wind-rebar" in _searched(client, market)
    # Reviewed once: a second decision is refused.
    again = client.post(
        f"/evidence/{evidence_id}/review",
        json={"decision": "rejected", "reason": "x"},
        headers=market.operator.headers,
    )
    assert again.status_code == 409


def test_rejected_evidence_needs_a_reason_and_never_verifies(client: TestClient, market: Market) -> None:
    offer_id = _create(client, market)
    evidence_id = _submit(client, market, offer_id)
    no_reason = client.post(
        f"/evidence/{evidence_id}/review", json={"decision": "rejected"}, headers=market.operator.headers
    )
    assert no_reason.status_code == 422
    rejected = _review(client, market, evidence_id, decision="rejected", reason="报告编号与核查机构记录不符")
    assert (rejected["status"], rejected["review_reason"]) == ("rejected", "报告编号与核查机构记录不符")
    assert (
        client.get(f"/offers/{offer_id}", headers=market.buyer.headers).json()["verification_status"]
        == "self_declared"
    )
    assert "wind-rebar" not in _listed_verified(client, market) | _searched(client, market)
    # The vendor reads why; a buyer does not see rejected evidence at all.
    mine = client.get(f"/offers/{offer_id}/evidence", headers=market.eaf_steel.headers).json()
    assert [item["review_reason"] for item in mine] == ["报告编号与核查机构记录不符"]
    assert client.get(f"/offers/{offer_id}/evidence", headers=market.buyer.headers).json() == []


def test_evidence_speaks_for_the_footprint_it_was_submitted_with(client: TestClient, market: Market) -> None:
    offer_id = _create(client, market)
    evidence_id = _submit(client, market, offer_id)
    client.patch(f"/offers/{offer_id}", json={"pcf_value": 0.30}, headers=market.eaf_steel.headers)
    changed = client.post(
        f"/evidence/{evidence_id}/review", json={"decision": "accepted"}, headers=market.operator.headers
    )
    assert changed.status_code == 409
    assert "footprint changed" in changed.json()["detail"]
    # Accepted, then the vendor lowers its footprint: the verification ends with the value it spoke for.
    _review(client, market, _submit(client, market, offer_id), decision="accepted")
    assert "wind-rebar" in _listed_verified(client, market)
    lowered = client.patch(
        f"/offers/{offer_id}", json={"pcf_value": 0.2}, headers=market.eaf_steel.headers
    ).json()
    assert lowered["verification_status"] == "self_declared"
    # Its accepted evidence spoke for the old value: buyers no longer see it.
    assert client.get(f"/offers/{offer_id}/evidence", headers=market.buyer.headers).json() == []
    # A title changes nothing of it; the standard it was verified to is the evidence's, and a vendor's new
    # one ends it.
    _review(client, market, _submit(client, market, offer_id, standard="ISO 14064-3"), decision="accepted")
    retitled = client.patch(
        f"/offers/{offer_id}", json={"title": "Wind EAF rebar"}, headers=market.eaf_steel.headers
    ).json()
    assert (retitled["verification_status"], retitled["standard"]) == ("verified", "ISO 14064-3")
    restandard = client.patch(
        f"/offers/{offer_id}", json={"standard": "PAS 2050"}, headers=market.eaf_steel.headers
    ).json()
    assert restandard["verification_status"] == "self_declared"


def test_evidence_that_has_expired_is_not_accepted_and_dates_must_be_in_order(
    client: TestClient, market: Market
) -> None:
    offer_id = _create(client, market)
    yesterday = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    expired = _submit(client, market, offer_id, verified_on="2020-01-01", valid_until=yesterday)
    refused = client.post(
        f"/evidence/{expired}/review", json={"decision": "accepted"}, headers=market.operator.headers
    )
    assert refused.status_code == 422
    reversed_dates = client.post(
        f"/offers/{offer_id}/evidence",
        json={**EVIDENCE, "valid_until": "2019-01-01"},
        headers=market.eaf_steel.headers,
    )
    assert reversed_dates.status_code == 422
    # Only the offer's vendor and the operator file evidence.
    for stranger in (market.buyer, market.hydrogen):
        assert client.post(
            f"/offers/{offer_id}/evidence", json=EVIDENCE, headers=stranger.headers
        ).status_code in (403, 404)


def test_expiry_flips_require_verified_at_the_boundary_exactly(session: Session, market: Market) -> None:
    offer = market.offers["eaf-rebar"]
    end = end_of_day(date(2027, 3, 31))
    offer.verified_until = end
    session.commit()
    table = OfferTable()
    table.sync(session)
    row = table.row_of(offer.id)
    facts = next(f for f in visible_offer_facts(session, viewer=EVERYONE) if f.id == offer.id)
    assert table.facts(row) == facts
    just_before, at_end = end - timedelta(microseconds=1), end
    for now, passes in ((just_before, True), (at_end, False), (end + timedelta(days=400), False)):
        criteria = Criteria(require_verified=True, now=now)
        verdict = judge(facts, criteria)
        assert verdict.eligible is passes, now
        eligible, _ = table.partition(criteria, viewer=EVERYONE)
        assert (row in set(eligible.tolist())) is passes, now
    expired = judge(facts, Criteria(require_verified=True, now=at_end)).checks[0]
    assert expired.reason == "verified.expired" and "2027-03-31" in expired.detail


def test_an_expired_footprint_shows_as_expired_and_leaves_every_verified_list(
    client: TestClient, session: Session, market: Market
) -> None:
    offer = market.offers["eaf-rebar"]
    assert "eaf-rebar" in _listed_verified(client, market)
    offer.verified_until = datetime.now(UTC) - timedelta(seconds=1)
    session.commit()
    shown = client.get(f"/offers/{offer.id}", headers=market.buyer.headers).json()
    assert (shown["verification_status"], shown["pcf_verified"]) == ("expired", False)
    assert "eaf-rebar" not in _listed_verified(client, market)
    assert "eaf-rebar" not in _searched(client, market)
    own = client.get(f"/offers/{offer.id}", headers=market.eaf_steel.headers).json()
    assert own["verification_status"] == "expired"  # the vendor's view says so too


def test_the_evidence_document_follows_the_offer_and_its_acceptance(
    client: TestClient, market: Market
) -> None:
    offer_id = _create(client, market)
    evidence_id = _submit(client, market, offer_id)
    url = f"/offers/{offer_id}/evidence/{evidence_id}/document"
    uploaded = client.put(f"{url}?filename=report.pdf", content=PDF, headers=market.eaf_steel.headers)
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["document"]["media_type"] == "application/pdf"
    # The report the operator will open is the one filed: never swapped under it.
    assert client.put(url, content=PDF + b" ", headers=market.eaf_steel.headers).status_code == 409
    assert client.get(url, headers=market.eaf_steel.headers).content == PDF
    assert client.get(url, headers=market.operator.headers).content == PDF
    assert client.get(url, headers=market.buyer.headers).status_code == 404  # not accepted yet
    _review(client, market, evidence_id, decision="accepted")
    assert client.get(url, headers=market.buyer.headers).content == PDF
    # Reviewed evidence keeps its document.
    assert client.put(url, content=PDF, headers=market.eaf_steel.headers).status_code == 409
    # Hidden offer, hidden evidence.
    client.patch(f"/offers/{offer_id}", json={"status": "draft"}, headers=market.eaf_steel.headers)
    assert client.get(url, headers=market.buyer.headers).status_code == 404
    assert client.get(f"/offers/{offer_id}/evidence", headers=market.buyer.headers).status_code == 404


def test_the_operator_vouches_with_its_import_and_a_validity_end(client: TestClient, market: Market) -> None:
    line = (
        '{"id": "op-rebar", "supplier": "Jiangsu Green Steel", "title": "Operator-vouched rebar",'
        ' "kind": "product", "category": "steel", "pcf_value": 0.5, "pcf_unit": "tCO2e/t",'
        ' "pcf_verified": true, "pcf_valid_until": "2028-06-30", "status": "published"}'
    )
    imported = client.post("/imports/offers", content=line, headers=market.operator.headers)
    assert imported.status_code == 200, imported.text
    listed = client.get("/offers?per_page=100", headers=market.buyer.headers).json()["items"]
    offer = next(o for o in listed if o["external_id"] == "op-rebar")
    assert (offer["verification_status"], offer["verification_source"]) == ("verified", "operator")
    assert datetime.fromisoformat(offer["verified_until"]) == end_of_day(date(2028, 6, 30))
    # Without a stated end, PACT's default: three years.
    plain = line.replace("op-rebar", "op-rebar-2").replace(', "pcf_valid_until": "2028-06-30"', "")
    assert client.post("/imports/offers", content=plain, headers=market.operator.headers).status_code == 200
    listed = client.get("/offers?per_page=100", headers=market.buyer.headers).json()["items"]
    until = datetime.fromisoformat(
        next(o for o in listed if o["external_id"] == "op-rebar-2")["verified_until"]
    )
    assert timedelta(days=3 * 365 - 2) < until - datetime.now(UTC) < timedelta(days=3 * 365 + 2)
    # Imported again as it is, it keeps its end (the import changes nothing).
    again = client.post("/imports/offers", content=plain, headers=market.operator.headers).json()
    assert again["unchanged"] == 1, again
    # The same line from the vendor's own import is the vendor's word only.
    own = line.replace("op-rebar", "own-rebar")
    vendor_import = client.post("/imports/offers", content=own, headers=market.eaf_steel.headers)
    assert vendor_import.json()["created"] == 1, vendor_import.text
    listed = client.get("/offers?per_page=100", headers=market.buyer.headers).json()["items"]
    assert (
        next(o for o in listed if o["external_id"] == "own-rebar")["verification_status"] == "self_declared"
    )


@pytest.mark.parametrize("status", ["verified", "expired", "self_declared"])
def test_the_pact_listing_carries_a_verification_only_while_it_holds(
    session: Session, market: Market, status: str
) -> None:
    offer = market.offers["eaf-rebar"]
    offer.verified_by = "中国质量认证中心"
    offer.pcf_verified = status != "self_declared"
    offer.verified_until = datetime.now(UTC) + timedelta(days=-1 if status == "expired" else 30)
    session.commit()
    footprint = footprint_of_offer(offer, issuer="test")
    assert ("verification" in footprint["pcf"]) is (status == "verified")
    if status == "verified":
        assert footprint["pcf"]["verification"]["providerName"] == "中国质量认证中心"


def test_a_validity_past_any_calendar_is_refused_not_a_500(client: TestClient, market: Market) -> None:
    offer_id = _create(client, market)
    for bad in ("9999-12-31", "1900-01-01"):
        refused = client.post(
            f"/offers/{offer_id}/evidence",
            json={**EVIDENCE, "valid_until": bad},
            headers=market.eaf_steel.headers,
        )
        assert refused.status_code == 422, bad
        line = (
            '{"id": "x", "supplier": "Jiangsu Green Steel", "title": "x", "kind": "product",'
            ' "category": "steel", "pcf_value": 1, "pcf_unit": "tCO2e/t", "pcf_verified": true,'
            f' "pcf_valid_until": "{bad}"}}'
        )
        report = client.post("/imports/offers", content=line, headers=market.operator.headers).json()
        assert report["errors"][0]["line"] == 1, bad
