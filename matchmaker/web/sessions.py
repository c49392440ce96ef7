"""Signed cookies for the web pages: who is signed in, and the token that proves a form came from us.

A session cookie carries only the API key's id and an expiry, signed with HMAC-SHA256; every request
re-reads the key, so revoking it or suspending its organisation ends the session at once. Forms carry a
CSRF token that must equal the (signed) one in the `mm_csrf` cookie: another site can neither read that
cookie nor forge its signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

SESSION_COOKIE = "mm_session"
CSRF_COOKIE = "mm_csrf"
LANGUAGE_COOKIE = "mm_lang"


@dataclass(frozen=True, slots=True)
class SessionClaims:
    key_id: int
    expires_at: int


class CookieSigner:
    """Sign and verify small JSON payloads with one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, purpose: str, body: str) -> str:
        digest = hmac.new(self._secret, f"{purpose}:{body}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def session_cookie(self, claims: SessionClaims) -> str:
        body = base64.urlsafe_b64encode(
            json.dumps({"k": claims.key_id, "e": claims.expires_at}).encode()
        ).decode()
        return f"{body}.{self._mac('session', body)}"

    def read_session(self, cookie: str | None, *, now: float | None = None) -> SessionClaims | None:
        """The claims of a well-signed, unexpired cookie; None otherwise."""
        if not cookie or "." not in cookie:
            return None
        body, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac("session", body)):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(body.encode()))
            claims = SessionClaims(key_id=int(payload["k"]), expires_at=int(payload["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        return claims if claims.expires_at > (now if now is not None else time.time()) else None

    def new_csrf_token(self) -> str:
        nonce = secrets.token_urlsafe(18)
        return f"{nonce}.{self._mac('csrf', nonce)}"

    def csrf_token_is_ours(self, token: str | None) -> bool:
        if not token or "." not in token:
            return False
        nonce, mac = token.rsplit(".", 1)
        return hmac.compare_digest(mac, self._mac("csrf", nonce))
