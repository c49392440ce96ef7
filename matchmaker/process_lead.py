"""One process of a machine's workers doing a job for all of them: the first to take a lock file leads,
until it exits (the lock goes with it) or lets go; the others may try again later."""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO


class ProcessLead:
    """Leadership of one job among the processes sharing a data directory, held through `path`."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._held: IO[str] | None = None

    def take(self) -> bool:
        """Whether this process leads (taking the lead if nobody holds it)."""
        if self._held is not None:
            return True
        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle = self._path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._held = handle
        return True

    def release(self) -> None:
        if self._held is not None:
            self._held.close()  # lets another process lead
            self._held = None
