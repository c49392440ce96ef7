#!/usr/bin/env python
"""Benchmark of the PACT host's footprint cache: GET /3/footprints with a cold cache against a warm one.

    python scripts/bench_pact.py [--offers 5000] [--pulled 0.1] [--repeat 15] [--limits 100,1000]

Builds a throwaway SQLite database through the migrations with N published offers (a share of them pulled
from another host, served back as the footprint they came from), then, in one loop, alternates requests
with the cache emptied first (every visible offer mapped, as before the cache) and requests with it warm.
It prints medians and their ratio per page size, GET /3/footprints/{id} of the last offer (the worst case:
the lookup scans every offer), and the memory a cached footprint takes. The app's lifespan is not run: the
PACT routes need neither the model nor the vector index. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from matchmaker.app import create_app  # noqa: E402
from matchmaker.config import Settings  # noqa: E402
from matchmaker.db.base import utcnow  # noqa: E402
from matchmaker.db.migrate import upgrade  # noqa: E402
from matchmaker.db.models import Offer, Organisation  # noqa: E402
from matchmaker.db.session import make_engine, make_session_factory  # noqa: E402
from matchmaker.footprints import stored_footprint  # noqa: E402
from matchmaker.pact.cache import FootprintCache  # noqa: E402
from matchmaker.pact.mapping import footprint_of_offer  # noqa: E402
from matchmaker.pact.service import create_client  # noqa: E402

REGIONS = ("Jiangsu", "Shanghai", "Germany", "Suzhou, Jiangsu, China", "Norway", None, "Europe", "CN-GD")
UNITS = (("tCO2e/t", 0.5), ("kgCO2e/kWh", 0.03), ("gCO2e/MJ", 12.0), ("kgCO2e/m2", 4.2), ("kgCO2e/L", 1.1))
STANDARDS = ("ISO 14067", "GHG Protocol Product", "PEF", None, "ISO 14040/14044")


def build(factory: sessionmaker[Session], *, offers: int, pulled: float) -> tuple[str, str]:
    """Populate the database; return the PACT client's credentials."""
    with factory() as session:
        vendor = Organisation(name="Bench Steel", kind="vendor", admission_status="admitted")
        buyer = Organisation(name="Bench Buyer", kind="buyer", admission_status="admitted")
        session.add_all([vendor, buyer])
        session.flush()
        every = max(1, round(1 / pulled)) if pulled > 0 else 0
        now = utcnow()
        for number in range(offers):
            unit, value = UNITS[number % len(UNITS)]
            pcf = stored_footprint(value * (1 + number % 97 / 100), unit)
            offer = Offer(
                owner_id=vendor.id, external_id=f"b-{number:06d}", title=f"Bench offer {number}",
                description="low-carbon product " * 5, language="en", kind="product", category="steel",
                region=REGIONS[number % len(REGIONS)], pcf_value=pcf.value, pcf_unit=pcf.unit,
                pcf_family=pcf.family, pcf_canonical=pcf.canonical, declared_unit=unit.split("/")[1],
                pcf_verified=number % 3 == 0, standard=STANDARDS[number % len(STANDARDS)], certifications=[],
                attributes={}, status="published", visibility="public", created_at=now, updated_at=now,
            )  # fmt: skip
            offer.owner = vendor
            if every and number % every == 0:
                # As if pulled from another host: its own footprint is kept beside it and served back.
                original = footprint_of_offer(offer, issuer="peer.example")
                if original is not None:
                    offer.attributes = {"pact": {"id": original["id"], "footprint": original}}
            session.add(offer)
        client = create_client(session=session, organisation=buyer, label="bench")
        session.commit()
        return client.client.client_id, client.secret


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def footprint_bytes(factory: sessionmaker[Session], count: int = 500) -> float:
    """Memory held per cached footprint (tracemalloc, the mapping's allocations that the cache keeps)."""
    with factory() as session:
        offers = session.query(Offer).order_by(Offer.id).limit(count).all()
        for offer in offers:
            _ = offer.owner.name
        cache = FootprintCache()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for offer in offers:
            cache.footprint_of(offer, issuer="bench.example")
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return (after - before) / len(offers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=5000)
    parser.add_argument("--pulled", type=float, default=0.1, help="share of offers pulled from a PACT host")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--limits", default="100,1000")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'bench.sqlite3'}")
        upgrade(engine)
        factory = make_session_factory(engine)
        started = time.perf_counter()
        client_id, secret = build(factory, offers=args.offers, pulled=args.pulled)
        print(f"{args.offers} offers ({args.pulled:.0%} pulled) in {time.perf_counter() - started:.1f} s")

        app = create_app(Settings(environment="test", data_dir=Path(scratch)), session_factory=factory)
        cache: FootprintCache = app.state.pact_footprints
        http = TestClient(app)  # no `with`: no lifespan, so no model or index is loaded
        token = http.post(
            "/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}

        def get(path: str) -> Callable[[], Any]:
            def call() -> None:
                response = http.get(path, headers=headers)
                assert response.status_code == 200, response.text

            return call

        def cold(call: Callable[[], Any]) -> float:
            cache.clear()
            return timed(call)

        with factory() as session:
            last = session.query(Offer).order_by(Offer.id.desc()).first()
            assert last is not None
            last_id = footprint_of_offer(last, issuer=app.state.settings.pact_issuer)
        assert last_id is not None
        paths = [f"/3/footprints?limit={limit}" for limit in args.limits.split(",")]
        paths.append(f"/3/footprints/{last_id['id']}")
        print(f"\n{'request':<42} {'cold p50':>10} {'warm p50':>10} {'cold/warm':>10}")
        for path in paths:
            call = get(path)
            call()  # warm the database pages and the cache
            colds, warms = [], []
            for _ in range(args.repeat):
                colds.append(cold(call))
                call()  # refill the cache
                warms.append(timed(call))
            cold_ms, warm_ms = median_ms(colds), median_ms(warms)
            print(f"GET {path[:38]:<38} {cold_ms:>8.1f}ms {warm_ms:>8.1f}ms {cold_ms / warm_ms:>9.1f}x")
        print(f"\ncache: {len(cache)} entries, {cache.hits} hits, {cache.misses} misses")
        print(f"memory per cached footprint: ~{footprint_bytes(factory):,.0f} bytes")
        engine.dispose()


if __name__ == "__main__":
    main()
