"""The HTTP layer holds under hostile input: bodies are bounded while they are read, a caller without a
valid key is turned away before its body is read, an unexpected error is a 500 that keeps the connection,
a 405 names every method of its path, and the OpenAPI document declares every status these answer.

The memory test runs `matchmaker serve` as a subprocess (on SQLite, or on PostgreSQL when the run tests
it) and watches its resident memory in /proc while a 200 MB body is streamed at it.
"""

from __future__ import annotations

import json
import logging
import re
import select
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.app import create_app
from matchmaker.config import Settings
from matchmaker.errors import PROBLEM_MEDIA_TYPE
from matchmaker.parties import service as party_service
from tests.cli_support import ok
from tests.factories import World
from tests.servers import app_in_thread, cli_environment, serving_process
from tests.web_support import csrf_token, sign_in

MAX_BODY = 8 * 1024
MAX_IMPORT = 64 * 1024
# The OpenAPI document needs no database.
DOCUMENT: dict[str, Any] = create_app(Settings(environment="test", data_dir=Path("unused"))).openapi()
OPERATIONS = {
    f"{method.upper()} {path}": operation
    for path, operations in DOCUMENT["paths"].items()
    for method, operation in operations.items()
}
PATH_VALUES = {"code": "CN100", "footprint_id": "urn:uuid:0"}


def concrete(path: str) -> str:
    """The path with each parameter filled in: 1 for an id, a fixed value for the others."""
    return re.sub(r"\{(\w+)\}", lambda match: PATH_VALUES.get(match.group(1), "1"), path)


def media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip()


