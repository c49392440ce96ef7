"""API keys and the authenticated principal.

A key looks like `mm_<prefix>_<secret>`. The prefix finds the row; only SHA-256 of the secret is stored,
which is enough for a random 256-bit secret (no password stretching needed) and keeps each check cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

Role = Literal["operator", "vendor", "buyer"]
KEY_SCHEME = "mm"


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly generated key: the plaintext is shown once and never stored."""

    prefix: str
    secret_hash: str
    plaintext: str


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an organisation acting in one role."""

    organisation_id: int
    role: Role
    key_id: int

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_key() -> NewKey:
    """Make a new random key."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewKey(prefix=prefix, secret_hash=hash_secret(secret), plaintext=f"{KEY_SCHEME}_{prefix}_{secret}")


def split_key(plaintext: str) -> tuple[str, str] | None:
    """Return (prefix, secret) of a well-formed key, else None."""
    # Keys are printable ASCII; anything else (a NUL typed into the sign-in form) never reaches the database.
    if not plaintext.isascii() or not plaintext.strip().isprintable():
        return None
    scheme, _, rest = plaintext.strip().partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != KEY_SCHEME or len(prefix) != 12 or not secret:
        return None
    return prefix, secret


def secret_matches(secret: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), secret_hash)
