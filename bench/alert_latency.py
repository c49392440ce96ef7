"""How long after its commit an alert reaches the inbox: a real server (`matchmaker serve`) on the demo data,
a supplier publishing fitting offers one after another, the buyer's inbox polled every 50 ms.

    .venv/bin/python bench/alert_latency.py [--offers 20] [--database-url postgresql://...]

Prints the median, 90th percentile and worst time from the publishing request's answer to the alert.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
POLL_SECONDS = 0.05


def cli(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "matchmaker.cli", *args], env=env, cwd=REPO, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(done.stderr)
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def offer(number: int) -> dict[str, object]:
    return {
        "title": f"包头风电制绿氢 {number} 号线（碱性电解，管道直供）",
        "description": "内蒙古风电制氢，碱性电解槽，经第三方核查的碳足迹0.8 kgCO2e/kg，可管道直供钢厂。",
        "kind": "product",
        "category": "hydrogen",
        "region": "Inner Mongolia",
        "pcf_value": 0.8,
        "pcf_unit": "kgCO2e/kg",
        "pcf_verified": True,
        "status": "published",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=20)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="matchmaker-alerts-") as scratch:
        env = {**os.environ, "MATCHMAKER_DATA_DIR": scratch, "MATCHMAKER_LOG_LEVEL": "warning"}
        if args.database_url:
            env["MATCHMAKER_DATABASE_URL"] = args.database_url
        cli("db", "upgrade", env=env)
        keys = dict(re.findall(r"^(\w+)\s+key \(.*\): (\S+)$", cli("demo", env=env), flags=re.M))
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "matchmaker.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=REPO,
        )  # fmt: skip
        buyer = {"Authorization": f"Bearer {keys['buyer']}"}
        vendor = {"Authorization": f"Bearer {keys['vendor']}"}
        waits = []
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:
                    try:
                        if http.get("/readyz").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.2)
                for number in range(args.offers):
                    created = http.post("/offers", json=offer(number), headers=vendor)
                    created.raise_for_status()
                    answered, offer_id = time.monotonic(), created.json()["id"]
                    while time.monotonic() - answered < 30:
                        items = http.get("/alerts", params={"per_page": 100}, headers=buyer).json()["items"]
                        if any(item["offer_id"] == offer_id for item in items):
                            waits.append(time.monotonic() - answered)
                            break
                        time.sleep(POLL_SECONDS)
                    else:
                        print(f"offer {offer_id}: no alert within 30 s", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=60)
    if waits:
        waits.sort()
        p90 = waits[min(len(waits) - 1, int(0.9 * len(waits)))]
        print(
            f"{len(waits)} of {args.offers} offers alerted: median {statistics.median(waits):.2f} s, "
            f"p90 {p90:.2f} s, worst {waits[-1]:.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
