"""The PACT host behind a reverse proxy: absolute URLs start with the configured public URL (its path prefix
kept), and a public URL that is not an absolute http(s) URL is refused when the settings load."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.app import create_app
from matchmaker.config import Settings
from matchmaker.pact.service import create_client
from tests.factories import World
from tests.test_pact_host import Credentials, footprints, token_for

PUBLIC = "https://pcf.example.org/matchmaker"
# What the app sees behind a TLS-terminating proxy: plain HTTP to an internal address.
INTERNAL = "http://10.0.0.7:8000"


@pytest.fixture
def proxied(tmp_path: Path, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    settings = Settings(environment="test", data_dir=tmp_path, public_url=PUBLIC + "/")
    with TestClient(create_app(settings, session_factory=session_factory), base_url=INTERNAL) as client:
        yield client


@pytest.fixture
def member_client(session: Session, world: World) -> Credentials:
    new = create_client(session=session, organisation=world.buyer.organisation, label="member")
    session.commit()
    return Credentials(new.client.client_id, new.secret)


def next_link(link: str) -> str:
    assert link.endswith('; rel="next"'), link
    return link.split(">", 1)[0].lstrip("<")


def test_discovery_names_the_public_token_endpoint(proxied: TestClient) -> None:
    document = proxied.get("/.well-known/openid-configuration").json()
    assert document["issuer"] == PUBLIC
    assert document["token_endpoint"] == f"{PUBLIC}/auth/token"


def test_the_next_link_is_public_and_keeps_the_prefix_and_the_filters(
    proxied: TestClient, member_client: Credentials
) -> None:
    headers = token_for(proxied, member_client)  # the token endpoint itself is unchanged
    everything = footprints(proxied, headers)
    collected = footprints(proxied, headers, limit=1, status="Active")
    url = next_link(proxied.get("/3/footprints?limit=1&status=Active", headers=headers).headers["link"])
    assert url == f"{PUBLIC}/3/footprints?status=Active&limit=1&offset=1"
    while url:
        # The proxy strips its prefix and forwards to the app.
        response = proxied.get(url.removeprefix(PUBLIC), headers=headers)
        assert response.status_code == 200, response.text
        collected += response.json()["data"]
        link = response.headers.get("link")
        url = next_link(link) if link else ""
        assert not url or url.startswith(f"{PUBLIC}/3/footprints?")
    assert collected == everything and len(everything) == 3


def test_without_a_public_url_the_requests_base_url_is_used(
    tmp_path: Path, session_factory: sessionmaker[Session], member_client: Credentials
) -> None:
    settings = Settings(environment="test", data_dir=tmp_path)
    assert settings.public_url is None
    with TestClient(create_app(settings, session_factory=session_factory), base_url=INTERNAL) as client:
        document = client.get("/.well-known/openid-configuration").json()
        assert document["token_endpoint"] == f"{INTERNAL}/auth/token"
        response = client.get("/3/footprints?limit=1", headers=token_for(client, member_client))
        assert next_link(response.headers["link"]) == f"{INTERNAL}/3/footprints?limit=1&offset=1"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://pcf.example.org", "https://pcf.example.org"),
        ("https://pcf.example.org/", "https://pcf.example.org"),
        ("http://pcf.example.org:8443/a/b/", "http://pcf.example.org:8443/a/b"),
        ("  ", None),
    ],
)
def test_a_public_url_is_normalised(given: str, kept: str | None) -> None:
    assert Settings(public_url=given).public_url == kept


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("pcf.example.org", "absolute http(s) URL"),
        ("/matchmaker", "absolute http(s) URL"),
        ("ftp://pcf.example.org", "absolute http(s) URL"),
        ("https://", "absolute http(s) URL"),
        ("https://pcf.example.org:port", "absolute http(s) URL"),
        ("https://pcf.example.org/a b", "absolute http(s) URL"),
        ("https://pcf.example.org/?x=1", "no query or fragment"),
        ("https://pcf.example.org/#top", "no query or fragment"),
        ("https://user:pw@pcf.example.org", "must not carry credentials"),
    ],
)
def test_an_invalid_public_url_is_refused_with_a_clear_message(given: str, message: str) -> None:
    with pytest.raises(ValidationError, match="public_url") as refused:
        Settings(public_url=given)
    assert message in str(refused.value)


@pytest.mark.parametrize("given", ["https://user:s3cret-77@pcf.example.org", "https://user:s3cret-77@x/?q=1"])
def test_credentials_in_a_public_url_never_reach_the_message(given: str) -> None:
    with pytest.raises(ValidationError, match="must not carry credentials") as refused:
        Settings(public_url=given)
    assert "s3cret-77" not in str(refused.value)  # a start-up error lands in logs


def test_the_public_url_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATCHMAKER_PUBLIC_URL", "https://pcf.example.org/mm/")
    assert Settings().public_url == "https://pcf.example.org/mm"
    monkeypatch.setenv("MATCHMAKER_PUBLIC_URL", "pcf.example.org")
    with pytest.raises(ValidationError, match="absolute http"):
        Settings()
