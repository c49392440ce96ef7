"""Where uploaded documents live: files under one directory, each named by the SHA-256 of its content.

The same content uploaded twice is one file. A file is written beside its final name, flushed to disk and
renamed into place, so a crash mid-write leaves no half file under a real name. No database and no HTTP.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path


class DocumentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        # Two levels, so that no directory grows to every document there is.
        return self.root / sha256[:2] / sha256

    def put(self, content: bytes) -> str:
        """Keep the content; return its SHA-256 (hex), the name it is kept under."""
        digest = hashlib.sha256(content).hexdigest()
        final = self.path_of(digest)
        if final.exists():
            return digest
        final.parent.mkdir(parents=True, exist_ok=True)
        draft = final.with_name(f".{digest}.{secrets.token_hex(4)}")
        try:
            with draft.open("wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.replace(draft, final)
        finally:
            draft.unlink(missing_ok=True)
        return digest

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()
