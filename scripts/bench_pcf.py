#!/usr/bin/env python
"""Benchmark of PCF accounting's pure parts: the calculator on bills of 10 to 500 lines, and the LCA readers
on the real ILCD+EPD data set and on an openLCA v2 zip of many results. A benchmark, not a test.

    python scripts/bench_pcf.py [--runs 30]

Prints medians (milliseconds) measured in this process, side by side; nothing is asserted. The database is
not involved: the calculator is given the shipped library's factors and a table of offers.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import olca_schema as olca

from matchmaker.factors.library import read, shipped
from matchmaker.lca.service import products_in
from matchmaker.pcf.bom import BillOfMaterials
from matchmaker.pcf.calculator import Factor, OfferInput, calculate

ROOT = Path(__file__).resolve().parents[1]
LINE_KINDS = [
    {"kind": "offer", "offer": 1, "amount": 0.5, "unit": "t"},
    {"kind": "electricity", "grid": "cn.east", "year": 2023, "amount": 480, "unit": "kWh"},
    {"kind": "fuel", "fuel": "natural_gas", "amount": 2, "unit": "GJ"},
    {"kind": "process", "gas": "ch4_fossil", "amount": 0.4, "unit": "kg"},
    {"kind": "transport", "mode": "road.hgv_average_laden", "amount": 300, "unit": "tkm"},
]


def median_ms(action: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def library() -> dict[str, Factor]:
    latest = shipped()[-1]
    return {
        record.key: Factor(
            record.key, latest.version, record.name, record.value, record.unit, record.region, record.year,
            record.source, record.source_table, record.licence,
        )
        for record in read(latest)
    }  # fmt: skip


def olca_zip(results: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("olca-schema.json", '{"version": 2}')
        for number in range(results):
            result = olca.Result(
                id=f"r{number}", name=f"product {number}",
                flow_results=[olca.FlowResult(flow=olca.Ref(id="f", name="f"), amount=1.0,
                                              unit=olca.Ref(name="kg"), is_ref_flow=True)],
                impact_results=[olca.ImpactResult(indicator=olca.Ref(id="i", name="Climate change",
                                                                     ref_unit="kg CO2 eq"), amount=1.5)],
            )  # fmt: skip
            archive.writestr(f"results/r{number}.json", result.to_json())
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    factors = library()
    offers = {1: OfferInput(1, "scrap", "S", 0.45, "tCO2e/t", verified=True, dqr=(1.5, 1, 2))}
    print(f"calculator, median of {runs} runs (validation + calculation):")
    for size in (10, 100, 500):
        lines = [LINE_KINDS[number % len(LINE_KINDS)] for number in range(size)]
        document = {"declared_unit": "t", "output": {"amount": 1, "unit": "t"}, "lines": lines}
        validate = median_ms(lambda document=document: BillOfMaterials.model_validate(document), runs)
        bom = BillOfMaterials.model_validate(document)
        count = median_ms(lambda bom=bom: calculate(bom, factors=factors, offers=offers), runs)
        print(f"  {size:>4} lines: validate {validate:7.2f} ms, calculate {count:7.2f} ms")
    parquet = (ROOT / "tests" / "lca_files" / "ibu-2-layer-parquet.xml").read_bytes()
    ilcd = median_ms(lambda: list(products_in("p.xml", parquet, declared_unit="m2")[1]), runs)
    print(f"ILCD+EPD data set ({len(parquet) // 1024} KB): {ilcd:.2f} ms")
    for results in (10, 1000):
        body = olca_zip(results)
        taken = median_ms(
            lambda body=body: list(products_in("z.zip", body, declared_unit=None)[1]), max(3, runs // 10)
        )
        print(f"openLCA v2 zip of {results} results ({len(body) // 1024} KB): {taken:.1f} ms, "
              f"{taken / results * 1000:.0f} us a result")  # fmt: skip


if __name__ == "__main__":
    main()
