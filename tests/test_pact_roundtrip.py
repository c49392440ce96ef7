"""PACT end to end through real processes: one instance serves its published offers as a PACT host over
HTTPS; a second pulls them with `matchmaker pact pull` and, serving them in turn, gives the same footprints
back. Also: plain HTTP to the HTTPS port fails, and `matchmaker pact import` of a file with a bad footprint
reports it by position and imports the rest."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from matchmaker.db.models import Offer, Organisation
from matchmaker.pact.model import validate_footprint
from tests.cli_support import db_session, ok, run
from tests.servers import cli_environment, serving

DEMO_BUYER = "鼎岳钢铁集团 采购中心"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a certificate for the HTTPS host")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def new_client(env: dict[str, str], organisation: str) -> tuple[str, str]:
    lines = ok("pact", "clients", "create", "--org", organisation, env=env).stdout.splitlines()
    return lines[-2], lines[-1]


def all_footprints(url: str, credentials: tuple[str, str], verify: Path) -> list[dict[str, Any]]:
    with httpx.Client(verify=ssl.create_default_context(cafile=str(verify))) as http:
        token = http.post(
            f"{url}/auth/token", data={"grant_type": "client_credentials"}, auth=credentials
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        collected, next_url = [], f"{url}/3/footprints?limit=7"
        while next_url:
            response = http.get(next_url, headers=headers)
            assert response.status_code == 200, response.text
            collected += response.json()["data"]
            link = response.headers.get("link", "")
            next_url = link.split(">", 1)[0].lstrip("<") if link else ""
        return collected


@pytest.fixture(scope="module")
def host(
    tmp_path_factory: pytest.TempPathFactory, certificate: tuple[Path, Path]
) -> Iterator[dict[str, Any]]:
    cert, key = certificate
    with cli_environment(tmp_path_factory.mktemp("host")) as env:
        ok("demo", env=env)
        credentials = new_client(env, DEMO_BUYER)
        with serving(env, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key), scheme="https") as url:
            yield {"url": url, "credentials": credentials, "cert": cert}


def test_an_instance_pulls_another_instances_footprints_and_serves_the_same_ones_back(
    host: dict[str, Any], tmp_path: Path
) -> None:
    served = all_footprints(host["url"], host["credentials"], host["cert"])
    assert len(served) >= 20
    for footprint in served:
        validate_footprint(footprint)
    with cli_environment(tmp_path / "recipient") as env:
        env["SSL_CERT_FILE"] = str(host["cert"])  # trust the host's self-signed certificate
        client_id, secret = host["credentials"]
        pull = [
            "pact",
            "pull",
            "--base-url",
            host["url"],
            "--client-id",
            client_id,
            "--client-secret",
            secret,
        ]
        first = ok(*pull, env=env)
        assert f"{len(served)} created" in first.stdout
        again = ok(*pull, env=env)  # idempotent by footprint id
        assert f"0 created, 0 updated, {len(served)} unchanged" in again.stdout
        ok("keys", "create", "--org", "Recipient Rail", "--role", "buyer", env=env)
        credentials = new_client(env, "Recipient Rail")
        with serving(
            env,
            "--ssl-certfile",
            str(host["cert"]),
            "--ssl-keyfile",
            str(host["cert"].with_name("key.pem")),
            scheme="https",
        ) as url:
            served_again = all_footprints(url, credentials, host["cert"])
    by_id = {fp["id"]: fp for fp in served}
    assert {fp["id"]: fp for fp in served_again} == by_id


def test_plain_http_to_the_https_host_fails(host: dict[str, Any]) -> None:
    plain = host["url"].replace("https://", "http://", 1)
    try:
        response = httpx.get(f"{plain}/3/footprints", timeout=5)
    except httpx.HTTPError:
        return  # no answer at all: what the spec asks for
    assert response.status_code not in (200, 202)


def test_a_wrong_secret_is_one_line_and_nothing_is_imported(host: dict[str, Any], tmp_path: Path) -> None:
    with cli_environment(tmp_path / "recipient") as env:
        env["SSL_CERT_FILE"] = str(host["cert"])
        client_id, _ = host["credentials"]
        result = run(
            "pact",
            "pull",
            "--base-url",
            host["url"],
            "--client-id",
            client_id,
            "--client-secret",
            "wrong",
            env=env,
        )
        assert result.returncode == 1
        assert (
            result.stderr.startswith("error: ")
            and "401" in result.stderr
            and "Traceback" not in result.stderr
        )
        assert "wrong" not in result.stderr


def test_a_pact_file_with_a_bad_footprint_imports_the_rest_and_names_the_bad_one(
    host: dict[str, Any], tmp_path: Path
) -> None:
    served = all_footprints(host["url"], host["credentials"], host["cert"])[:3]
    broken = {**served[1], "pcf": {**served[1]["pcf"], "declaredUnitOfMeasurement": "hour"}}
    deprecated = {**served[2], "status": "Deprecated"}
    path = tmp_path / "footprints.json"
    path.write_text(json.dumps({"data": [served[0], broken, deprecated]}), encoding="utf-8")
    with cli_environment(tmp_path / "importer") as env:
        result = run("pact", "import", str(path), env=env)
        assert result.returncode == 1
        assert "line 2" in result.stderr and "hour" in result.stderr
        assert "3 read, 2 created" in result.stdout
        under_one = run("pact", "import", str(path), "--supplier", "Filed Under One Supplier", env=env)
        assert "3 read, 2 created" in under_one.stdout  # the same footprints, now offers of that supplier
        with db_session(env) as session:
            owners = session.scalars(
                select(Organisation.name)
                .join(Offer, Offer.owner_id == Organisation.id)
                .where(Offer.external_id == served[0]["id"])
            ).all()
        assert sorted(owners) == sorted([served[0]["companyName"], "Filed Under One Supplier"])
