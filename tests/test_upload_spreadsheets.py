"""Bulk upload from a spreadsheet: the template to start from (CSV and Excel), Excel workbooks accepted by the
API and the page, the values the columns accept shown before upload, drafts on request, readable own ids."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.db.models import Offer
from matchmaker.imports import readers
from matchmaker.imports.template import COLUMNS
from matchmaker.spreadsheets import XLSX_MEDIA_TYPE
from tests.factories import World
from tests.web_support import csrf_token, sign_in

ROW = {
    "kind": "product", "category": "steel", "region": "江苏", "pcf_value": 0.7, "pcf_unit": "tCO2e/t",
    "pcf_verified": True, "supplier": "Outsider Steel",
}  # fmt: skip


def workbook_of(rows: list[dict[str, object]]) -> bytes:
    """A workbook whose first sheet has a header row and the rows, as a person would type them."""
    columns = list(dict.fromkeys(column for row in rows for column in row))
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(columns)
    sheet.append([])  # an empty row: skipped, and the numbering stays the sheet's
    for row in rows:
        sheet.append([row.get(column) for column in columns])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_the_api_imports_a_workbook_and_names_a_bad_row_by_its_row_number(
    client: TestClient, world: World, session: Session
) -> None:
    body = workbook_of(
        [
            {**ROW, "id": "x-1", "title": "Sheet rebar one"},
            {**ROW, "id": "x-2", "title": "Sheet rebar two", "pcf_value": "abc"},
            {**ROW, "id": "x-3", "title": "Sheet rebar three", "certifications": "EPD;ISO 14001"},
        ]
    )
    response = client.post(
        "/imports/offers", content=body, headers={**world.operator.headers, "Content-Type": XLSX_MEDIA_TYPE}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["failed"]) == (2, 1)
    assert report["errors"][0]["line"] == 4  # the header is row 1, then an empty row
    assert "abc" in report["errors"][0]["message"]
    third = session.scalars(select(Offer).where(Offer.external_id == "x-3")).one()
    assert (third.certifications, third.region, third.pcf_verified) == (["EPD", "ISO 14001"], "CN-JS", True)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"this is not a workbook", "not an Excel workbook"),
        (b"PK\x03\x04 broken zip", "not an Excel workbook"),
    ],
)
def test_a_file_that_is_not_a_workbook_is_a_400_problem(
    client: TestClient, world: World, body: bytes, code: str
) -> None:
    response = client.post(
        "/imports/offers", content=body, headers={**world.operator.headers, "Content-Type": XLSX_MEDIA_TYPE}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert code in response.json()["detail"]


def test_a_workbook_that_would_unpack_to_too_much_is_refused_before_it_is_opened(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "XLSX_MOST_UNPACKED_BYTES", 1_000_000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"\0" * 2_000_000)  # 2 MB of nothing, packed into 2 KB
    response = client.post(
        "/imports/offers",
        content=buffer.getvalue(),
        headers={**world.operator.headers, "Content-Type": XLSX_MEDIA_TYPE},
    )
    assert response.status_code == 400 and "unpacks to 2000000 bytes" in response.json()["detail"]


@pytest.mark.parametrize("extension", ["xlsx", "csv"])
def test_the_template_names_the_columns_and_uploads_back_as_it_is(
    client: TestClient, world: World, session: Session, extension: str
) -> None:
    sign_in(client, world.other_vendor.key)
    downloaded = client.get(f"/ui/offers/upload/template.{extension}")
    assert downloaded.status_code == 200
    assert f'filename="offers-template.{extension}"' in downloaded.headers["content-disposition"]
    if extension == "xlsx":
        book = load_workbook(io.BytesIO(downloaded.content), read_only=True)
        header, example = list(book.worksheets[0].iter_rows(values_only=True))[:2]
        assert header == COLUMNS and "Outsider Steel" in example
        accepted = [row[1] for row in book["accepted values"].iter_rows(values_only=True)]
        assert "category" in accepted[0:1] and "steel" in accepted
    else:
        assert downloaded.content.decode("utf-8-sig").splitlines()[0] == ",".join(COLUMNS)
    uploaded = client.post(
        "/ui/offers/upload",
        data={"csrf_token": csrf_token(client, "/ui/offers/upload")},
        files={"file": (f"mine.{extension}", downloaded.content, downloaded.headers["content-type"])},
    )
    assert re.search(r'data-testid="created">1<', uploaded.text), uploaded.text
    offer = session.scalars(select(Offer).where(Offer.external_id == "rebar-01")).one()
    assert (offer.region, offer.status) == ("CN-JS", "published")


def test_the_page_says_what_the_columns_accept_and_that_an_upload_publishes_unless_drafts_are_asked(
    client: TestClient, world: World, session: Session
) -> None:
    sign_in(client, world.other_vendor.key)
    page = client.get("/ui/offers/upload", headers={"Accept-Language": "zh-CN"}).text
    accepted = page.split('data-testid="accepted-values"', 1)[1].split("</details>", 1)[0]
    assert "钢铁 <code>steel</code>" in accepted and "<code>kWh</code>" in accepted
    assert "不勾选时，文件中的每条供给导入后立即发布" in page

    body = workbook_of([{**ROW, "id": "d-1", "title": "Drafted rebar", "status": "published"}])
    uploaded = client.post(
        "/ui/offers/upload",
        data={"csrf_token": csrf_token(client, "/ui/offers/upload"), "as_drafts": "on"},
        files={"file": ("offers.xlsx", body, XLSX_MEDIA_TYPE)},
    )
    assert re.search(r'data-testid="created">1<', uploaded.text), uploaded.text
    drafted = session.scalars(select(Offer).where(Offer.external_id == "d-1")).one()
    assert drafted.status == "draft"  # asked for drafts: the file's "published" is not taken


@pytest.mark.parametrize(
    ("title", "pattern"),
    [
        ("Low-carbon rebar HRB400E", r"low-carbon-rebar-hrb400e-[0-9a-f]{6}"),
        ("电炉短流程螺纹钢", r"offer-[0-9a-f]{6}"),
    ],
)
def test_an_offer_created_without_an_own_id_gets_one_a_person_can_read(
    client: TestClient, world: World, title: str, pattern: str
) -> None:
    created = client.post(
        "/offers",
        json={
            "title": title,
            "kind": "product",
            "category": "steel",
            "pcf_value": 0.6,
            "pcf_unit": "tCO2e/t",
        },
        headers=world.other_vendor.headers,
    )
    assert created.status_code == 201, created.text
    assert re.fullmatch(pattern, created.json()["external_id"])


def _with_sheet_xml(body: bytes, change: Callable[[str], str]) -> bytes:
    """The workbook with its first sheet's XML changed, as another tool might have written it."""
    source = zipfile.ZipFile(io.BytesIO(body))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = change(data.decode()).encode()
            target.writestr(item, data)
    return out.getvalue()


