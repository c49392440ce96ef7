"""The matching commands of the `matchmaker` CLI, run as subprocesses against a fresh database per test.

`index rebuild`, `index verify`, `match` and `eval` on the development set (../shared/data/eval-dev), scored
with the set's own score.py, and `match` on the Carbon Catalogue with needs written for it. SQLite by
default (a file under the test's tmp_path); PostgreSQL when MATCHMAKER_TEST_DATABASE_URL names a server,
with a throwaway database per test. The helpers shared with tests/test_cli.py are in tests/cli_support.py.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import func, select, update

from matchmaker.db.models import Need, Offer, StoredVector
from matchmaker.db.session import make_engine, make_session_factory
from matchmaker.matching.lifecycle import start_engine
from tests.cli_support import (
    CATALOGUE_CSV,
    EVAL_DEV,
    REPO,
    assert_clean_failure,
    db_session,
    ok,
    run,
    settings_for,
    shared_relative,
    write_jsonl,
)

EMPTY_ANSWER_NEEDS = ("n45", "n60")

needs_eval_dev = pytest.mark.skipif(
    not all((EVAL_DEV / name).is_file() for name in ("offers.jsonl", "needs.jsonl", "qrels.tsv", "score.py")),
    reason=f"development set not found at {EVAL_DEV} (expected ../shared next to the repository)",
)
needs_catalogue = pytest.mark.skipif(
    not CATALOGUE_CSV.is_file(), reason=f"Carbon Catalogue not found at {CATALOGUE_CSV}"
)


# --- helpers ---------------------------------------------------------------------------------------------


def jsonl_lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def load_scorer() -> ModuleType:
    """The development set's own score.py."""
    spec = importlib.util.spec_from_file_location("eval_dev_score", EVAL_DEV / "score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the development set ---------------------------------------------------------------------------------


@needs_eval_dev
def test_rebuild_verify_and_match_the_development_set(cli_env: dict[str, str]) -> None:
    ok("import", "offers", shared_relative(EVAL_DEV / "offers.jsonl"), env=cli_env)
    ok("import", "needs", shared_relative(EVAL_DEV / "needs.jsonl"), env=cli_env)

    rebuilt = ok("index", "rebuild", env=cli_env)
    assert "offers: 240 indexed with use-multilingual-v3" in rebuilt.stdout
    assert "needs: 20 indexed with use-multilingual-v3" in rebuilt.stdout
    verified = ok("index", "verify", env=cli_env)
    assert "offers: 240 indexed; 0 missing, 0 stale, 0 ghosts" in verified.stdout
    assert "needs: 20 indexed; 0 missing, 0 stale, 0 ghosts" in verified.stdout

    matched = ok("match", "--all-needs", "--limit", "10", "--format", "jsonl", env=cli_env)

    lines = jsonl_lines(matched.stdout)
    scorer = load_scorer()
    offers, needs, filtered_qrels, _ = scorer.load_data(str(EVAL_DEV))
    assert len(lines) == 20
    assert [set(line) for line in lines] == [{"need_id", "ranked_offer_ids"}] * 20
    results = {line["need_id"]: line["ranked_offer_ids"] for line in lines}
    assert set(results) == set(needs)
    for need_id, ranked in results.items():
        assert isinstance(ranked, list) and len(ranked) <= 10, need_id
        assert set(ranked) <= set(offers), need_id
        assert len(set(ranked)) == len(ranked), need_id
    summary = scorer.summarize(scorer.evaluate(results, offers, needs, filtered_qrels, k=10))
    assert summary["violations"] == 0, summary
    assert summary["ndcg_all"] >= 0.90, summary
    assert summary["empty_correct"] == 1.0, summary
    for need_id in EMPTY_ANSWER_NEEDS:
        assert results[need_id] == [], need_id


@needs_eval_dev
def test_an_import_leaves_the_index_saved_for_the_next_start(cli_env: dict[str, str]) -> None:
    """The writer embeds: after `import`, no `index rebuild` is needed for the saved index to be whole."""
    ok("import", "offers", shared_relative(EVAL_DEV / "offers.jsonl"), env=cli_env)
    ok("import", "needs", shared_relative(EVAL_DEV / "needs.jsonl"), env=cli_env)

    verified = ok("index", "verify", env=cli_env)
    assert "offers: 240 indexed; 0 missing, 0 stale, 0 ghosts" in verified.stdout
    assert "needs: 20 indexed; 0 missing, 0 stale, 0 ghosts" in verified.stdout

    # The import stored the vectors it embedded: a start without the saved index (another machine, a
    # replica) reads them instead of embedding the catalogue again.
    with db_session(cli_env) as session:
        counts = session.execute(select(StoredVector.kind, func.count()).group_by(StoredVector.kind))
        stored = {kind: count for kind, count in counts}
    assert stored == {"offers": 240, "needs": 20}
    shutil.rmtree(Path(cli_env["MATCHMAKER_DATA_DIR"]) / "index")
    settings = settings_for(cli_env)
    database = make_engine(settings.sqlalchemy_url)
    try:
        engine = start_engine(settings, make_session_factory(database))
    finally:
        database.dispose()
    assert (len(engine.offers.versions), len(engine.needs.versions)) == (240, 20)
    assert engine.offers.embedded == engine.needs.embedded == 0


@needs_eval_dev
def test_verify_reports_drift_and_the_next_match_repairs_it(cli_env: dict[str, str]) -> None:
    missing = run("index", "verify", env=cli_env)
    assert_clean_failure_or_report(missing)
    assert "no saved index (run `matchmaker index rebuild`)" in missing.stdout

    ok("import", "offers", shared_relative(EVAL_DEV / "offers.jsonl"), env=cli_env)
    ok("import", "needs", shared_relative(EVAL_DEV / "needs.jsonl"), env=cli_env)
    ok("index", "rebuild", env=cli_env)
    # Changed in the database behind the index's back: one offer archived, one need's text edited.
    with db_session(cli_env) as session:
        session.execute(update(Offer).where(Offer.external_id == "o001").values(status="archived"))
        need = session.scalars(select(Need).where(Need.external_id == "n03")).one()
        need.text = need.text + " 可分批交付。"
        session.commit()

    drifted = run("index", "verify", env=cli_env)

    assert_clean_failure_or_report(drifted)
    assert "offers: 240 indexed; 0 missing, 0 stale, 1 ghosts" in drifted.stdout
    assert "needs: 20 indexed; 0 missing, 1 stale, 0 ghosts" in drifted.stdout
    # `match` starts the engine, which reconciles with the database and saves the result.
    matched = ok("match", "--need", "n03", env=cli_env)
    assert [line["need_id"] for line in jsonl_lines(matched.stdout)] == ["n03"]
    clean = ok("index", "verify", env=cli_env)
    assert "offers: 239 indexed; 0 missing, 0 stale, 0 ghosts" in clean.stdout


def assert_clean_failure_or_report(result: subprocess.CompletedProcess[str]) -> None:
    """`index verify` with drift: exit 1 and a report on stdout, no traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr


@needs_eval_dev
def test_eval_prints_the_development_scores(cli_env: dict[str, str], tmp_path: Path) -> None:
    result = ok("eval", "--data", shared_relative(EVAL_DEV), "--results", tmp_path / "runs", env=cli_env)

    out = result.stdout
    assert "nDCG@10 (all)" in out and "unfiltered" in out and "filter violations 0" in out, out
    filtered = re.search(r"^filtered:\s+nDCG@10 \(all\) ([0-9.]+)", out, re.MULTILINE)
    unfiltered = re.search(r"^unfiltered:\s+nDCG@10 ([0-9.]+)", out, re.MULTILINE)
    assert filtered and unfiltered, out
    assert float(filtered[1]) >= 0.90, out
    assert float(unfiltered[1]) >= 0.85, out
    # The rankings it wrote score the same with score.py.
    scorer = load_scorer()
    offers, needs, filtered_qrels, _ = scorer.load_data(str(EVAL_DEV))
    written, _ = scorer.load_results(str(tmp_path / "runs" / "filtered.jsonl"))
    summary = scorer.summarize(scorer.evaluate(written, offers, needs, filtered_qrels, k=10))
    assert summary["ndcg_all"] == pytest.approx(float(filtered[1]), abs=5e-5)
    assert summary["violations"] == 0


@needs_eval_dev
def test_eval_leaves_the_configured_database_alone(
    cli_env: dict[str, str], request: pytest.FixtureRequest
) -> None:
    ok("db", "upgrade", env=cli_env)

    ok("eval", "--data", shared_relative(EVAL_DEV), env=cli_env)

    with db_session(cli_env) as session:
        assert session.scalar(select(func.count()).select_from(Offer)) == 0
        assert session.scalar(select(func.count()).select_from(Need)) == 0


def test_match_refuses_what_it_cannot_do(cli_env: dict[str, str]) -> None:
    nothing = run("match", env=cli_env)
    assert_clean_failure(nothing)
    assert "--need" in nothing.stderr and "--all-needs" in nothing.stderr
    unknown = run("match", "--need", "nope", env=cli_env)
    assert_clean_failure(unknown)
    assert "no open need with id nope" in unknown.stderr
    csv_format = run("match", "--all-needs", "--format", "csv", env=cli_env)
    assert_clean_failure(csv_format)
    assert "unknown format 'csv'" in csv_format.stderr
    missing = run("eval", "--data", REPO / "nowhere", env=cli_env)
    assert_clean_failure(missing)
    assert "no development set" in missing.stderr


# --- the Carbon Catalogue --------------------------------------------------------------------------------

OFFICE_NEEDS: list[dict[str, Any]] = [
    {
        "id": "g1",
        "buyer": "Office Procurement",
        "text": "office laptops under 350 kgCO2e each",
        "max_pcf": 350,
        "max_pcf_unit": "kgCO2e/unit",
    },
    {"id": "g2", "buyer": "Office Procurement", "text": "采购商用空调"},
]
LAPTOP = re.compile(r"laptop|notebook|thinkpad|latitude|elitebook|macbook|chromebook", re.IGNORECASE)
AIR_CONDITIONER = re.compile(r"air[- ]?conditioner", re.IGNORECASE)


def catalogue_rows() -> dict[str, dict[str, str]]:
    with CATALOGUE_CSV.open(encoding="utf-8-sig", newline="") as file:
        return {row["*PCF-ID"]: row for row in csv.DictReader(file)}


def name_of(row: dict[str, str]) -> str:
    return row["Product name (and functional unit)"]


def pcf_of(row: dict[str, str]) -> float:
    return float(row["Product's carbon footprint (PCF, kg CO2e)"])


@pytest.fixture
def office_matches(cli_env: dict[str, str], tmp_path: Path) -> dict[str, list[str]]:
    """The catalogue and the two office needs imported, and `match --need g1 --need g2` run on them."""
    ok("import", "carbon-catalogue", shared_relative(CATALOGUE_CSV), env=cli_env)
    ok("import", "needs", write_jsonl(tmp_path / "office-needs.jsonl", OFFICE_NEEDS), env=cli_env)
    result = ok("match", "--need", "g1", "--need", "g2", env=cli_env)
    lines = jsonl_lines(result.stdout)
    assert sorted(line["need_id"] for line in lines) == ["g1", "g2"]
    return {line["need_id"]: line["ranked_offer_ids"] for line in lines}


@needs_catalogue
def test_catalogue_laptops_under_a_ceiling_per_unit(office_matches: dict[str, list[str]]) -> None:
    rows = catalogue_rows()
    ranked = office_matches["g1"]

    assert ranked and len(ranked) <= 10
    assert set(ranked) <= set(rows)
    # The ceiling is hard: every offer is at most 350 kgCO2e per unit (equal passes).
    assert all(pcf_of(rows[i]) <= 350 for i in ranked), [(name_of(rows[i]), pcf_of(rows[i])) for i in ranked]
    # Laptops come first.
    top = [name_of(rows[i]) for i in ranked[:5]]
    assert all(LAPTOP.search(name) for name in top), top


@needs_catalogue
def test_catalogue_laptop_need_is_mostly_laptops(office_matches: dict[str, list[str]]) -> None:
    rows = catalogue_rows()
    eligible_laptops = [i for i, row in rows.items() if LAPTOP.search(name_of(row)) and pcf_of(row) <= 350]
    assert len(eligible_laptops) >= 10
    names = [name_of(rows[i]) for i in office_matches["g1"]]
    # A full page, nearly all laptops (a laptop CPU may follow them: it is "made for laptops").
    assert len(names) == 10 and sum(bool(LAPTOP.search(name)) for name in names) >= 8, names


@needs_catalogue
def test_catalogue_chinese_air_conditioner_need(office_matches: dict[str, list[str]]) -> None:
    rows = catalogue_rows()
    names = [name_of(rows[i]) for i in office_matches["g2"]]

    assert names and AIR_CONDITIONER.search(names[0]), names
    # Air conditioners first: none comes after another kind of product.
    is_ac = [bool(AIR_CONDITIONER.search(name)) for name in names]
    assert is_ac == sorted(is_ac, reverse=True), names
    assert sum(is_ac) >= 2, names
    assert any("commercial" in name.lower() for name in names[:2]), names


def test_serve_refuses_an_index_built_by_another_model(cli_env: dict[str, str]) -> None:
    ok("index", "rebuild", env=cli_env)  # built with the default model (USE)

    refused = run("serve", "--port", "1", env={**cli_env, "MATCHMAKER_MODEL": "minilm"})

    assert_clean_failure(refused)
    assert "run `matchmaker index rebuild`" in refused.stderr
    assert "use-multilingual-v3" in refused.stderr
