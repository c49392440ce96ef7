"""Verification on the pages: the vendor files evidence with its report on the offer's page, the operator
works the review queue, a buyer sees who verified the footprint until when, and its history; a vendor hears
of a verification about to end."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.db.base import utcnow
from matchmaker.db.models import Alert
from matchmaker.offers.expiry import warn_of_expiry
from tests.markets import Market
from tests.test_verification import EVIDENCE, PDF
from tests.web_support import csrf_token, post_form, sign_in

FIELDS = EVIDENCE  # the page's form has the API's fields


def _unverify(client: TestClient, market: Market, offer_id: int) -> None:
    """The vendor lowers its footprint: what was verified no longer speaks for it."""
    lowered = client.patch(f"/offers/{offer_id}", json={"pcf_value": 0.55}, headers=market.eaf_steel.headers)
    assert lowered.json()["verification_status"] == "self_declared"


def test_evidence_filed_on_the_page_reviewed_in_the_queue_and_shown_to_buyers(
    client: TestClient, market: Market
) -> None:
    offer = market.offers["eaf-rebar"]
    _unverify(client, market, offer.id)
    page = f"/ui/offers/{offer.id}"
    client.cookies.set("mm_lang", "zh")
    sign_in(client, market.eaf_steel.key)
    assert "自我声明" in client.get(page).text
    refused = client.post(
        f"{page}/evidence",
        data={"csrf_token": csrf_token(client, page), **FIELDS, "valid_until": "2020-01-01"},
    )
    assert refused.status_code == 422
    assert "有效期早于核查日期" in refused.text and "CQC-PCF-2026-0042" in refused.text
    filed = client.post(
        f"{page}/evidence",
        data={"csrf_token": csrf_token(client, page), **FIELDS},
        files={"document": ("核查报告.pdf", PDF, "application/pdf")},
    )
    assert filed.status_code == 200, filed.text[:500]
    assert "待审核" in filed.text and "核查报告.pdf" in filed.text

    client.cookies.clear()
    client.cookies.set("mm_lang", "zh")
    sign_in(client, market.operator.key)
    queue = client.get("/ui/evidence").text
    evidence_id = re.search(r'data-testid="queued-(\d+)"', queue)
    assert evidence_id is not None
    review = f"/ui/evidence/{evidence_id.group(1)}/review"
    no_reason = post_form(client, review, {"decision": "rejected"}, page="/ui/evidence")
    assert no_reason.status_code == 422 and "驳回时须填写" in no_reason.text
    accepted = post_form(client, review, {"decision": "accepted"}, page="/ui/evidence")
    assert accepted.status_code == 200 and "已通过" in accepted.text
    assert 'data-testid="empty"' in accepted.text

    client.cookies.clear()
    client.cookies.set("mm_lang", "zh")
    sign_in(client, market.buyer.key)
    seen = client.get(page).text
    assert "经 " in seen and "中国质量认证中心" in seen and "有效至 2029-09-30" in seen
    report = re.search(rf'href="(/ui/offers/{offer.id}/evidence/\d+/document)"', seen)
    assert report is not None and client.get(report.group(1)).content == PDF
    history = seen.split('data-testid="history"', 1)[1]
    assert history.count("<tr") >= 3  # created, lowered, verified (and the header)


def test_a_vendor_is_warned_once_of_a_verification_ending_within_30_days(
    session: Session, market: Market, client: TestClient
) -> None:
    offer = market.offers["eaf-rebar"]
    offer.verified_until = utcnow() + timedelta(days=10)
    later = next(o for key, o in market.offers.items() if key != "eaf-rebar" and o.pcf_verified)
    later.verified_until = utcnow() + timedelta(days=90)  # not yet
    session.commit()
    assert warn_of_expiry(session=session, now=utcnow()) == 1
    assert warn_of_expiry(session=session, now=utcnow()) == 0  # told once
    session.commit()
    alerts = session.scalars(select(Alert).where(Alert.kind == "verification_expiring")).all()
    assert [(a.organisation_id, a.offer_id) for a in alerts] == [(market.eaf_steel.id, offer.id)]
    # In the vendor's inbox, through the API and on its page.
    inbox = client.get("/alerts", headers=market.eaf_steel.headers)
    assert inbox.status_code == 200 and inbox.json()["items"][0]["kind"] == "verification_expiring"
    client.cookies.set("mm_lang", "zh")
    sign_in(client, market.eaf_steel.key)
    assert "核查即将到期" in client.get("/ui/alerts").text
