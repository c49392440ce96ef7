"""`matchmaker pact pull` and `pact clients create` run as subprocesses: how a secret is given (environment,
file, or the option kept for compatibility), that it never shows, and pulls a misbehaving host cuts short.

The host is the fake PACT host of tests/test_pact_client.py on a loopback port, serving valid footprints.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from matchmaker.db.models import Offer, PactClient
from tests.cli_support import assert_clean_failure, db_session, ok, run
from tests.test_pact_client import CLIENT_ID, SECRET, FakeHost, HostState, fake_host
from tests.test_pact_mapping import STEEL_COIL, fixture

SECRET_ENV = "MATCHMAKER_PACT_CLIENT_SECRET"
CALLBACK_SECRET_ENV = "MATCHMAKER_PACT_CALLBACK_CLIENT_SECRET"
FOOTPRINT_IDS = [str(uuid.UUID(int=n)) for n in range(1, 6)]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeHost]:
    with fake_host() as host:
        yield host


@pytest.fixture
def host(server: FakeHost) -> FakeHost:
    """Five valid footprints, two a page."""
    server.state = HostState(footprints=[fixture(STEEL_COIL, id=id_) for id_ in FOOTPRINT_IDS], max_limit=2)
    return server


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:
    # The CLI's httpx honours proxy variables; the fake host is on loopback.
    return cli_env | {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


def pull(host: FakeHost, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run("pact", "pull", "--base-url", host.base_url, "--client-id", CLIENT_ID, *args, env=env)


def imported_ids(env: dict[str, str]) -> list[str]:
    with db_session(env) as session:
        return sorted(session.scalars(select(Offer.external_id)))


def assert_one_line_usage_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert_clean_failure(result, code=2)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error: ") and all(f in result.stderr for f in fragments), result.stderr


# --- where the secret comes from ------------------------------------------------------------------------


def test_pull_takes_the_secret_from_the_environment(host: FakeHost, env: dict[str, str]) -> None:
    result = ok(
        "pact", "pull", "--base-url", host.base_url, "--client-id", CLIENT_ID, env=env | {SECRET_ENV: SECRET}
    )
    assert "5 read, 5 created" in result.stdout
    assert imported_ids(env) == FOOTPRINT_IDS
    assert len(host.state.data_requests()) == 3


def test_pull_takes_the_secret_from_a_file_without_its_trailing_newline(
    host: FakeHost, env: dict[str, str], tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    result = pull(host, "--client-secret-file", str(secret_file), env=env)
    assert result.returncode == 0, result.stderr
    assert imported_ids(env) == FOOTPRINT_IDS


def test_the_secret_option_still_works(host: FakeHost, env: dict[str, str]) -> None:
    assert pull(host, "--client-secret", SECRET, env=env).returncode == 0


@pytest.mark.parametrize(
    ("args", "environment", "named"),
    [
        (["--client-secret", SECRET], {SECRET_ENV: SECRET}, ["--client-secret and " + SECRET_ENV]),
        (["--client-secret-file", "secret"], {SECRET_ENV: SECRET}, [SECRET_ENV, "--client-secret-file"]),
        (["--client-secret", SECRET, "--client-secret-file", "secret"], {}, ["--client-secret and "]),
    ],
    ids=["option-and-env", "env-and-file", "option-and-file"],
)
def test_two_sources_of_the_secret_are_refused(
    host: FakeHost, env: dict[str, str], tmp_path: Path, args: list[str], environment: dict[str, str],
    named: list[str],
) -> None:  # fmt: skip
    (tmp_path / "secret").write_text(SECRET, encoding="utf-8")
    args = [str(tmp_path / arg) if arg == "secret" else arg for arg in args]
    result = pull(host, *args, env=env | environment)
    assert_one_line_usage_error(result, "give the secret one way", *named)
    assert SECRET not in result.stderr + result.stdout
    assert host.state.requests == []


def test_a_missing_or_empty_secret_file_is_a_one_line_error(
    host: FakeHost, env: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "secret"
    assert_one_line_usage_error(
        pull(host, "--client-secret-file", str(missing), env=env),
        f"cannot read --client-secret-file {missing}",
    )
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    assert_one_line_usage_error(pull(host, "--client-secret-file", str(empty), env=env), "is empty")
    assert_one_line_usage_error(
        pull(host, "--client-secret-file", str(tmp_path), env=env), "cannot read --client-secret-file"
    )
    assert host.state.requests == []


def test_no_secret_at_all_is_a_one_line_error(host: FakeHost, env: dict[str, str]) -> None:
    assert_one_line_usage_error(pull(host, env=env), "no client secret", SECRET_ENV, "--client-secret-file")


def test_a_wrong_secret_never_shows_even_when_the_host_echoes_it(
    host: FakeHost, env: dict[str, str], tmp_path: Path
) -> None:
    wrong = "wrong-Secret-31337"
    secret_file = tmp_path / "secret"
    secret_file.write_text(wrong, encoding="utf-8")
    for result in (
        pull(host, env=env | {SECRET_ENV: wrong}),
        pull(host, "--client-secret-file", str(secret_file), env=env),
        pull(host, "--client-secret", wrong, env=env),
    ):
        assert_clean_failure(result)
        assert "authentication failed" in result.stderr and "401 invalid_client" in result.stderr
        assert wrong not in result.stdout + result.stderr
    assert host.state.data_requests() == []  # nothing pulled, so nothing imported


# --- pulls cut short ------------------------------------------------------------------------------------


def test_a_next_link_that_loops_stops_and_imports_what_was_read(host: FakeHost, env: dict[str, str]) -> None:
    host.state.link = '<{loop}>; rel="next"'  # page 2 points back to page 1
    result = pull(host, env=env | {SECRET_ENV: SECRET})
    assert_clean_failure(result)
    assert "stopped after 2 pages: pagination loop: the next link" in result.stderr
    assert f"{host.base_url}/3/footprints?limit=100" in result.stderr
    assert "4 read, 4 created" in result.stdout
    assert result.stderr.strip().splitlines()[-1] == (
        "error: incomplete pull (stopped after page 2): the 4 footprints read were imported"
    )
    assert imported_ids(env) == FOOTPRINT_IDS[:4]


def test_max_pages_stops_after_that_many_pages_and_says_so(host: FakeHost, env: dict[str, str]) -> None:
    result = pull(host, "--max-pages", "2", env=env | {SECRET_ENV: SECRET})
    assert_clean_failure(result)
    assert "stopped after 2 pages: reached the cap of 2 pages while the host lists more" in result.stderr
    assert "4 read, 4 created" in result.stdout
    assert imported_ids(env) == FOOTPRINT_IDS[:4]
    assert len(host.state.data_requests()) == 2
    # Enough pages for everything: a complete pull.
    assert "1 created, 0 updated, 4 unchanged" in ok(
        "pact", "pull", "--base-url", host.base_url, "--client-id", CLIENT_ID, "--max-pages", "3",
        env=env | {SECRET_ENV: SECRET},
    ).stdout  # fmt: skip


# --- callback credentials of our own clients --------------------------------------------------------------


def callback_secrets(env: dict[str, str]) -> list[str | None]:
    with db_session(env) as session:
        return list(session.scalars(select(PactClient.callback_client_secret).order_by(PactClient.id)))


def test_clients_create_takes_the_callback_secret_from_the_environment_or_a_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    ok("keys", "create", "--org", "Peer Buyer", "--role", "buyer", env=env)
    create = ["pact", "clients", "create", "--org", "Peer Buyer", "--callback-url", "http://127.0.0.1:9"]
    with_id = [*create, "--callback-client-id", "ours-at-theirs"]
    secret_file = tmp_path / "callback-secret"
    secret_file.write_text("from-a-file\r\n", encoding="utf-8")
    for result in (
        ok(*with_id, env=env | {CALLBACK_SECRET_ENV: "from-the-env"}),
        ok(*with_id, "--callback-client-secret-file", str(secret_file), env=env),
        ok(*create, env=env),
    ):
        assert "from-" not in result.stdout + result.stderr
    assert callback_secrets(env) == ["from-the-env", "from-a-file", None]

    both = run(
        *with_id, "--callback-client-secret-file", str(secret_file), env=env | {CALLBACK_SECRET_ENV: "x"}
    )
    assert_one_line_usage_error(both, CALLBACK_SECRET_ENV, "--callback-client-secret-file")
    missing = run(*with_id, "--callback-client-secret-file", str(tmp_path / "nope"), env=env)
    assert_one_line_usage_error(missing, "cannot read --callback-client-secret-file")
    without_id = run(*create, env=env | {CALLBACK_SECRET_ENV: "from-the-env"})
    assert_one_line_usage_error(without_id, "needs --callback-client-id")
    assert len(callback_secrets(env)) == 3
