"""Real servers for tests: `matchmaker serve` as a subprocess on a free loopback port, with its own data
directory and database (SQLite, or a throwaway PostgreSQL database when the run tests PostgreSQL); and
small ASGI apps (other PACT hosts) served in a thread."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from tests.cli_support import REPO, cli_command, throwaway_postgres


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def cli_environment(data_dir: Path) -> Iterator[dict[str, str]]:
    """The environment of one instance: its data directory, and its own database."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("MATCHMAKER_")}
    env.update(NO_COLOR="1", COLUMNS="200", PYTHONIOENCODING="utf-8", MATCHMAKER_DATA_DIR=str(data_dir))
    postgres_url = os.environ.get("MATCHMAKER_TEST_DATABASE_URL")
    with throwaway_postgres(postgres_url) if postgres_url else nullcontext() as database_url:
        if database_url:
            env["MATCHMAKER_DATABASE_URL"] = database_url
        yield env


@contextmanager
def serving(env: dict[str, str], *extra: str, scheme: str = "http") -> Iterator[str]:
    """`matchmaker serve` on a free port until the block ends; yields its base URL once healthy."""
    with serving_process(env, *extra, scheme=scheme) as (url, _):
        yield url


@contextmanager
def serving_process(
    env: dict[str, str], *extra: str, scheme: str = "http"
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """As `serving`, yielding the server's process too (to watch its memory)."""
    port = free_port()
    log_path = Path(env["MATCHMAKER_DATA_DIR"]) / f"server-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*cli_command(), "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
            env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"{scheme}://127.0.0.1:{port}"
        try:
            _wait_until_healthy(url, process, log_path)
            yield url, process
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2, verify=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server did not become healthy in 120 s: {log.read_text()}")


@contextmanager
def app_in_thread(app: Any, *, name: str = "test server") -> Iterator[int]:
    """An ASGI app served on a free loopback port in a thread until the block ends; yields the port.

    The socket is bound before the server starts (no race for the port), and a server that does not start
    within 10 s fails the test instead of hanging it.
    """
    # Named TCP, so asyncio sets TCP_NODELAY on accepted connections (else each answer waits ~40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, http="h11", ws="none", loop="asyncio", lifespan="off", log_level="critical",
        timeout_graceful_shutdown=1,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the {name} did not start")
        time.sleep(0.01)
    try:
        yield int(sock.getsockname()[1])
    finally:
        # Forced: a handler still sleeping (a timeout test) need not be waited for.
        server.should_exit = server.force_exit = True
        thread.join(timeout=10)
        sock.close()
