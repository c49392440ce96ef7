"""The vendor's pages through the real app: what a signed-in vendor sees and can do with its offers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from matchmaker.config import Settings
from tests.factories import World, make_need, make_offer
from tests.markets import Market
from tests.web_support import csrf_token, post_form, sign_in

NEW_OFFER = {
    "title": "Low-carbon rebar HRB400E",
    "description": "Hot-rolled rebar from an electric arc furnace with recycled scrap",
    "language": "en",
    "kind": "product",
    "category": "steel",
    "region": "Jiangsu",
    "pcf_value": "0.62",
    "pcf_unit": "tCO2e/t",
    "standard": "ISO 14067",
    "pcf_verified": "on",
    "certifications": "EPD，ISO 14001",
    "status": "draft",
    "visibility": "public",
}


def rows(page_text: str) -> list[str]:
    """The offer ids of the list's rows, in order."""
    return re.findall(r'data-testid="offer" data-offer-id="(\d+)"', page_text)


def create(client: TestClient, **changes: str) -> str:
    """Create an offer through the form; the path of its detail page."""
    response = post_form(
        client, "/ui/offers", {**NEW_OFFER, **changes}, page="/ui/offers/new", follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return response.headers["location"].split("?")[0]


def test_the_list_shows_own_offers_only_and_pages(client: TestClient, world: World, session: Session) -> None:
    for number in range(22):
        make_offer(session, owner=world.member_vendor.organisation, external_id=f"bulk-{number:02}")
    session.commit()
    sign_in(client, world.member_vendor.key)
    first = client.get("/ui/offers")
    assert first.status_code == 200
    assert len(rows(first.text)) == 20
    assert "Page 1 of 2 · 25 in all" in first.text
    assert str(world.offers["other_public"].id) not in rows(first.text)
    assert "Offer o-public" not in first.text
    second = client.get("/ui/offers?page=2")
    assert len(rows(second.text)) == 5
    assert set(rows(first.text)).isdisjoint(rows(second.text))
    drafts = client.get("/ui/offers?status=draft")
    assert rows(drafts.text) == [str(world.offers["draft"].id)]


def test_an_empty_list_says_how_to_start(client: TestClient, world: World) -> None:
    sign_in(client, world.other_vendor.key)
    empty = client.get("/ui/offers?status=archived")
    assert 'data-testid="empty"' in empty.text and "No offers with status" in empty.text


def test_a_vendor_creates_an_offer_and_sees_it_on_the_list_and_its_page(
    client: TestClient, world: World
) -> None:
    sign_in(client, world.other_vendor.key)
    form = client.get("/ui/offers/new")
    assert 'for="f-pcf_unit"' in form.text and "data-unit-check" in form.text and "data-busy" in form.text
    detail_path = create(client)
    listing = client.get("/ui/offers")
    assert "Low-carbon rebar HRB400E" in listing.text
    detail = client.get(detail_path + "?done=created")
    assert detail.status_code == 200
    assert "The offer was created." in detail.text
    assert "Low-carbon rebar HRB400E" in detail.text and "Outsider Steel" in detail.text
    assert "0.62 tCO2e/t" in detail.text
    assert "EPD, ISO 14001" in detail.text  # the Chinese comma separates too
    assert 'data-testid="offer-status">draft<' in detail.text


def test_a_bad_unit_is_refused_on_the_form_keeping_what_was_typed(client: TestClient, world: World) -> None:
    sign_in(client, world.other_vendor.key)
    response = post_form(
        client, "/ui/offers", {**NEW_OFFER, "pcf_unit": "kgCO2/furlong"}, page="/ui/offers/new"
    )
    assert response.status_code == 422
    assert 'data-testid="form-error"' in response.text and "Not saved." in response.text
    assert "pcf_unit" in response.text and 'aria-invalid="true"' in response.text
    assert 'value="Low-carbon rebar HRB400E"' in response.text
    assert 'value="kgCO2/furlong"' in response.text
    assert "Low-carbon rebar" not in client.get("/ui/offers").text


def test_a_vendor_edits_its_offer(client: TestClient, world: World) -> None:
    sign_in(client, world.member_vendor.key)
    offer = world.offers["draft"]
    form = client.get(f"/ui/offers/{offer.id}/edit")
    assert form.status_code == 200 and 'value="Offer m-draft"' in form.text
    changed = {**NEW_OFFER, "title": "Green rebar, renamed", "pcf_value": "450", "pcf_unit": "kgCO2e/t"}
    response = post_form(
        client, f"/ui/offers/{offer.id}", changed, page=f"/ui/offers/{offer.id}/edit", follow_redirects=False
    )
    assert response.status_code == 303
    detail = client.get(response.headers["location"])
    assert "Your changes were saved." in detail.text
    assert "Green rebar, renamed" in detail.text and "450 kgCO2e/t" in detail.text
    # A footprint in another unit family: the declared unit left as it was follows the new unit.
    per_kwh = {**changed, "pcf_value": "11", "pcf_unit": "gCO2e/kWh", "declared_unit": "t"}
    moved = post_form(client, f"/ui/offers/{offer.id}", per_kwh, page=f"/ui/offers/{offer.id}/edit")
    assert moved.status_code == 200 and "11 gCO2e/kWh" in moved.text
    emptied = post_form(client, f"/ui/offers/{offer.id}", {**changed, "title": ""}, page=form.url.path)
    assert emptied.status_code == 422 and 'id="e-title"' in emptied.text


def test_publish_then_archive_changes_the_status(client: TestClient, world: World) -> None:
    sign_in(client, world.member_vendor.key)
    offer_path = f"/ui/offers/{world.offers['draft'].id}"
    published = post_form(client, f"{offer_path}/publish", {"next": offer_path}, page=offer_path)
    assert published.status_code == 200 and "The offer is published" in published.text
    assert 'class="badge status-published"' in published.text
    listing = client.get("/ui/offers")
    row = listing.text.split(f'data-offer-id="{world.offers["draft"].id}"')[1].split("</tr>")[0]
    assert 'data-testid="archive"' in row and "data-confirm=" in row and 'data-testid="publish"' not in row
    archived = post_form(client, f"{offer_path}/archive", {"next": "/ui/offers"}, page="/ui/offers")
    assert archived.url.path == "/ui/offers" and "The offer is archived" in archived.text
    assert rows(client.get("/ui/offers?status=archived").text) == [str(world.offers["draft"].id)]


def test_another_vendor_cannot_edit_an_offer(client: TestClient, world: World) -> None:
    sign_in(client, world.other_vendor.key)
    public = world.offers["public"]
    assert client.get(f"/ui/offers/{world.offers['draft'].id}/edit").status_code == 404
    refused = client.get(f"/ui/offers/{public.id}/edit")
    assert refused.status_code == 403 and "Not allowed for your account" in refused.text
    page = f"/ui/offers/{public.id}"
    assert 'data-testid="edit-offer"' not in client.get(page).text
    change = post_form(client, page, {**NEW_OFFER, "title": "Hijacked"}, page=page)
    assert change.status_code == 403
    archive = post_form(client, f"{page}/archive", {}, page=page)
    assert archive.status_code == 403
    assert "Hijacked" not in client.get(page).text
    assert 'data-testid="offer-status">published<' in client.get(page).text


def test_a_buyer_cannot_open_the_vendor_pages(client: TestClient, world: World) -> None:
    sign_in(client, world.buyer.key)
    assert client.get("/ui/offers").status_code == 403


def test_the_offer_page_shows_the_open_needs_it_fits(
    client: TestClient, world: World, session: Session
) -> None:
    offer = make_offer(
        session,
        owner=world.member_vendor.organisation,
        external_id="rebar",
        title="Low-carbon rebar HRB400E",
        description="Low-carbon steel rebar for rail and bridge construction, electric arc furnace",
        pcf_value=0.6,
        pcf_unit="tCO2e/t",
    )
    make_need(
        session,
        owner=world.buyer.organisation,
        external_id="rail-rebar",
        text="We need low-carbon steel rebar for rail track construction, below 0.8 tCO2e/t",
        max_pcf=800,
        max_pcf_unit="kgCO2e/t",
        region_preference="Jiangsu",
    )
    session.commit()
    sign_in(client, world.member_vendor.key)
    page = client.get(f"/ui/offers/{offer.id}")
    assert page.status_code == 200
    assert 'data-testid="need"' in page.text
    assert "We need low-carbon steel rebar for rail track construction" in page.text
    assert "Rail Buyer" in page.text
    assert "footprint ≤ 800 kgCO2e/t" in page.text
    assert "prefers Jiangsu" in page.text
    assert 'data-testid="reasons"' in page.text and 'data-testid="score-parts">score ' in page.text
    # In Chinese the reasons are Chinese too, not the API's English sentences.
    client.cookies.set("mm_lang", "zh")
    chinese = client.get(f"/ui/offers/{offer.id}").text
    reasons = chinese[chinese.index('data-testid="reasons"') :].split("</ul>")[0]
    assert "得分" in reasons and "契合度" in reasons and "0.6 tCO2e/t = 600 kgCO2e/t" in reasons
    assert "relevance" not in reasons and "against a ceiling" not in reasons
    client.cookies.set("mm_lang", "en")
    draft = client.get(f"/ui/offers/{world.offers['draft'].id}")
    assert 'data-testid="no-match"' in draft.text and "Only published offers are matched" in draft.text


def test_an_upload_imports_the_good_lines_and_reports_the_bad_one(client: TestClient, world: World) -> None:
    sign_in(client, world.other_vendor.key)
    line = {
        "supplier": "Outsider Steel", "kind": "product", "category": "steel",
        "pcf_value": 0.7, "pcf_unit": "tCO2e/t", "pcf_verified": True,
    }  # fmt: skip
    lines = [
        {**line, "id": "up-1", "title": "Uploaded rebar one"},
        {**line, "id": "up-2", "title": "Uploaded rebar two", "pcf_unit": "kgCO2/furlong"},
        {**line, "id": "up-3", "title": "Uploaded rebar three"},
    ]
    body = "\n".join(json.dumps(item) for item in lines).encode()
    token = csrf_token(client, "/ui/offers/upload")
    response = client.post(
        "/ui/offers/upload",
        data={"csrf_token": token},
        files={"file": ("offers.jsonl", body, "application/x-ndjson")},
    )
    assert response.status_code == 200
    assert re.search(r'data-testid="created">2<', response.text)
    assert re.search(r'data-testid="rejected">1<', response.text)
    assert 'data-testid="rejected-line" data-line="2"' in response.text
    assert "up-2" in response.text and "furlong" in response.text
    listing = client.get("/ui/offers").text
    assert "Uploaded rebar one" in listing and "Uploaded rebar three" in listing
    assert "Uploaded rebar two" not in listing
    again = client.post(
        "/ui/offers/upload",
        data={"csrf_token": token},
        files={"file": ("offers.jsonl", body, "application/x-ndjson")},
    )
    assert re.search(r'data-testid="unchanged">2<', again.text)


def test_an_upload_over_the_size_limit_is_refused(
    client: TestClient, world: World, settings: Settings
) -> None:
    settings.max_import_bytes = 100
    sign_in(client, world.other_vendor.key)
    token = csrf_token(client, "/ui/offers/upload")
    response = client.post(
        "/ui/offers/upload",
        data={"csrf_token": token},
        files={"file": ("big.jsonl", b"x" * 101, "text/plain")},
    )
    assert response.status_code == 413 and "larger than the limit of 100 bytes" in response.text
    # A body declared far too large is refused before it is read.
    huge = client.post(
        "/ui/offers/upload",
        data={"csrf_token": token},
        files={"file": ("big.jsonl", b"x" * 100_000, "text/plain")},
    )
    assert huge.status_code == 413 and "The file is too large" in huge.text
    missing = client.post("/ui/offers/upload", data={"csrf_token": token}, files={"file": ("", b"", "")})
    assert missing.status_code == 422 and "Choose a file" in missing.text


def test_the_operator_may_view_every_vendors_offers(client: TestClient, world: World) -> None:
    sign_in(client, world.operator.key)
    listing = client.get("/ui/offers")
    assert listing.status_code == 200
    assert "Outsider Steel" in listing.text and "Member Steel" in listing.text


def test_the_pages_speak_chinese(client: TestClient, world: World) -> None:
    sign_in(client, world.member_vendor.key)
    chinese = {"Accept-Language": "zh-CN,zh;q=0.9"}
    listing = client.get("/ui/offers", headers=chinese)
    assert "我的供给" in listing.text and "新建供给" in listing.text and "草稿" in listing.text
    form = client.get("/ui/offers/new", headers=chinese)
    assert "碳足迹单位" in form.text and "钢铁" in form.text
    upload = client.get("/ui/offers/upload", headers=chinese)
    assert "批量上传供给" in upload.text


def test_a_csv_upload_is_read_as_csv_and_a_file_that_is_not_utf8_is_refused(
    client: TestClient, world: World
) -> None:
    sign_in(client, world.other_vendor.key)
    token = csrf_token(client, "/ui/offers/upload")
    csv_body = (
        b"id,supplier,title,kind,category,pcf_value,pcf_unit,pcf_verified,certifications\n"
        b"c-1,Outsider Steel,CSV aluminium billet,product,aluminium,4.1,kgCO2e/kg,true,ASI;EPD\n"
    )
    response = client.post(
        "/ui/offers/upload", data={"csrf_token": token}, files={"file": ("offers.csv", csv_body, "text/csv")}
    )
    assert (
        re.search(r'data-testid="created">1<', response.text)
        and "Every record was imported." in response.text
    )
    latin1 = client.post(
        "/ui/offers/upload",
        data={"csrf_token": token},
        files={"file": ("offers.jsonl", '{"title": "Stahl für Brücken"}'.encode("latin-1"), "text/plain")},
    )
    assert latin1.status_code == 400 and "The file could not be read" in latin1.text


def test_an_upload_without_a_declared_length_is_refused_before_it_is_read(
    client: TestClient, world: World
) -> None:
    sign_in(client, world.member_vendor.key)

    def chunks() -> Iterator[bytes]:
        yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n'
        yield b"{}\r\n--x--\r\n"

    response = client.post(
        "/ui/offers/upload", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert response.status_code == 411


def test_the_operator_lists_an_offer_for_a_supplier_it_picks(client: TestClient, world: World) -> None:
    sign_in(client, world.operator.key)
    form = client.get("/ui/offers/new").text
    picker = form[form.index('id="f-owner_id"') :].split("</select>")[0]
    assert "Member Steel" in picker and world.buyer.organisation.name not in picker  # suppliers only
    unnamed = post_form(client, "/ui/offers", NEW_OFFER, page="/ui/offers/new")
    assert unnamed.status_code == 422 and 'id="f-owner_id"' in unnamed.text  # nothing saved, asked again
    page = create(client, owner_id=str(world.member_vendor.id))
    offer = client.get(page)
    assert "Low-carbon rebar HRB400E" in offer.text and "Member Steel" in offer.text
    sign_in(client, world.member_vendor.key)
    assert page.rsplit("/", 1)[1] in rows(client.get("/ui/offers").text)  # the supplier's own now
    assert 'id="f-owner_id"' not in client.get("/ui/offers/new").text  # a vendor lists its own


def test_the_upload_example_writes_a_chinese_supplier_in_chinese(client: TestClient, market: Market) -> None:
    sign_in(client, market.zh_steel.key)
    page = client.get("/ui/offers/upload").text
    example = page.split('<pre class="report"', 1)[1].split("</pre>", 1)[0]
    assert '"supplier": "江苏短流程钢铁有限公司"' in example
    assert "\\u" not in example
