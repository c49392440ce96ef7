"""After the match, on the pages: the offer's page opened from a need, the shortlist, the comparison and its
chart, the export, and an inquiry answered with a quote and closed as won."""

from __future__ import annotations

import io
import re
from datetime import date

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.alerts.producer import AlertProducer
from matchmaker.shortlists.export import HEADER_ROW
from matchmaker.verification import end_of_day
from tests.factories import Party
from tests.markets import Market
from tests.test_web_buyer import REBAR_NEED_ZH, post_need
from tests.web_support import post_form, sign_in

_OFFER_LINK = re.compile(r'href="(/ui/offers/(\d+)\?need=\d+)" data-testid="offer-link"')


def _need_with_matches(client: TestClient, market: Market) -> tuple[str, list[tuple[str, int]]]:
    sign_in(client, market.buyer.key)
    need_page = post_need(client, **{**REBAR_NEED_ZH, "require_verified": "", "alliance_only": ""})
    links = [(path, int(offer)) for path, offer in _OFFER_LINK.findall(client.get(need_page).text)]
    assert len(links) >= 2, "the rebar need should match several offers"
    return need_page, links


def test_a_buyer_opens_a_matched_offer_and_keeps_it(client: TestClient, market: Market) -> None:
    need_page, links = _need_with_matches(client, market)
    path, offer_id = links[0]
    page = client.get(path)
    assert page.status_code == 200
    assert 'data-testid="supplier"' in page.text and 'data-testid="need-match"' in page.text
    assert 'data-testid="ask-supplier"' in page.text
    kept = post_form(
        client,
        f"{need_page}/shortlist/{offer_id}",
        {"action": "keep", "next": path},
        page=path,
        follow_redirects=False,
    )
    assert kept.status_code == 303 and kept.headers["location"] == path
    assert 'data-testid="unshortlist"' in client.get(path).text
    assert "候选清单（1）" in client.get(need_page).text or "Shortlist (1)" in client.get(need_page).text


def test_shortlist_compare_and_export_in_chinese(client: TestClient, market: Market) -> None:
    need_page, links = _need_with_matches(client, market)
    for _, offer_id in links[:3]:
        post_form(client, f"{need_page}/shortlist/{offer_id}", {"action": "keep"}, page=need_page)
    post_form(client, "/ui/language", {"language": "zh", "next": need_page}, page=need_page)
    shortlist = client.get(f"{need_page}/shortlist")
    assert shortlist.status_code == 200 and shortlist.text.count('data-testid="shortlisted"') == 3
    note = post_form(
        client, f"{need_page}/shortlist/{links[0][1]}", {"action": "keep", "note": "先问2027年价格"},
        page=f"{need_page}/shortlist", follow_redirects=True,
    )  # fmt: skip
    assert "先问2027年价格" in note.text
    compare = client.get(f"{need_page}/compare", params=[("offer", links[0][1]), ("offer", links[1][1])])
    assert compare.status_code == 200
    assert compare.text.count('data-testid="bar"') == 2 and 'data-testid="ceiling-line"' in compare.text
    assert "<svg" in compare.text and "并排比较" in compare.text
    exported = client.get(f"{need_page}/shortlist/export?format=xlsx")
    sheet = load_workbook(io.BytesIO(exported.content)).active
    header = [cell.value for cell in sheet[HEADER_ROW]]
    assert "碳足迹（kgCO2e/kg）" in header  # the need's ceiling's unit
    rows = list(sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=True))
    assert [row[0] for row in rows] == [offer for _, offer in links[:3]]
    assert rows[0][header.index("备注")] == "先问2027年价格"


