"""Signing in and out of the pages, CSRF, the language switch and error pages."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import World
from tests.web_support import csrf_token, post_form, sign_in


def test_pages_ask_to_sign_in_and_come_back_after_it(client: TestClient, world: World) -> None:
    first = client.get("/ui/needs?page=2", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/ui/sign-in?next=/ui/needs%3Fpage%3D2"
    token = csrf_token(client, first.headers["location"])
    response = client.post(
        "/ui/sign-in",
        data={"csrf_token": token, "key": world.buyer.key, "next": "/ui/needs?page=2"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/needs?page=2"
    cookie = response.headers["set-cookie"]
    assert "mm_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_each_role_lands_on_its_own_work(client: TestClient, world: World) -> None:
    for party, home in (
        (world.buyer, "/ui/needs"),
        (world.member_vendor, "/ui/offers"),
        (world.operator, "/ui/organisations"),
    ):
        client.cookies.clear()
        assert sign_in(client, party.key).headers["location"] == home


def test_a_wrong_key_is_refused_on_the_form_and_sets_no_session(client: TestClient, world: World) -> None:
    response = sign_in(client, "mm_000000000000_nope")
    assert response.status_code == 401
    assert "invalid API key" in response.text
    assert "mm_session" not in response.headers.get("set-cookie", "")


def test_a_form_without_the_csrf_token_is_refused(client: TestClient, world: World) -> None:
    csrf_token(client)
    response = client.post("/ui/sign-in", data={"key": world.buyer.key})
    assert response.status_code == 400
    assert "form expired" in response.text
    forged = client.post("/ui/sign-in", data={"key": world.buyer.key, "csrf_token": "abc.def"})
    assert forged.status_code == 400


def test_an_open_redirect_through_sign_in_is_refused(client: TestClient, world: World) -> None:
    token = csrf_token(client)
    response = client.post(
        "/ui/sign-in",
        data={"csrf_token": token, "key": world.buyer.key, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/ui/needs"


def test_signing_out_ends_the_session(client: TestClient, world: World) -> None:
    sign_in(client, world.buyer.key)
    assert (
        post_form(client, "/ui/sign-out", {}, page="/ui/sign-in", follow_redirects=False).status_code == 303
    )
    assert client.get("/ui/needs", follow_redirects=False).status_code == 303


def test_a_revoked_key_ends_its_session(client: TestClient, world: World) -> None:
    sign_in(client, world.buyer.key)
    key_id = client.get(
        "/organisations/me/keys" if False else f"/organisations/{world.buyer.id}/keys",
        headers=world.operator.headers,
    ).json()[0]["id"]
    client.delete(f"/organisations/{world.buyer.id}/keys/{key_id}", headers=world.operator.headers)
    assert client.get("/ui/needs", follow_redirects=False).status_code == 303


def test_language_follows_the_browser_then_the_users_choice(client: TestClient, world: World) -> None:
    chinese = client.get("/ui/sign-in", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert '<html lang="zh-CN">' in chinese.text and "机构密钥" in chinese.text
    english = client.get("/ui/sign-in", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.text and "Organisation key" in english.text
    post_form(client, "/ui/language", {"language": "zh", "next": "/ui/sign-in"}, page="/ui/sign-in")
    chosen = client.get("/ui/sign-in", headers={"Accept-Language": "en"})
    assert "机构密钥" in chosen.text


def test_errors_under_ui_are_pages_and_the_api_keeps_problem_json(client: TestClient, world: World) -> None:
    sign_in(client, world.buyer.key)
    page = client.get("/ui/needs/999999")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    api = client.get("/needs/999999", headers=world.buyer.headers)
    assert api.headers["content-type"] == "application/problem+json"


def test_every_message_is_written_in_both_languages() -> None:
    from matchmaker.web.i18n import LANGUAGES, catalogue

    missing = [key for key, texts in catalogue().items() if any(not texts.get(lang) for lang in LANGUAGES)]
    assert missing == []


def test_a_forged_or_garbled_session_cookie_is_not_a_session(client: TestClient, world: World) -> None:
    sign_in(client, world.buyer.key)
    real = client.cookies["mm_session"]
    forged = ("A" if real[0] != "A" else "B") + real[1:]  # the shape of a session id, never issued
    for cookie in (forged, "garbage.value", real + "x", ""):
        client.cookies.clear()
        client.cookies.set("mm_session", cookie)
        assert client.get("/ui/needs", follow_redirects=False).status_code == 303, cookie
    client.cookies.clear()
    non_ascii = client.get("/ui/needs", headers={"Cookie": b"mm_session=" + real[:-1].encode() + b"\xe9"})
    assert non_ascii.status_code == 200 and "/ui/sign-in" in str(non_ascii.url)


def test_the_unit_check_accepts_what_the_api_converts(client: TestClient) -> None:
    assert client.get("/ui/units/check", params={"unit": "tCO2e/t"}).json() == {
        "ok": True, "unit": "tCO2e/t", "family": "mass",
    }  # fmt: skip
    refused = client.get("/ui/units/check", params={"unit": "kgCO2/furlong"}).json()
    assert refused["ok"] is False and "furlong" in refused["message"]
    chinese = client.get("/ui/units/check", params={"unit": "tCO2e/t"}, headers={"Accept-Language": "zh-CN"})
    assert chinese.json()["family"] == "质量"  # named in the page's language, not "mass"


def test_a_malformed_query_under_ui_is_an_html_page(client: TestClient, world: World) -> None:
    sign_in(client, world.buyer.key)
    page = client.get("/ui/needs?page=abc")
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert "page" in page.text
