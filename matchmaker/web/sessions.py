"""The cookies of the web pages: which server-held session a browser is in, and the token that proves a
form came from us.

The session cookie carries only a random session id; the server keeps a hash of it (`web_sessions`), so
signing out, revoking the key or suspending the organisation ends the session on the server. A signed-in
form carries a CSRF token derived (HMAC) from that session id, so no other session's token and no anonymous
token passes; before sign-in, forms carry a signed nonce that must equal the one in the `mm_csrf` cookie
(another site can neither read that cookie nor forge its signature).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

SESSION_COOKIE = "mm_session"
CSRF_COOKIE = "mm_csrf"
LANGUAGE_COOKIE = "mm_lang"

# What web_sessions.service.new_session_id makes: 32 random bytes, URL-safe base64 without padding.
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")


def session_id_from_cookie(cookie: str | None) -> str | None:
    """The session id the cookie holds if it has the shape of one (ASCII only), else None."""
    return cookie if cookie is not None and _SESSION_ID.fullmatch(cookie) else None


def same_token(given: object, expected: str) -> bool:
    """Whether a token from the browser equals the expected one, in constant time; non-ASCII never does."""
    return isinstance(given, str) and given.isascii() and hmac.compare_digest(given, expected)


class CookieSigner:
    """Make and check the CSRF tokens, signed with one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, purpose: str, body: str) -> str:
        digest = hmac.new(self._secret, f"{purpose}:{body}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def session_csrf_token(self, session_id: str) -> str:
        """The CSRF token of a signed-in session's forms: bound to that session and to this secret."""
        return self._mac("csrf-session", session_id)

    def new_csrf_token(self) -> str:
        nonce = secrets.token_urlsafe(18)
        return f"{nonce}.{self._mac('csrf', nonce)}"

    def csrf_token_is_ours(self, token: str | None) -> bool:
        if not token or not token.isascii() or "." not in token:
            return False
        nonce, mac = token.rsplit(".", 1)
        return same_token(mac, self._mac("csrf", nonce))
