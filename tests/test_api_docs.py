"""The API documentation works offline: its pages load their assets from this service, never a CDN; and
an app whose database is not migrated yet still starts (and answers /healthz)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from matchmaker.app import create_app
from matchmaker.config import Settings


def test_docs_and_redoc_load_their_assets_from_the_service(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page)
        assert html.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', html.text) + re.findall(r"url: '([^']+)'", html.text)
        assert assets and all(url.startswith("/") for url in assets), assets  # nothing from another host
        for url in assets:
            if url.endswith((".js", ".css", ".png")):
                assert client.get(url).status_code == 200, url


def test_an_app_on_an_unmigrated_database_still_starts(tmp_path: Path) -> None:
    app = create_app(Settings(environment="test", data_dir=tmp_path))
    with TestClient(app) as fresh:
        assert fresh.get("/healthz").status_code == 200
        assert fresh.get("/docs").status_code == 200
