"""Access tokens of the PACT host: the OAuth client's row id and an expiry, signed with the service secret.

Stateless, so several replicas accept each other's tokens; each request re-reads the client, so revoking
it (or suspending its organisation) takes effect at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

TOKEN_PREFIX = "mmpact"
TOKEN_SECONDS = 3600


class TokenInvalid(Exception):
    """Not a token this host issued."""


class TokenExpired(Exception):
    """A token this host issued, past its expiry."""


class AccessTokens:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, body: str) -> str:
        digest = hmac.new(self._secret, f"pact-token:{body}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self, client_row_id: int, *, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + TOKEN_SECONDS)
        body = f"{TOKEN_PREFIX}.{client_row_id}.{expires}"
        return f"{body}.{self._mac(body)}"

    def read(self, token: str, *, now: float | None = None) -> int:
        """The client row id of a valid token; TokenInvalid or TokenExpired otherwise."""
        # A header may carry any Latin-1 byte; hmac.compare_digest refuses non-ASCII text with a TypeError.
        if not token.isascii():
            raise TokenInvalid
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != TOKEN_PREFIX or not parts[1].isdigit() or not parts[2].isdigit():
            raise TokenInvalid
        body = ".".join(parts[:3])
        if not hmac.compare_digest(parts[3], self._mac(body)):
            raise TokenInvalid
        if int(parts[2]) <= (now if now is not None else time.time()):
            raise TokenExpired
        return int(parts[1])