def test_an_inquiry_is_quoted_and_won_on_the_pages(client: TestClient, market: Market) -> None:
    _, links = _need_with_matches(client, market)
    path, offer_id = links[0]
    form_page = client.get(path).text
    ask = re.search(r'href="([^"]+)" data-testid="ask-supplier"', form_page)
    assert ask
    new_page = ask.group(1).replace("&amp;", "&")
    inquiry = {
        "offer_id": offer_id,
        "message": "请报2027年一季度价格",
        "quantity": "500",
        "quantity_unit": "t",
    }
    sent = post_form(client, "/ui/inquiries", inquiry, page=new_page, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    thread = sent.headers["location"]
    # The offer's supplier answers from its inbox.
    assert _owner_of(client, market, thread) is not None
    inbox = client.get("/ui/inquiries").text
    assert thread.split("/")[-1] in inbox
    quote = {
        "kind": "quote", "price": "4350", "currency": "CNY", "price_unit": "t", "lead_time_days": "30",
        "pcf_value": "0.45", "pcf_unit": "kgCO2e/kg",
    }  # fmt: skip
    quoted = post_form(client, f"{thread}/steps", quote, page=thread, follow_redirects=True)
    assert 'data-testid="quote"' in quoted.text and "4350" in quoted.text
    client.cookies.clear()
    sign_in(client, market.buyer.key)
    won = post_form(
        client, f"{thread}/steps", {"kind": "close", "outcome": "won"}, page=thread, follow_redirects=True
    )
    assert 'data-kind="close"' in won.text
    # Another buyer is told the thread does not exist.
    client.cookies.clear()
    sign_in(client, market.other_buyer.key)
    assert client.get(thread).status_code == 404


def _owner_of(client: TestClient, market: Market, thread: str) -> str | None:
    """Sign in as whichever supplier may open the thread (the offer's owner); its name."""
    for party in (market.eaf_steel, market.bof_steel, market.zh_steel, market.outsider_steel):
        client.cookies.clear()
        sign_in(client, party.key)
        if client.get(thread).status_code == 200:
            return party.organisation.name
    return None


def test_a_quote_without_a_currency_is_refused_on_the_form(client: TestClient, market: Market) -> None:
    _, links = _need_with_matches(client, market)
    path, offer_id = links[0]
    sent = post_form(
        client,
        "/ui/inquiries",
        {"offer_id": offer_id, "message": "price?"},
        page=path,
        follow_redirects=False,
    )
    thread = sent.headers["location"]
    _owner_of(client, market, thread)
    refused = post_form(
        client, f"{thread}/steps", {"kind": "quote", "price": "10", "currency": ""}, page=thread
    )
    assert refused.status_code == 422
    assert 'data-testid="form-error"' in refused.text
    assert 'data-kind="quote"' not in refused.text


def _a_kept_offer_watched(
    client: TestClient, market: Market, session_factory: sessionmaker[Session]
) -> tuple[str, int, Party, AlertProducer]:
    """A need whose buyer kept its first match, the offer's supplier, and alerts being produced."""
    need_page, links = _need_with_matches(client, market)
    offer_id = links[0][1]
    post_form(client, f"{need_page}/shortlist/{offer_id}", {"action": "keep"}, page=need_page)
    producer = AlertProducer()
    producer.start(session_factory)
    owner_id = client.get(f"/offers/{offer_id}", headers=market.buyer.headers).json()["owner_id"]
    suppliers = (market.eaf_steel, market.bof_steel, market.zh_steel, market.outsider_steel)
    return need_page, offer_id, next(p for p in suppliers if p.organisation.id == owner_id), producer


def test_the_alerts_page_says_what_changed_and_keeps_a_webhook_safe(
    client: TestClient, market: Market, session_factory: sessionmaker[Session]
) -> None:
    need_page, offer_id, owner, producer = _a_kept_offer_watched(client, market, session_factory)
    need_id = int(need_page.rsplit("/", 1)[1])
    stated = client.get(f"/offers/{offer_id}", headers=owner.headers).json()
    changed = client.patch(
        f"/offers/{offer_id}", json={"pcf_value": stated["pcf_value"] / 2}, headers=owner.headers
    )
    assert changed.status_code == 200
    producer.run(client.app.state.engine, session_factory)  # type: ignore[attr-defined]
    page = client.get("/ui/alerts").text
    assert 'data-kind="offer_changed"' in page and "→" in page
    assert f"/ui/offers/{offer_id}?need={need_id}" in page
    refused = post_form(
        client,
        "/ui/alerts/webhook",
        {"url": "http://169.254.169.254/latest", "secret": "x" * 20},
        page="/ui/alerts",
    )
    assert refused.status_code == 422 and 'data-testid="form-error"' in refused.text
    read = post_form(client, "/ui/alerts/read", {}, page="/ui/alerts", follow_redirects=True)
    assert "card unread" not in read.text


def test_an_offer_withdrawn_from_a_buyers_sight_is_said_so_on_its_alerts_page(
    client: TestClient, market: Market, session_factory: sessionmaker[Session]
) -> None:
    _, offer_id, owner, producer = _a_kept_offer_watched(client, market, session_factory)
    drafted = client.patch(f"/offers/{offer_id}", json={"status": "draft"}, headers=owner.headers)
    assert drafted.status_code == 200
    producer.run(client.app.state.engine, session_factory)  # type: ignore[attr-defined]
    page = client.get("/ui/alerts", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    change = page.text.split('data-kind="offer_withdrawn"')[1].split("</p>")[0]
    assert 'data-testid="change"' in change and "→" not in change


def test_a_match_marked_not_relevant_leaves_the_page_and_comes_back(
    client: TestClient, market: Market
) -> None:
    need_page, links = _need_with_matches(client, market)
    offer_id = links[0][1]
    hidden = post_form(
        client, f"{need_page}/feedback/{offer_id}", {"verdict": "not_relevant", "next": need_page},
        page=need_page, follow_redirects=True,
    )  # fmt: skip
    assert offer_id not in [int(o) for _, o in _OFFER_LINK.findall(hidden.text)]
    assert 'data-testid="dismissed"' in hidden.text
    back = post_form(
        client, f"{need_page}/feedback/{offer_id}", {"verdict": "undo", "next": need_page},
        page=need_page, follow_redirects=True,
    )  # fmt: skip
    assert [int(o) for _, o in _OFFER_LINK.findall(back.text)][0] == offer_id
    contracted = post_form(
        client, f"{need_page}/feedback/{offer_id}", {"verdict": "contracted", "next": need_page},
        page=need_page, follow_redirects=True,
    )  # fmt: skip
    assert 'aria-pressed="true" data-testid="verdict-contracted"' in contracted.text


def test_the_offer_page_says_how_its_footprint_was_declared(
    client: TestClient, market: Market, session: Session
) -> None:
    offer = market.offers["eaf-rebar"]
    pcf = {
        "referencePeriodStart": "2025-01-01T00:00:00Z", "referencePeriodEnd": "2026-01-01T00:00:00Z",
        "boundaryProcessesDescription": "cradle-to-gate, scrap collection included",
    }  # fmt: skip
    offer.attributes = {"pact": {"footprint": {"pcf": pcf}}, "reporting_year": 2025}  # as a pull keeps it
    # Valid three years past the reference period, PACT's default: through 2028-12-31 in Shanghai.
    offer.footprint_valid_until = end_of_day(date(2028, 12, 31))
    session.commit()
    sign_in(client, market.other_buyer.key)
    page = client.get(f"/ui/offers/{offer.id}")
    assert page.status_code == 200  # a buyer with no need of it may open it too
    assert "2025-01-01 – 2026-01-01" in page.text and "cradle-to-gate, scrap collection included" in page.text
    assert "2028-12-31" in page.text
    assert "UTC+8" in page.text and " UTC ·" not in page.text  # its last change in the users' zone
    assert 'data-testid="supplier"' in page.text and "Reporting year" in page.text
    hidden = market.offers["zh-rebar"]
    hidden.status = "draft"
    session.commit()
    assert client.get(f"/ui/offers/{hidden.id}").status_code == 404
