"""A real server and a real browser: `matchmaker serve` on loopback with the demo data, driven by Debian's
headless chromium through its chromedriver. Screenshots go to test-artifacts/screenshots (git-ignored).

Skipped, with the reason, only where chromium or chromedriver is not installed (scripts/test.sh installs
them when it can).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli_support import REPO, ok
from tests.servers import cli_environment, serving

SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("MATCHMAKER_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MATCHMAKER_CHROMEDRIVER", "/usr/bin/chromedriver")


@dataclass(frozen=True)
class Server:
    url: str
    keys: dict[str, str]  # role -> key


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A migrated database with the demo data, served by the real CLI on a free loopback port."""
    with cli_environment(tmp_path_factory.mktemp("browser-data")) as env:
        ok("db", "upgrade", env=env)
        demo = ok("demo", env=env).stdout
        keys = dict(re.findall(r"^(\w+)\s+key \(.*\): (\S+)$", demo, flags=re.MULTILINE))
        with serving(env) as url:
            yield Server(url=url, keys=keys)


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every journey here is marked `browser` (scripts/test.sh runs them in one database's pass)."""
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here:
            item.add_marker(pytest.mark.browser)
