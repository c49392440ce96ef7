"""An organisation's registration and admission: the unified social credit code (checksum verified), the
business licence as a stored document, the contact, and a rejection whose reason the applicant reads and
answers by correcting its registration. Through the API and the pages."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from matchmaker.config import Settings
from tests.factories import World
from tests.web_support import post_form, sign_in

# A code whose 18th character is the check character GB 32100-2015 computes; the same with another
# check character is refused.
VALID_CODE = "91310000MA1FL4CT3U"
WRONG_CHECK = "91310000MA1FL4CT3A"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


def test_a_credit_code_is_kept_only_with_its_right_check_character(client: TestClient, world: World) -> None:
    url = f"/organisations/{world.pending_vendor.id}"
    refused = client.patch(url, json={"credit_code": WRONG_CHECK}, headers=world.operator.headers)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["errors"][0]["field"] == "credit_code"
    assert "not a valid unified social credit code" in refused.json()["errors"][0]["message"]
    # Written as people copy it from a licence: lower case, spaced.
    saved = client.patch(
        url,
        json={
            "credit_code": " 91310000ma1fl4ct3u ",
            "contact_name": "王芳",
            "contact_phone": "+86 21 6888 0000",
        },
        headers=world.operator.headers,
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["credit_code"] == VALID_CODE
    assert saved.json()["contact_name"] == "王芳"
    # One legal entity, one organisation.
    taken = client.patch(
        f"/organisations/{world.other_vendor.id}",
        json={"credit_code": VALID_CODE},
        headers=world.operator.headers,
    )
    assert taken.status_code == 409
    assert "already registered" in taken.json()["detail"]
    for bad in (
        {"contact_email": "not an address"},
        {"contact_phone": "call me"},
        {"credit_code": "1" * 300},
    ):
        assert client.patch(url, json=bad, headers=world.operator.headers).status_code == 422, bad


def test_a_rejection_needs_a_reason_and_the_applicant_reads_it(client: TestClient, world: World) -> None:
    url = f"/organisations/{world.pending_vendor.id}"
    no_reason = client.patch(url, json={"admission_status": "rejected"}, headers=world.operator.headers)
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "admission_reason"
    reason = "营业执照已过期，请上传有效的营业执照。"
    rejected = client.patch(
        url, json={"admission_status": "rejected", "admission_reason": reason}, headers=world.operator.headers
    )
    assert rejected.status_code == 200
    mine = client.get("/organisations/me", headers=world.pending_vendor.headers).json()
    assert (mine["admission_status"], mine["admission_reason"]) == ("rejected", reason)
    # A rejected supplier's offers stay out of sight, as a pending one's do.
    assert (
        client.get(f"/organisations/{world.pending_vendor.id}", headers=world.buyer.headers).status_code
        == 404
    )


def test_the_applicant_corrects_its_registration_and_is_reviewed_again(
    client: TestClient, world: World
) -> None:
    url = f"/organisations/{world.pending_vendor.id}"
    client.patch(
        url,
        json={"admission_status": "rejected", "admission_reason": "no code"},
        headers=world.operator.headers,
    )
    applicant = world.pending_vendor.headers
    # It may not decide its own admission, nor rename itself, nor touch another organisation.
    assert client.patch(url, json={"admission_status": "admitted"}, headers=applicant).status_code == 403
    assert client.patch(url, json={"name": "Renamed"}, headers=applicant).status_code == 403
    other = f"/organisations/{world.other_vendor.id}"
    assert client.patch(other, json={"contact_name": "x"}, headers=applicant).status_code == 404
    # Saving nothing new is no correction: it stays rejected.
    assert client.patch(url, json={}, headers=applicant).json()["admission_status"] == "rejected"
    corrected = client.patch(url, json={"credit_code": VALID_CODE}, headers=applicant)
    assert corrected.status_code == 200
    assert corrected.json()["admission_status"] == "pending"
    # The reason stays while it is reviewed again: both sides read what was asked.
    assert corrected.json()["admission_reason"] == "no code"
    # Admitting clears any reason; clearing a contact with an empty value leaves none.
    client.patch(url, json={"contact_name": "李雷"}, headers=applicant)
    admitted = client.patch(url, json={"admission_status": "admitted"}, headers=world.operator.headers).json()
    assert admitted["admission_status"] == "admitted" and admitted["admission_reason"] is None
    assert client.patch(url, json={"contact_name": ""}, headers=applicant).json()["contact_name"] is None


def test_the_licence_is_kept_as_uploaded_and_shown_only_to_its_organisation_and_the_operator(
    client: TestClient, world: World, settings: Settings
) -> None:
    url = f"/organisations/{world.pending_vendor.id}/licence"
    uploaded = client.put(
        f"{url}?filename=营业执照.pdf",
        content=PDF,
        headers={**world.pending_vendor.headers, "Content-Type": "application/pdf"},
    )
    assert uploaded.status_code == 200, uploaded.text
    licence = uploaded.json()["licence"]
    assert (licence["filename"], licence["media_type"], licence["size"]) == (
        "营业执照.pdf",
        "application/pdf",
        len(PDF),
    )
    for reader in (world.pending_vendor, world.operator):
        served = client.get(url, headers=reader.headers)
        assert served.status_code == 200
        assert served.content == PDF
        assert served.headers["content-type"] == "application/pdf"
        assert served.headers["content-disposition"].startswith("attachment;")  # a PDF may carry scripts
        assert served.headers["x-content-type-options"] == "nosniff"
    for stranger in (world.other_vendor, world.buyer):
        assert client.get(url, headers=stranger.headers).status_code == 404
        assert client.put(url, content=PDF, headers=stranger.headers).status_code == 404
    # Kept under the data directory by its content's hash.
    stored = list((settings.data_dir / "documents").rglob(licence["sha256"]))
    assert len(stored) == 1 and stored[0].read_bytes() == PDF
    # A new licence replaces the old one.
    replaced = client.put(f"{url}?filename=scan.html", content=PNG, headers=world.operator.headers).json()
    assert replaced["licence"]["media_type"] == "image/png"
    assert replaced["licence"]["filename"] == "scan.html.png"  # named by what it is
    image = client.get(url, headers=world.pending_vendor.headers)
    assert image.content == PNG
    assert image.headers["content-disposition"].startswith("inline;")
    assert image.headers["content-security-policy"] == "sandbox"


def test_a_licence_that_is_not_a_pdf_or_an_image_or_too_large_is_refused(
    client: TestClient, world: World, settings: Settings
) -> None:
    url = f"/organisations/{world.pending_vendor.id}/licence"
    headers = {**world.pending_vendor.headers, "Content-Type": "application/pdf"}
    script = client.put(
        f"{url}?filename=licence.pdf", content=b"<html><script>alert(1)</script>", headers=headers
    )
    assert script.status_code == 422
    assert "must be a PDF, PNG, JPEG or WebP file" in script.json()["detail"]
    assert client.put(url, content=b"", headers=headers).json()["detail"] == "the document is empty"
    too_large = client.put(url, content=PDF + b"0" * settings.max_document_bytes, headers=headers)
    assert too_large.status_code == 413
    assert too_large.headers["content-type"] == "application/problem+json"
    assert client.get(url, headers=world.pending_vendor.headers).status_code == 404
    assert not (settings.data_dir / "documents").exists() or not any(
        path.is_file() for path in (settings.data_dir / "documents").rglob("*")
    )


# The pages


def test_the_operator_rejects_on_the_page_and_the_applicant_sees_why_in_its_language(
    client: TestClient, world: World
) -> None:
    sign_in(client, world.operator.key)
    page_url = f"/ui/organisations/{world.pending_vendor.id}"
    listed = client.get("/ui/organisations?admission=pending").text
    assert f'href="{page_url}#reject"' in listed
    client.cookies.set("mm_lang", "zh")
    refused = post_form(client, f"{page_url}/admission", {"admission_status": "rejected"}, page=page_url)
    assert refused.status_code == 422
    assert "驳回时须填写申请方可据以修改的原因" in refused.text
    reason = "请补充统一社会信用代码并上传营业执照。"
    done = post_form(
        client,
        f"{page_url}/admission",
        {"admission_status": "rejected", "admission_reason": reason},
        page=page_url,
        follow_redirects=False,
    )
    assert done.status_code == 303
    shown = client.get(page_url).text
    assert "已驳回" in shown and reason in shown
    assert 'data-testid="reject"' not in shown  # no longer pending

    client.cookies.clear()
    client.cookies.set("mm_lang", "zh")
    sign_in(client, world.pending_vendor.key)
    offers = client.get("/ui/offers").text
    assert 'data-testid="admission-notice"' in offers
    assert "您的登记申请被驳回" in offers and reason in offers
    own = client.get("/ui/organisation").text
    assert reason in own and "已驳回" in own


def test_the_applicant_corrects_its_registration_on_its_page(client: TestClient, world: World) -> None:
    client.patch(
        f"/organisations/{world.pending_vendor.id}",
        json={"admission_status": "rejected", "admission_reason": "missing code"},
        headers=world.operator.headers,
    )
    client.cookies.set("mm_lang", "zh")
    sign_in(client, world.pending_vendor.key)
    wrong = post_form(
        client, "/ui/organisation/registration", {"credit_code": WRONG_CHECK}, page="/ui/organisation"
    )
    assert wrong.status_code == 422
    assert "不是有效的统一社会信用代码" in wrong.text
    assert f'value="{WRONG_CHECK}"' in wrong.text  # what was typed stays to be corrected
    saved = post_form(
        client,
        "/ui/organisation/registration",
        {"credit_code": VALID_CODE, "contact_name": "王芳", "contact_email": "wang@example.cn"},
        page="/ui/organisation",
    )
    assert saved.status_code == 200
    assert "登记信息已保存" in saved.text and VALID_CODE in saved.text
    assert "待审核" in saved.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', saved.text)
    assert token is not None
    uploaded = client.post(
        "/ui/organisation/licence",
        data={"csrf_token": token.group(1)},
        files={"licence": ("执照.pdf", PDF, "application/pdf")},
    )
    assert uploaded.status_code == 200
    assert 'data-testid="licence-link"' in uploaded.text and "执照.pdf" in uploaded.text
    assert client.get("/ui/organisation/licence").content == PDF
    not_a_document = client.post(
        "/ui/organisation/licence",
        data={"csrf_token": token.group(1)},
        files={"licence": ("执照.pdf", b"just text", "application/pdf")},
    )
    assert not_a_document.status_code == 422
    assert "文件须为 PDF、PNG、JPEG 或 WebP 格式" in not_a_document.text


def test_an_alliance_is_titled_once(client: TestClient, world: World, session: Session) -> None:
    alliance = world.alliance
    alliance.name = "CN100 chain-leader alliance (链主企业联盟)"  # the demo's, which says its code
    session.commit()
    sign_in(client, world.operator.key)
    page = client.get(f"/ui/alliances/{alliance.code}").text
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    assert heading is not None
    assert heading.group(1).count(alliance.code) == 1, heading.group(1)
    organisation = client.get(f"/ui/organisations/{world.member_vendor.id}").text
    words = re.sub(r"<[^>]+>", " ", organisation)  # what the reader sees, not the links' addresses
    assert words.count("CN100") == 1


def test_admission_moves_only_where_it_may(client: TestClient, world: World) -> None:
    operator = world.operator.headers
    own = client.patch(
        f"/organisations/{world.operator.id}", json={"admission_status": "suspended"}, headers=operator
    )
    assert own.status_code == 403  # the operator would lock itself out
    admitted = f"/organisations/{world.member_vendor.id}"
    # An admitted organisation is suspended, not rejected; a reason goes with a status that has one.
    assert (
        client.patch(
            admitted, json={"admission_status": "rejected", "admission_reason": "x"}, headers=operator
        ).status_code
        == 409
    )
    assert client.patch(admitted, json={"admission_reason": "x"}, headers=operator).status_code == 422
    suspended = client.patch(
        admitted, json={"admission_status": "suspended", "admission_reason": "证照造假"}, headers=operator
    ).json()
    assert (suspended["admission_status"], suspended["admission_reason"]) == ("suspended", "证照造假")
    back = client.patch(admitted, json={"admission_status": "admitted"}, headers=operator).json()
    assert (back["admission_status"], back["admission_reason"]) == ("admitted", None)
    # A rejected applicant may still be locked out.
    pending = f"/organisations/{world.pending_vendor.id}"
    client.patch(pending, json={"admission_status": "rejected", "admission_reason": "x"}, headers=operator)
    assert client.patch(pending, json={"admission_status": "suspended"}, headers=operator).status_code == 200


def test_an_admitted_organisation_changes_its_contact_but_not_what_it_was_admitted_on(
    client: TestClient, world: World
) -> None:
    url = f"/organisations/{world.member_vendor.id}"
    mine = world.member_vendor.headers
    assert client.patch(url, json={"contact_phone": "021-6888 0000"}, headers=mine).status_code == 200
    assert client.patch(url, json={"credit_code": VALID_CODE}, headers=mine).status_code == 403
    assert client.put(f"{url}/licence", content=PDF, headers=mine).status_code == 403
    # The operator may, and a code held by another is refused without naming who holds it.
    assert (
        client.patch(url, json={"credit_code": VALID_CODE}, headers=world.operator.headers).status_code == 200
    )
    pending = f"/organisations/{world.pending_vendor.id}"
    taken = client.patch(pending, json={"credit_code": VALID_CODE}, headers=world.pending_vendor.headers)
    assert taken.status_code == 409
    assert world.member_vendor.organisation.name not in taken.text
