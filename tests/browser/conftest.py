"""A real server and a real browser: `matchmaker serve` on loopback with the demo data, driven by Debian's
headless chromium through its chromedriver. Screenshots go to test-artifacts/screenshots (git-ignored).

Skipped, with the reason, only where chromium or chromedriver is not installed (scripts/test.sh installs
them when it can).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.cli_support import REPO, cli_command, ok, throwaway_postgres

SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("MATCHMAKER_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MATCHMAKER_CHROMEDRIVER", "/usr/bin/chromedriver")


@dataclass(frozen=True)
class Server:
    url: str
    keys: dict[str, str]  # role -> key


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A migrated database with the demo data, served by the real CLI on a free loopback port."""
    data_dir = tmp_path_factory.mktemp("browser-data")
    env = {key: value for key, value in os.environ.items() if not key.startswith("MATCHMAKER_")}
    env.update(NO_COLOR="1", COLUMNS="200", PYTHONIOENCODING="utf-8", MATCHMAKER_DATA_DIR=str(data_dir))
    postgres_url = os.environ.get("MATCHMAKER_TEST_DATABASE_URL")
    with throwaway_postgres(postgres_url) if postgres_url else nullcontext() as database_url:
        if database_url:
            env["MATCHMAKER_DATABASE_URL"] = database_url
        ok("db", "upgrade", env=env)
        demo = ok("demo", env=env).stdout
        keys = dict(re.findall(r"^(\w+)\s+key \(.*\): (\S+)$", demo, flags=re.MULTILINE))
        port = _free_port()
        log = (data_dir / "server.log").open("w")
        process = subprocess.Popen(
            [*cli_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_healthy(url, process, data_dir / "server.log")
            yield Server(url=url, keys=keys)
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.close()


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server did not become healthy in 120 s: {log.read_text()}")


def _browser_missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).is_file() or shutil.which(path)):
            return f"{path} is not installed (Debian packages chromium and chromium-driver)"
    return None


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Iterator[object]:
    missing = _browser_missing()
    if missing:
        pytest.skip(f"no browser for end-to-end tests: {missing}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1280,1000", "--lang=en-US",
    ):  # fmt: skip
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.implicitly_wait(0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.save_screenshot(str(SCREENSHOTS / f"{request.node.name}-last.png"))
        driver.quit()