def test_a_sheet_that_declares_a_wrong_size_is_read_by_its_cells(client: TestClient, world: World) -> None:
    """A sheet may declare A1:XFD1048576 (read as that many empty cells, minutes of work) or a size too
    small (rows dropped): the cells are read, whatever it declares."""
    body = workbook_of([{**ROW, "id": f"s-{n}", "title": f"Sheet rebar {n}"} for n in range(3)])
    for declared in ("A1:XFD1048576", "A1:B2"):
        changed = _with_sheet_xml(
            body,
            lambda xml, size=declared: re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="{size}"', xml),
        )
        report = client.post(
            "/imports/offers",
            content=changed,
            headers={**world.operator.headers, "Content-Type": XLSX_MEDIA_TYPE},
        ).json()
        assert report["total"] == 3, (declared, report)


def test_a_sheet_damaged_part_way_is_reported_on_its_row_and_what_came_before_imports(
    client: TestClient, world: World
) -> None:
    body = workbook_of([{**ROW, "id": f"d-{n}", "title": f"Damaged rebar {n}"} for n in range(3)])
    broken = _with_sheet_xml(body, lambda xml: xml.replace('<row r="5"', '<row r="5"><broken', 1))
    response = client.post(
        "/imports/offers", content=broken, headers={**world.operator.headers, "Content-Type": XLSX_MEDIA_TYPE}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["created"] >= 1 and report["failed"] == 1
    assert "cannot be read from row" in report["errors"][0]["message"]


def test_a_workbook_with_a_header_and_no_rows_is_refused_as_an_empty_file_is(
    client: TestClient, world: World
) -> None:
    book = Workbook()
    assert book.active is not None
    book.active.append(list(COLUMNS))
    buffer = io.BytesIO()
    book.save(buffer)
    header_only = buffer.getvalue()
    response = client.post(
        "/imports/offers",
        content=header_only,
        headers={**world.operator.headers, "Content-Type": XLSX_MEDIA_TYPE},
    )
    assert response.status_code == 422 and "empty" in response.json()["detail"]
