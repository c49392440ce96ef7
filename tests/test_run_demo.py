"""`scripts/run-demo.sh` on a port another program holds: it stops at once, says how to choose another
port, and has issued no key (the saved keys file is not touched)."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from tests.cli_support import REPO


def test_a_busy_port_stops_the_demo_before_any_key_is_issued(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {**os.environ, "MATCHMAKER_PORT": str(port), "MATCHMAKER_DATA_DIR": str(tmp_path)}
        done = subprocess.run(
            ["bash", str(REPO / "scripts" / "run-demo.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"127.0.0.1:{port} is already in use" in done.stderr and "MATCHMAKER_PORT=" in done.stderr
    assert list(tmp_path.iterdir()) == []  # no database, no keys