@pytest.fixture
def limited(tmp_path: Path, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    """The app with small body limits, so that crossing them is cheap."""
    settings = Settings(
        environment="test", data_dir=tmp_path, max_body_bytes=MAX_BODY, max_import_bytes=MAX_IMPORT
    )
    with TestClient(create_app(settings, session_factory=session_factory)) as client:
        yield client


# --- bodies are bounded while they are read ----------------------------------------------------------


def pieces(total: int, size: int = 1024) -> Iterator[bytes]:
    """A body of `total` bytes from a generator: sent chunked, with no Content-Length."""
    yield b'{"title": "'
    for _ in range(total // size):
        yield b"x" * size
    yield b'"}'


@pytest.mark.parametrize("sent", ["declared", "streamed"])
def test_a_json_body_over_the_limit_is_a_413_problem(limited: TestClient, world: World, sent: str) -> None:
    body: Any = b"".join(pieces(2 * MAX_BODY)) if sent == "declared" else pieces(2 * MAX_BODY)
    headers = {**world.member_vendor.headers, "Content-Type": "application/json"}

    response = limited.post("/offers", content=body, headers=headers)

    assert response.status_code == 413, response.text
    assert media_type(response) == PROBLEM_MEDIA_TYPE
    assert response.json()["status"] == 413
    assert str(MAX_BODY) in response.json()["detail"]


def test_a_form_over_the_limit_is_refused_too(limited: TestClient) -> None:
    response = limited.post(
        "/auth/token", data={"grant_type": "client_credentials", "pad": "x" * 2 * MAX_BODY}
    )
    assert response.status_code == 413, response.text


def test_an_import_may_be_larger_than_a_json_body_up_to_its_own_limit(
    limited: TestClient, world: World
) -> None:
    headers = {**world.member_vendor.headers, "Content-Type": "application/x-ndjson"}
    record = {"supplier": world.member_vendor.organisation.name, "title": "Rebar", "kind": "product"}
    record |= {"category": "steel", "pcf_value": 0.5, "pcf_unit": "tCO2e/t", "description": "d" * 500}
    lines = "".join(json.dumps({"id": f"big-{n}", **record}) + "\n" for n in range(40)).encode()
    assert MAX_BODY < len(lines) < MAX_IMPORT

    accepted = limited.post("/imports/offers", content=lines, headers=headers)
    refused = limited.post("/imports/offers", content=lines * (MAX_IMPORT // len(lines) + 1), headers=headers)

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["errors"] == [], accepted.text
    assert refused.status_code == 413, refused.text
    assert media_type(refused) == PROBLEM_MEDIA_TYPE


def test_an_uploaded_file_may_be_larger_than_a_form(limited: TestClient, world: World) -> None:
    sign_in(limited, world.member_vendor.key)
    record = {"supplier": world.member_vendor.organisation.name, "title": "Rebar", "kind": "product"}
    record |= {"category": "steel", "pcf_value": 0.5, "pcf_unit": "tCO2e/t", "description": "d" * 500}
    lines = "".join(json.dumps({"id": f"page-{n}", **record}) + "\n" for n in range(40)).encode()
    assert MAX_BODY < len(lines) < MAX_IMPORT
    token = csrf_token(limited, "/ui/offers/upload")

    response = limited.post(
        "/ui/offers/upload",
        data={"csrf_token": token},
        files={"file": ("offers.jsonl", lines, "application/x-ndjson")},
    )

    assert response.status_code == 200, response.text
    assert re.search(r'data-testid="created">40<', response.text), response.text


# --- a caller without a valid key is turned away before its body is read -------------------------------

WITH_BODY_AND_KEY = sorted(
    label
    for label, operation in OPERATIONS.items()
    if "requestBody" in operation and operation.get("security")
)


@pytest.mark.parametrize("key", [None, "mm_000000000000_forged"])
@pytest.mark.parametrize("label", WITH_BODY_AND_KEY)
def test_no_valid_key_is_a_401_before_the_body_is_read(
    client: TestClient, world: World, label: str, key: str | None
) -> None:
    """A body that is not even JSON: read first, it would be a 422."""
    method, path = label.split(" ", 1)
    headers = {"Content-Type": "application/json", **({"X-API-Key": key} if key else {})}

    response = client.request(method, concrete(path), content=b'{"unfinished', headers=headers)

    assert response.status_code == 401, response.text
    assert media_type(response) == PROBLEM_MEDIA_TYPE
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_key_is_checked_once_per_request(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    authenticate = party_service.authenticate

    def counted(**arguments: Any) -> Any:
        calls.append(arguments["plaintext"])
        return authenticate(**arguments)

    monkeypatch.setattr(party_service, "authenticate", counted)
    offer = {
        "title": "Rebar",
        "kind": "product",
        "category": "steel",
        "pcf_value": 0.5,
        "pcf_unit": "tCO2e/t",
    }

    created = client.post("/offers", json=offer, headers=world.member_vendor.headers)
    read = client.get(f"/offers/{created.json()['id']}", headers=world.member_vendor.headers)

    assert (created.status_code, read.status_code) == (201, 200), (created.text, read.text)
    assert calls == [world.member_vendor.key] * 2


# --- a real server's memory while a 200 MB body arrives ------------------------------------------------

HUGE = 200 * 1024 * 1024
CHUNK = 256 * 1024


def resident_kib(process: subprocess.Popen[bytes]) -> int:
    status = Path(f"/proc/{process.pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE).group(1))  # type: ignore[union-attr]


def send_huge_body(
    url: str, path: str, headers: dict[str, str], *, declared: bool, watch: subprocess.Popen[bytes]
) -> tuple[int, int, int]:
    """POST a 200 MB body (with a Content-Length, or chunked), stopping once the server answers; return
    the status, the bytes sent and the highest resident memory (KiB) seen while sending."""
    parts = urlsplit(url)
    framing = {"Content-Length": str(HUGE)} if declared else {"Transfer-Encoding": "chunked"}
    head = f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in {**headers, **framing}.items()) + "\r\n"
    chunk = b"x" * CHUNK
    framed = chunk if declared else b"%x\r\n%s\r\n" % (len(chunk), chunk)
    sent, highest = 0, resident_kib(watch)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as connection:
        connection.sendall(head.encode())
        try:
            while sent < HUGE and not select.select([connection], [], [], 0)[0]:
                connection.sendall(framed)
                sent += len(chunk)
                if sent % (8 * CHUNK) == 0:
                    highest = max(highest, resident_kib(watch))
        except OSError:  # the server answered and closed, or stopped reading: its answer is waiting
            pass
        answer = b""
        while b"\r\n" not in answer:
            received = connection.recv(4096)
            if not received:
                break
            answer += received
    highest = max(highest, resident_kib(watch))
    return int(answer.split(b" ", 2)[1]), sent, highest


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen[bytes], str]]:
    with cli_environment(tmp_path_factory.mktemp("limits")) as env:
        ok("db", "upgrade", env=env)
        key = ok("keys", "create", "--org", "Hostile Mill", "--role", "vendor", env=env).stdout.split()[-1]
        with serving_process(env) as (url, process):
            yield url, process, key


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "chunked"])
@pytest.mark.parametrize(("keyed", "status"), [(False, 401), (True, 413)], ids=["no-key", "key"])
def test_a_200_mb_body_costs_the_server_almost_no_memory(
    server: tuple[str, subprocess.Popen[bytes], str], keyed: bool, status: int, declared: bool
) -> None:
    url, process, key = server
    headers = {"Authorization": f"Bearer {key}"} if keyed else {}
    before = resident_kib(process)

    answered, sent, highest = send_huge_body(url, "/offers", headers, declared=declared, watch=process)
    time.sleep(0.5)  # anything the server kept would still be there
    after = resident_kib(process)

    assert answered == status
    assert sent < HUGE // 4, f"the server read {sent} bytes before answering"
    assert highest - before < 64 * 1024, f"resident memory grew by {(highest - before) // 1024} MiB"
    assert after - before < 32 * 1024, f"resident memory kept {(after - before) // 1024} MiB"
    assert httpx.get(f"{url}/healthz").status_code == 200


# --- an unexpected error is a 500 that keeps the connection --------------------------------------------


def test_a_500_is_problem_json_logged_and_the_connection_stays_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(environment="test", data_dir=tmp_path))

    @app.get("/test/boom")
    def boom() -> None:
        raise RuntimeError("deliberate failure")

    @app.get("/test/port")
    async def client_port(request: Request) -> int:
        """The client's port: the same on two requests only if they came over one connection."""
        assert request.client is not None
        return request.client.port

    with app_in_thread(app) as server_port, httpx.Client(base_url=f"http://127.0.0.1:{server_port}") as http:
        first = http.get("/test/port")
        with caplog.at_level(logging.ERROR):
            failed = http.get("/test/boom")
        second = http.get("/test/port")

    assert failed.status_code == 500
    assert media_type(failed) == PROBLEM_MEDIA_TYPE
    assert failed.json()["status"] == 500 and "deliberate" not in failed.text
    assert first.json() == second.json(), "the connection was closed after the 500"
    logged = [record for record in caplog.records if record.exc_info]
    assert logged and "deliberate failure" in str(logged[0].exc_info[1])  # type: ignore[index]


