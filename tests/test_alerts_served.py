"""Alerts from a real server: a fitting offer published through the API reaches its buyer's inbox within
seconds of the commit, exactly once, and the buyer's webhook receives it signed, again after a failure."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from matchmaker.alerts.delivery import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from tests.cli_support import ok
from tests.servers import cli_environment, serving

SECRET = "webhook-secret-of-the-buyer-0123456789"
NEW_OFFER = {
    "title": "包头风电制绿氢（碱性电解，管道直供）",
    "description": "内蒙古包头风电制氢项目，碱性电解槽，经第三方核查的碳足迹0.8 kgCO2e/kg，可管道直供钢厂。",
    "language": "zh",
    "kind": "product",
    "category": "hydrogen",
    "region": "Inner Mongolia",
    "pcf_value": 0.8,
    "pcf_unit": "kgCO2e/kg",
    "pcf_verified": True,
    "status": "published",
}


EVIDENCE = {
    "verifier": "中国船级社质量认证有限公司",
    "report_number": "CCSC-PCF-2026-0417",
    "verified_on": "2026-11-01",
    "valid_until": "2029-10-31",
}


class Receiver:
    """A webhook receiver on loopback: answers 500 to the first post, 200 after, and keeps every post."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes, float]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.posts.append(({k: v for k, v in self.headers.items()}, body, time.monotonic()))
                self.send_response(500 if len(receiver.posts) == 1 else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


def _signed_correctly(headers: dict[str, str], body: bytes) -> bool:
    expected = hmac.new(SECRET.encode(), f"{headers[TIMESTAMP_HEADER]}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(headers[SIGNATURE_HEADER], f"sha256={expected.hexdigest()}")


def _until(seconds: float, found: Any) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := found():
            return result
        time.sleep(0.1)
    return None


def test_a_published_offer_alerts_its_buyer_within_seconds_and_its_webhook(tmp_path: Path) -> None:
    with cli_environment(tmp_path / "served") as env:
        env["MATCHMAKER_WEBHOOK_ALLOW_PRIVATE"] = "true"  # the receiver is on loopback
        ok("db", "upgrade", env=env)
        keys = dict(re.findall(r"^(\w+)\s+key \(.*\): (\S+)$", ok("demo", env=env).stdout, flags=re.M))
        buyer, vendor, operator = (
            {"Authorization": f"Bearer {keys[role]}"} for role in ("buyer", "vendor", "operator")
        )
        with (
            Receiver().running() as receiver,
            serving(env) as url,
            httpx.Client(base_url=url, timeout=30) as http,
        ):
            assert _until(120, lambda: http.get("/readyz").status_code == 200)
            hook = http.put("/webhook", json={"url": receiver.url, "secret": SECRET}, headers=buyer)
            assert hook.status_code == 200, hook.text
            created = http.post("/offers", json=NEW_OFFER, headers=vendor)
            assert created.status_code == 201, created.text
            offer = created.json()["id"]
            # The buyer's need asks for a verified footprint: the vendor's tick is not enough; the
            # operator's acceptance of its evidence is what makes the offer fit.
            evidence = http.post(f"/offers/{offer}/evidence", json=EVIDENCE, headers=vendor).json()["id"]
            accepted = http.post(
                f"/evidence/{evidence}/review", json={"decision": "accepted"}, headers=operator
            )
            assert accepted.status_code == 200, accepted.text
            committed = time.monotonic()

            def alerted() -> list[dict[str, Any]]:
                items = http.get("/alerts", headers=buyer).json()["items"]
                return [a for a in items if a["offer_id"] == offer]

            found = _until(10, alerted)
            assert found, "no alert for the buyer"
            waited = time.monotonic() - committed
            assert waited < 5, f"the alert came {waited:.1f} s after the commit"
            assert [a["kind"] for a in found] == ["offer_fits_need"] and found[0]["need_id"]
            time.sleep(1.5)  # later passes find the same event: still one alert
            assert len(alerted()) == 1
            assert all(a["offer_id"] != offer for a in http.get("/alerts", headers=vendor).json()["items"])

            # The webhook: refused once (500), posted again after the backoff, signed both times.
            assert _until(20, lambda: len(receiver.posts) >= 2), f"{len(receiver.posts)} posts"
            (first, body, at_first), (second, body_again, at_second) = receiver.posts[:2]
            assert all(_signed_correctly(h, b) for h, b, _ in receiver.posts[:2])
            assert first[DELIVERY_HEADER] == second[DELIVERY_HEADER] and at_second - at_first >= 1.5
            posted = json.loads(body_again)
            assert [(a["kind"], a["offer_id"]) for a in posted["alerts"]] == [("offer_fits_need", offer)]
            forged = dict(second, **{SIGNATURE_HEADER: "sha256=" + "0" * 64})
            assert not _signed_correctly(forged, body_again)
            # The success is recorded once the post is answered: the failure count goes back to 0.
            assert _until(10, lambda: http.get("/webhook", headers=buyer).json()["failures"] == 0)
