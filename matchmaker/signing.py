"""The service's signing secret: configured, or made once and kept in the data directory.

The web pages' CSRF tokens and PACT access tokens are signed with it (HMAC-SHA256, each with its own
purpose).
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path
from typing import Any

_first_use = threading.Lock()


def app_secret(state: Any) -> bytes:
    """The app's signing secret, read (or made) on first use and kept on the app's state: building the app
    writes nothing to disk, and CSRF and PACT tokens share the one secret."""
    with _first_use:
        if getattr(state, "signing_secret", None) is None:
            state.signing_secret = load_secret(state.settings.session_secret, state.settings.data_dir)
    secret: bytes = state.signing_secret
    return secret


def load_secret(configured: str, data_dir: Path) -> bytes:
    """The configured secret, else one kept in the data directory: made once, readable by its owner only.

    Made in a temporary file and linked into place, so processes starting together agree on one secret."""
    if configured:
        return configured.encode()
    path = data_dir / "session-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = data_dir / f".session-secret-{secrets.token_hex(8)}"
        draft.touch(mode=0o600)
        draft.write_text(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process won; use its secret
        finally:
            draft.unlink()
    return path.read_text().strip().encode()
