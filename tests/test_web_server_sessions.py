"""Web sessions held on the server: sign-out, revocation, suspension and expiry end them, whatever copy of
the cookie is still around; a form's CSRF token is bound to its session."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from matchmaker.db.base import utcnow
from matchmaker.db.models import WebSession
from tests.factories import World
from tests.web_support import csrf_token, post_form, sign_in

A_NEED = {"text": "low-carbon rebar for a metro line", "category": "steel"}


def signed_in(client: TestClient, key: str) -> str:
    """Sign in through the form; return the session cookie the browser now holds."""
    assert sign_in(client, key).status_code == 303
    cookie: str = client.cookies["mm_session"]
    return cookie


def browser(client: TestClient, session_cookie: str | None = None) -> TestClient:
    """Another browser on the same running app, holding only the cookie given (e.g. a copied one)."""
    other = TestClient(client.app)
    if session_cookie is not None:
        other.cookies.set("mm_session", session_cookie)
    return other


def is_signed_in(client: TestClient) -> bool:
    response = client.get("/ui/needs", follow_redirects=False)
    assert response.status_code in (200, 303), response.text
    if response.status_code == 303:
        assert response.headers["location"].startswith("/ui/sign-in")
    return response.status_code == 200


def stored_sessions(session: Session) -> list[WebSession]:
    session.expire_all()
    return list(session.scalars(select(WebSession)))


def test_a_cookie_copied_before_sign_out_is_refused_after_it(client: TestClient, world: World) -> None:
    copied = signed_in(client, world.buyer.key)
    thief = browser(client, copied)
    assert is_signed_in(thief)
    token = csrf_token(thief, "/ui/needs/new")
    signed_out = post_form(client, "/ui/sign-out", {}, page="/ui/needs", follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/ui/sign-in"
    assert not is_signed_in(thief)
    # Nor can the copy post a form, even with the token its pages carried before sign-out.
    refused = thief.post("/ui/needs", data={"csrf_token": token, **A_NEED}, follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"].startswith("/ui/sign-in")


def test_the_server_keeps_only_a_hash_of_the_session_id(
    client: TestClient, world: World, session: Session
) -> None:
    cookie = signed_in(client, world.buyer.key)
    (stored,) = stored_sessions(session)
    assert stored.id_hash == hashlib.sha256(cookie.encode()).hexdigest()
    assert stored.expires_at - stored.created_at == timedelta(hours=12)
    post_form(client, "/ui/sign-out", {}, page="/ui/needs")
    assert stored_sessions(session) == []


def test_signing_in_again_ends_the_previous_session(client: TestClient, world: World) -> None:
    first = signed_in(client, world.buyer.key)
    second = signed_in(client, world.buyer.key)
    assert first != second
    assert not is_signed_in(browser(client, first))
    assert is_signed_in(browser(client, second))


def test_revoking_the_key_ends_its_sessions(client: TestClient, world: World, session: Session) -> None:
    cookie = signed_in(client, world.buyer.key)
    keys = client.get(f"/organisations/{world.buyer.id}/keys", headers=world.operator.headers).json()
    revoked = client.delete(
        f"/organisations/{world.buyer.id}/keys/{keys[0]['id']}", headers=world.operator.headers
    )
    assert revoked.status_code == 204
    assert not is_signed_in(browser(client, cookie))
    assert stored_sessions(session) == []


def test_suspending_the_organisation_ends_its_sessions_for_good(client: TestClient, world: World) -> None:
    cookie = signed_in(client, world.buyer.key)
    other = signed_in(browser(client), world.other_buyer.key)
    path = f"/organisations/{world.buyer.id}"
    assert client.patch(
        path, json={"admission_status": "suspended"}, headers=world.operator.headers
    ).is_success
    assert not is_signed_in(browser(client, cookie))
    # Admitted again, the organisation signs in anew: the old session does not come back to life.
    assert client.patch(
        path, json={"admission_status": "admitted"}, headers=world.operator.headers
    ).is_success
    assert not is_signed_in(browser(client, cookie))
    assert is_signed_in(browser(client, other))  # another organisation's session is untouched


def test_an_expired_session_is_refused(client: TestClient, world: World, session: Session) -> None:
    cookie = signed_in(client, world.buyer.key)
    assert is_signed_in(browser(client, cookie))
    session.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert not is_signed_in(browser(client, cookie))
    # The key's next sign-in (in another browser) clears its expired sessions away.
    fresh = signed_in(browser(client), world.buyer.key)
    assert [row.id_hash for row in stored_sessions(session)] == [hashlib.sha256(fresh.encode()).hexdigest()]


def test_a_visit_is_noted_at_most_every_few_minutes(
    client: TestClient, world: World, session: Session
) -> None:
    signed_in(client, world.buyer.key)
    long_ago = utcnow() - timedelta(hours=1)
    session.execute(update(WebSession).values(last_seen_at=long_ago))
    session.commit()
    assert is_signed_in(client)
    (stored,) = stored_sessions(session)
    assert stored.last_seen_at > long_ago + timedelta(minutes=59)


def test_an_anonymous_csrf_pair_is_refused_on_a_signed_in_session(client: TestClient, world: World) -> None:
    # An attacker's own anonymous pair (the token and its signed cookie), planted in the victim's browser.
    attacker = browser(client)
    anonymous_token = csrf_token(attacker)
    anonymous_cookie = attacker.cookies["mm_csrf"]
    session_cookie = signed_in(client, world.buyer.key)
    client.cookies.clear()
    client.cookies.set("mm_session", session_cookie)
    client.cookies.set("mm_csrf", anonymous_cookie)
    posted = client.post("/ui/needs", data={"csrf_token": anonymous_token, **A_NEED}, follow_redirects=False)
    assert posted.status_code == 400 and "form expired" in posted.text
    sign_out = client.post("/ui/sign-out", data={"csrf_token": anonymous_token}, follow_redirects=False)
    assert sign_out.status_code == 400
    assert is_signed_in(client)
    # The page's own token works.
    created = post_form(client, "/ui/needs", A_NEED, page="/ui/needs/new", follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"].startswith("/ui/needs/")


def test_a_token_from_one_session_is_refused_in_another(client: TestClient, world: World) -> None:
    signed_in(client, world.buyer.key)
    token_a = csrf_token(client, "/ui/needs/new")
    victim = browser(client, signed_in(browser(client), world.buyer.key))
    victim.cookies.set("mm_csrf", client.cookies["mm_csrf"])  # session A's CSRF cookie, planted as well
    posted = victim.post("/ui/needs", data={"csrf_token": token_a, **A_NEED}, follow_redirects=False)
    assert posted.status_code == 400 and "form expired" in posted.text
    assert csrf_token(victim, "/ui/needs/new") != token_a


def test_non_ascii_tokens_and_cookies_are_refused_not_errors(client: TestClient, world: World) -> None:
    cookie = signed_in(client, world.buyer.key)
    posted = client.post("/ui/needs", data={"csrf_token": "jeton-é", **A_NEED}, follow_redirects=False)
    assert posted.status_code == 400
    anonymous = browser(client)
    header = {"Cookie": b"mm_csrf=abc.d\xe9f; mm_session=" + cookie[:-1].encode() + b"\xe9"}
    page = anonymous.get("/ui/sign-in", headers=header)
    assert page.status_code == 200
    refused = anonymous.post(
        "/ui/sign-in", data={"csrf_token": "abc.d\xe9f", "key": world.buyer.key}, headers=header
    )
    assert refused.status_code == 400
