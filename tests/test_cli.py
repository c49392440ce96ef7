"""The `matchmaker` command line, run for real as a subprocess against a fresh database per test.

SQLite by default (a file under the test's tmp_path); PostgreSQL when MATCHMAKER_TEST_DATABASE_URL names a
server: each test then gets its own throwaway database, dropped afterwards. The shared data (../shared next to
the repository) provides the evaluation offers and needs and the Carbon Catalogue.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, make_url, select, text

from matchmaker.app import create_app
from matchmaker.db.models import Need, Offer, Organisation
from matchmaker.parties.service import authenticate
from matchmaker.regions import region_code
from tests.cli_support import (
    CATALOGUE_CSV,
    EVAL_DEV,
    REPO,
    SHARED,
    assert_clean_failure,
    cli_command,
    db_session,
    run,
    settings_for,
    shared_relative,
    write_jsonl,
)

OFFERS_JSONL = EVAL_DEV / "offers.jsonl"
NEEDS_JSONL = EVAL_DEV / "needs.jsonl"
KEY_LINE = re.compile(r"^(operator|buyer|vendor)\s+key \((?P<org>.+)\): (?P<key>mm_\S+)$")

needs_shared_data = pytest.mark.skipif(
    not (OFFERS_JSONL.is_file() and NEEDS_JSONL.is_file() and CATALOGUE_CSV.is_file()),
    reason=f"shared data not found at {SHARED} (expected ../shared next to the repository)",
)


# --- helpers ---------------------------------------------------------------------------------------------


@contextmanager
def api_client(env: dict[str, str]) -> Iterator[TestClient]:
    """The HTTP API on the same database the CLI wrote to."""
    with TestClient(create_app(settings_for(env))) as client:
        yield client


def count(env: dict[str, str], model: type[Offer] | type[Need] | type[Organisation]) -> int:
    with db_session(env) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def offer_versions(env: dict[str, str]) -> dict[tuple[int, str], int]:
    with db_session(env) as session:
        rows = session.execute(select(Offer.owner_id, Offer.external_id, Offer.version)).all()
    return {(owner_id, external_id): version for owner_id, external_id, version in rows}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def jsonl_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def csv_cell(value: Any, *, json_lists: bool) -> str:
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False) if json_lists else ";".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def write_offers_csv(path: Path, records: list[dict[str, Any]]) -> Path:
    """The exchange columns as CSV; list cells alternate between JSON arrays and ';'-separated text."""
    columns = list(dict.fromkeys(column for record in records for column in record))
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, columns)
        writer.writeheader()
        for number, record in enumerate(records):
            writer.writerow(
                {column: csv_cell(record.get(column), json_lists=number % 2 == 0) for column in columns}
            )
    return path


def report_line(kind: str, *, read: int, created: int, updated: int, unchanged: int, failed: int) -> str:
    return (
        f"{kind}: {read} read, {created} created, {updated} updated, {unchanged} unchanged, {failed} failed"
    )


# --- 1. schema -------------------------------------------------------------------------------------------


def test_db_upgrade_is_idempotent(cli_env: dict[str, str]) -> None:
    for _ in range(2):
        result = run("db", "upgrade", env=cli_env)
        assert result.returncode == 0, result.stderr
        database = make_url(settings_for(cli_env).sqlalchemy_url).render_as_string(hide_password=True)
        # The first run also says which factor libraries it loaded (`test_factors`).
        assert result.stdout.splitlines()[0] == f"database at {database} is up to date"
    with db_session(cli_env) as session:
        assert session.scalar(text("SELECT count(*) FROM alembic_version")) == 1
        assert session.scalar(select(func.count()).select_from(Offer)) == 0


# --- 2-5. offers and needs in the exchange format --------------------------------------------------------


@needs_shared_data
def test_import_offers_then_reimport_changes_nothing(cli_env: dict[str, str]) -> None:
    first = run("import", "offers", shared_relative(OFFERS_JSONL), env=cli_env)
    assert first.returncode == 0, first.stderr
    assert report_line("offers", read=240, created=240, updated=0, unchanged=0, failed=0) in first.stdout
    versions = offer_versions(cli_env)
    assert len(versions) == 240

    again = run("import", "offers", shared_relative(OFFERS_JSONL), env=cli_env)
    assert again.returncode == 0, again.stderr
    assert report_line("offers", read=240, created=0, updated=0, unchanged=240, failed=0) in again.stdout
    assert count(cli_env, Offer) == 240
    assert offer_versions(cli_env) == versions


@needs_shared_data
def test_broken_lines_are_reported_and_the_rest_imports(cli_env: dict[str, str], tmp_path: Path) -> None:
    lines = OFFERS_JSONL.read_text(encoding="utf-8").splitlines()
    lost_id = json.loads(lines[4])["id"]
    lines[4] = lines[4][:40]  # line 5: cut short, not JSON
    bad_unit = json.loads(lines[8])
    bad_unit.update(pcf_value=1.5, pcf_unit="kgCO2/kg", declared_unit="kg")  # line 9: CO2, not CO2e
    lines[8] = json.dumps(bad_unit, ensure_ascii=False)
    broken = tmp_path / "offers-broken.jsonl"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = run("import", "offers", broken, env=cli_env)

    assert_clean_failure(result)
    assert report_line("offers", read=240, created=238, updated=0, unchanged=0, failed=2) in result.stdout
    reasons = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert len(reasons) == 2, result.stderr
    assert reasons[0].startswith("line 5:") and "invalid JSON" in reasons[0]
    assert reasons[1].startswith(f"line 9 (id {bad_unit['id']}):")
    assert "pcf_unit" in reasons[1] and "kgCO2/kg" in reasons[1] and "unknown" in reasons[1]
    with db_session(cli_env) as session:
        ids = set(session.scalars(select(Offer.external_id)))
    assert len(ids) == 238
    assert bad_unit["id"] not in ids
    assert lost_id not in ids


@needs_shared_data
def test_csv_imports_the_same_offers_as_jsonl(cli_env: dict[str, str], tmp_path: Path) -> None:
    offers_csv = write_offers_csv(tmp_path / "offers.csv", jsonl_records(OFFERS_JSONL))

    result = run("import", "offers", offers_csv, env=cli_env)
    assert result.returncode == 0, result.stderr
    assert report_line("offers", read=240, created=240, updated=0, unchanged=0, failed=0) in result.stdout

    # The JSON Lines file describes exactly the same offers: nothing to change.
    same = run("import", "offers", OFFERS_JSONL, env=cli_env)
    assert same.returncode == 0, same.stderr
    assert report_line("offers", read=240, created=0, updated=0, unchanged=240, failed=0) in same.stdout


@needs_shared_data
def test_import_needs(cli_env: dict[str, str]) -> None:
    result = run("import", "needs", shared_relative(NEEDS_JSONL), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert report_line("needs", read=20, created=20, updated=0, unchanged=0, failed=0) in result.stdout
    assert count(cli_env, Need) == 20

    again = run("import", "needs", NEEDS_JSONL, env=cli_env)
    assert again.returncode == 0, again.stderr
    assert report_line("needs", read=20, created=0, updated=0, unchanged=20, failed=0) in again.stdout
    assert count(cli_env, Need) == 20


# --- 6. the Carbon Catalogue -----------------------------------------------------------------------------


@needs_shared_data
def test_import_carbon_catalogue(cli_env: dict[str, str]) -> None:
    result = run("import", "carbon-catalogue", shared_relative(CATALOGUE_CSV), env=cli_env)

    assert result.returncode == 0, result.stderr
    assert report_line("offers", read=866, created=866, updated=0, unchanged=0, failed=0) in result.stdout
    assert count(cli_env, Offer) == 866
    with CATALOGUE_CSV.open(encoding="utf-8-sig", newline="") as file:
        row = next(csv.DictReader(file))
    with db_session(cli_env) as session:
        offer, supplier = session.execute(
            select(Offer, Organisation)
            .join(Organisation, Offer.owner_id == Organisation.id)
            .where(Offer.external_id == row["*PCF-ID"], Organisation.name == row["Company"])
        ).one()
        assert supplier.kind == "vendor"
        assert supplier.admission_status == "admitted"
        assert offer.title == row["Product name (and functional unit)"]
        assert offer.pcf_value == pytest.approx(float(row["Product's carbon footprint (PCF, kg CO2e)"]))
        assert offer.pcf_unit == "kgCO2e/unit"
        assert offer.declared_unit == "unit"
        assert offer.pcf_verified is False
        assert offer.region == region_code(row["Country (where company is incorporated)"])  # stored by code
        assert offer.status == "published"
        assert offer.attributes["gics_industry_group"] == row["Company's GICS Industry Group"]


# --- 7-8. keys and the demo ------------------------------------------------------------------------------


def test_keys_create_prints_a_working_key_last(cli_env: dict[str, str]) -> None:
    result = run("keys", "create", "--org", "Acme Buyer", "--role", "buyer", env=cli_env)

    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("mm_")
    with db_session(cli_env) as session:
        principal = authenticate(session=session, plaintext=key)
        organisation = session.get(Organisation, principal.organisation_id)
        assert principal.role == "buyer"
        assert organisation is not None and organisation.name == "Acme Buyer"
    with api_client(cli_env) as client:
        me = client.get("/organisations/me", headers=bearer(key))
        assert me.status_code == 200, me.text
        assert me.json()["name"] == "Acme Buyer"
        assert me.json()["kind"] == "buyer"
        assert me.json()["admission_status"] == "admitted"
        assert client.get("/organisations/me", headers=bearer(key[:-2] + "xx")).status_code == 401


def test_demo_prints_working_keys_and_is_idempotent(cli_env: dict[str, str]) -> None:
    result = run("demo", env=cli_env)

    assert result.returncode == 0, result.stderr
    keys = {
        match[1]: match["key"]
        for line in result.stdout.splitlines()
        if (match := KEY_LINE.match(line.strip()))
    }
    assert set(keys) == {"operator", "buyer", "vendor"}, result.stdout
    demo_offers = count(cli_env, Offer)
    assert demo_offers > 0
    with api_client(cli_env) as client:
        for role in ("vendor", "buyer"):
            response = client.get("/offers", headers=bearer(keys[role]))
            assert response.status_code == 200, response.text
            assert response.json()["items"], f"the {role} sees no demo offers"
        me = client.get("/organisations/me", headers=bearer(keys["operator"]))
        assert me.status_code == 200 and me.json()["kind"] == "operator"

    again = run("demo", env=cli_env)
    assert again.returncode == 0, again.stderr
    assert count(cli_env, Offer) == demo_offers
    assert f"demo offers: 0 created, 0 updated, {demo_offers} unchanged, 0 failed" in again.stderr


# --- 9. errors a user can cause --------------------------------------------------------------------------


def test_missing_file_is_a_one_line_error(cli_env: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "offers.jsonl"
    result = run("import", "offers", missing, env=cli_env)
    assert_clean_failure(result)
    assert result.stderr.strip().splitlines() == [f"error: no such file: {missing}"]


def test_unknown_role_is_a_usage_error(cli_env: dict[str, str]) -> None:
    result = run("keys", "create", "--org", "X", "--role", "king", env=cli_env)
    assert_clean_failure(result, code=2)
    assert "--role" in result.stderr and "king" in result.stderr


@needs_shared_data
def test_needs_passed_as_offers_are_each_rejected(cli_env: dict[str, str]) -> None:
    result = run("import", "offers", NEEDS_JSONL, env=cli_env)

    assert_clean_failure(result)
    assert report_line("offers", read=20, created=0, updated=0, unchanged=0, failed=20) in result.stdout
    reasons = result.stderr.strip().splitlines()
    assert len(reasons) == 20
    for number, (reason, need) in enumerate(zip(reasons, jsonl_records(NEEDS_JSONL), strict=True), start=1):
        assert reason.startswith(f"line {number} (id {need['id']}):")
        assert "supplier: Field required" in reason
    assert count(cli_env, Offer) == 0


def test_file_that_is_not_utf8_is_refused(cli_env: dict[str, str], tmp_path: Path) -> None:
    latin1 = tmp_path / "offers.jsonl"
    latin1.write_bytes('{"id": "x", "title": "Stahl für Brücken"}\n'.encode("latin-1"))
    result = run("import", "offers", latin1, env=cli_env)
    assert_clean_failure(result)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not UTF-8" in result.stderr


@needs_shared_data
def test_carbon_catalogue_refuses_another_file(cli_env: dict[str, str]) -> None:
    result = run("import", "carbon-catalogue", OFFERS_JSONL, env=cli_env)
    assert_clean_failure(result)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not a Carbon Catalogue product_level.csv" in result.stderr


def test_key_for_an_organisation_of_another_kind_is_refused(cli_env: dict[str, str]) -> None:
    assert run("keys", "create", "--org", "Acme", "--role", "buyer", env=cli_env).returncode == 0
    result = run("keys", "create", "--org", "Acme", "--role", "operator", env=cli_env)
    assert_clean_failure(result)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "'Acme' is a buyer" in result.stderr
    assert "mm_" not in result.stdout


def test_unreachable_database_is_a_one_line_error(cli_env: dict[str, str]) -> None:
    env = dict(cli_env, MATCHMAKER_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    result = run("db", "upgrade", env=env)
    assert_clean_failure(result)
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: database unreachable")


# --- bugs found ------------------------------------------------------------------------------------------
# The CLI prints user-supplied text (reasons quoting bad values, file paths, organisation names) through
# rich with markup on, so text such as "[/x]" raises rich.errors.MarkupError.


@needs_shared_data
def test_reason_quoting_brackets_is_printed_not_parsed_as_markup(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    good = jsonl_records(OFFERS_JSONL)[0]
    bad = dict(good, id="bad-category", category="[/oops]")
    result = run("import", "offers", write_jsonl(tmp_path / "o.jsonl", [good, bad]), env=cli_env)
    assert_clean_failure(result)
    assert "line 2 (id bad-category):" in result.stderr and "[/oops]" in result.stderr
    assert count(cli_env, Offer) == 1  # the good line stays imported


def test_key_for_an_organisation_with_brackets_in_its_name_is_shown(cli_env: dict[str, str]) -> None:
    result = run("keys", "create", "--org", "Evil [/x] Corp", "--role", "buyer", env=cli_env)
    assert "Traceback" not in result.stderr
    assert result.returncode == 0
    assert result.stdout.strip().splitlines()[-1].startswith("mm_")


def test_missing_file_with_brackets_in_its_path_is_a_one_line_error(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "export[/x].jsonl"
    result = run("import", "offers", missing, env=cli_env)
    assert_clean_failure(result)
    assert result.stderr.strip().splitlines() == [f"error: no such file: {missing}"]


@needs_shared_data
def test_jsonl_string_with_a_unicode_line_separator_is_one_record(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    record = dict(jsonl_records(OFFERS_JSONL)[0], description="first paragraph\u2028second paragraph")
    result = run("import", "offers", write_jsonl(tmp_path / "o.jsonl", [record]), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert report_line("offers", read=1, created=1, updated=0, unchanged=0, failed=0) in result.stdout


@needs_shared_data
def test_csv_offer_with_an_empty_description_imports(cli_env: dict[str, str], tmp_path: Path) -> None:
    record = dict(jsonl_records(OFFERS_JSONL)[0], description="")
    assert run("import", "offers", write_jsonl(tmp_path / "o.jsonl", [record]), env=cli_env).returncode == 0
    result = run("import", "offers", write_offers_csv(tmp_path / "o.csv", [record]), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert report_line("offers", read=1, created=0, updated=0, unchanged=1, failed=0) in result.stdout


@pytest.mark.parametrize(
    ("args", "settings", "says"),
    [
        (["db", "upgrade"], {"MATCHMAKER_MAX_BODY_BYTES": "abc"}, "invalid configuration: max_body_bytes"),
        (["db", "upgrade"], {"MATCHMAKER_DATABASE_URL": "bogus://x"}, "invalid database URL"),
        (["pact", "import", "{deep}"], {}, "nested too deeply"),
        (
            ["keys", "create", "--org", "x\udcff", "--role", "vendor"],
            {},
            "cannot be read or written as UTF-8",
        ),
        (["keys", "create", "--org", "b" * 300, "--role", "vendor"], {}, ""),
        (["db", "upgrade"], {"MATCHMAKER_DATABASE_URL": "mysql://x@localhost/y"}, "is not installed"),
        (["eval-constraints", "--texts", "{bad}"], {}, "line 1: not JSON"),
        (["eval-constraints", "--at-least", "nan"], {}, "from 0 to 1"),
    ],
    ids=[
        "bad-setting",
        "bad-database-url",
        "deep-json",
        "undecodable-argument",
        "long-name",
        "driver-not-installed",
        "not-labelled-texts",
        "nan-bar",
    ],
)
def test_mistakes_found_deep_inside_a_command_are_one_line(
    cli_env: dict[str, str], tmp_path: Path, args: list[str], settings: dict[str, str], says: str
) -> None:
    """Found by hostile testing: each of these printed a traceback."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("[[[[\n")
    # An argument that is not UTF-8 reaches Python as a lone surrogate, as it does from a shell.
    argv = [os.fsencode(arg.replace("{deep}", str(deep)).replace("{bad}", str(bad))) for arg in args]
    result = subprocess.run(
        [*cli_command(), *argv], env={**cli_env, **settings}, cwd=REPO, text=True, capture_output=True,
        timeout=300, check=False,
    )  # fmt: skip
    if not says:  # a name longer than the API allows: refused (PostgreSQL) or kept, never a traceback
        assert "Traceback" not in result.stderr, result.stderr
        return
    assert_clean_failure(result)
    assert says in result.stderr, result.stderr


def test_a_port_out_of_range_is_refused_before_serving(cli_env: dict[str, str]) -> None:
    result = run("serve", "--port", "99999", env=cli_env)
    assert_clean_failure(result, code=2)
    assert "65535" in result.stderr