# --- a 405 names every method of its path --------------------------------------------------------------

PAGES = {
    "/ui/sign-in": {"GET", "POST"},
    "/ui/offers/upload": {"GET", "POST"},
    "/ui/static/app.css": {"GET", "HEAD"},
}


def methods_of(path: str) -> set[str]:
    """The methods of every documented path this one matches (/organisations/me is also an
    /organisations/{organisation_id}, whose PATCH answers 422, not 405)."""
    if path in PAGES:
        return PAGES[path]
    url = concrete(path)
    return {
        method.upper()
        for template, operations in DOCUMENT["paths"].items()
        if re.fullmatch(re.sub(r"\\{\w+\\}", "[^/]+", re.escape(template)), url)
        for method in operations
    }


@pytest.mark.parametrize("path", [*DOCUMENT["paths"], *PAGES])
def test_a_405_names_every_method_of_its_path(client: TestClient, path: str) -> None:
    allowed = methods_of(path)
    method = next(m for m in ("PUT", "PATCH", "DELETE", "POST", "GET") if m not in allowed)

    response = client.request(method, concrete(path))

    assert response.status_code == 405, response.text
    assert set(response.headers["allow"].split(", ")) == allowed
    if not path.startswith(("/3/", "/ui/")):
        assert media_type(response) == PROBLEM_MEDIA_TYPE


# --- the OpenAPI document declares what the operations answer ------------------------------------------


def declared(label: str, status: int) -> bool:
    return str(status) in OPERATIONS[label]["responses"]


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_the_document_declares_the_errors_every_operation_answers(
    limited: TestClient, world: World, label: str
) -> None:
    """A NUL in the URL (400), no key (401), a body past the limit (413): each is declared where it occurs."""
    method, path = label.split(" ", 1)
    url = concrete(path)
    answered = {limited.request(method, url, params={"q": "\x00"}).status_code}
    operation = OPERATIONS[label]
    if operation.get("security"):
        answered.add(limited.request(method, url).status_code)
    if "requestBody" in operation:
        size = MAX_IMPORT if path.startswith("/imports/") else MAX_BODY
        too_large = limited.request(
            method,
            url,
            content=b"[" + b" " * size + b"]",
            headers={**world.operator.headers, "Content-Type": "application/json"},
        )
        answered.add(too_large.status_code)
    assert {status for status in answered if not declared(label, status)} == set(), answered
