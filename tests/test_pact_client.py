"""PactClient against a small fake PACT host served over real HTTP (uvicorn in a background thread).

One host serves the whole module; each test gets a fresh `HostState` that says how the host behaves and
records what it received.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from matchmaker.pact.client import PactClient, PactClientError, PullSettings, PullStopped
from tests.servers import app_in_thread

CLIENT_ID = "recipient-1"
SECRET = "s3cret-Value-9"
# The API lives under a subpath, as PACT base URLs may.
PREFIX = "/api"
IDS = [f"pf-{n}" for n in range(1, 6)]


@dataclass
class Canned:
    """One answer the host gives to a data request before serving real pages; status 0 drops the line."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class HostState:
    footprints: list[dict[str, Any]] = field(default_factory=lambda: [{"id": id_} for id_ in IDS])
    discovery: bool = False
    # Announce the token endpoint under this host name (another origin that reaches this same server).
    token_host: str | None = None
    accept_tokens: bool = True
    canned: deque[Canned] = field(default_factory=deque)
    delay: float = 0.0
    # Serve at most this many footprints a page, whatever the client asks for (hosts may serve fewer).
    max_limit: int | None = None
    # Placeholders: {next} absolute, {next_path} and {next_query} relative, {first} this page without
    # offset, {foreign} the next page on another host, {loop} the next page from the first, else the first.
    link: str = '<{next}>; rel="next"'
    body: Any = None
    requests: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)

    def data_requests(self) -> list[str]:
        return [line for line in self.requests if "/footprints" in line]


class FakeHost:
    """A PACT host with the token endpoint, optional discovery and the v2 and v3 listings."""

    def __init__(self) -> None:
        self.state = HostState()
        self.port = 0
        self.app = Starlette(
            routes=[
                Mount(
                    PREFIX,
                    routes=[
                        Route("/.well-known/openid-configuration", self.discovery),
                        Route("/auth/token", self.token, methods=["POST"]),
                        Route("/oauth/token", self.token, methods=["POST"]),
                        Route("/{version:int}/footprints", self.footprints),
                    ],
                )
            ]
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIX}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        dropping = bool(state.canned) and state.canned[0].status == 0
        if dropping and scope["type"] == "http" and "/footprints" in scope["path"]:
            state.canned.popleft()
            state.requests.append(f"GET {scope['path']} (dropped)")
            # Start an answer and stop halfway: uvicorn closes the connection under the client.
            start = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"99")]}
            await send(start)
            await send({"type": "http.response.body", "body": b'{"data": [', "more_body": True})
            return
        await self.app(scope, receive, send)

    async def discovery(self, request: Request) -> Response:
        self.state.requests.append(f"GET {request.url.path}")
        if not self.state.discovery:
            return JSONResponse({"code": "NotFound", "message": "no discovery here"}, 404)
        token_url = request.url.replace(path=f"{PREFIX}/oauth/token", query="")
        if self.state.token_host:
            token_url = token_url.replace(hostname=self.state.token_host)
        token_endpoint = str(token_url)
        return JSONResponse({"issuer": self.base_url, "token_endpoint": token_endpoint})

    async def token(self, request: Request) -> Response:
        state = self.state
        state.requests.append(f"POST {request.url.path}")
        form = await request.form()
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        if scheme != "Basic" or (client_id, secret) != (CLIENT_ID, SECRET):
            # A careless host that echoes the credentials: the client must not repeat them to its user.
            description = f"unknown client {client_id}:{secret}"
            return JSONResponse({"error": "invalid_client", "error_description": description}, 401)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        token = f"token-{len(state.tokens) + 1}"
        state.tokens.append(token)
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    async def footprints(self, request: Request) -> Response:
        state = self.state
        state.requests.append(f"GET {request.url.path}?{request.url.query}")
        # Only the newest token is valid, so a refreshed client must switch to it.
        current = f"Bearer {state.tokens[-1]}" if state.tokens else None
        if not state.accept_tokens or request.headers.get("authorization") != current:
            return JSONResponse({"code": "BadRequest", "message": "invalid access token"}, 401)
        if state.canned:
            canned = state.canned.popleft()
            return JSONResponse(canned.body, canned.status, headers=canned.headers)
        if state.delay:
            await asyncio.sleep(state.delay)
        limit = int(request.query_params.get("limit", "100"))
        limit = min(limit, state.max_limit or limit)
        offset = int(request.query_params.get("offset", "0"))
        body = state.body if state.body is not None else {"data": state.footprints[offset : offset + limit]}
        # v2 hosts may answer 202 (an incomplete result) with the same body.
        response = JSONResponse(body, 202 if request.path_params["version"] == 2 else 200)
        if offset + limit < len(state.footprints):
            # The limit asked for, not the one served: the client's first URL is then the first page's.
            asked = request.query_params.get("limit", str(limit))
            after = request.url.include_query_params(limit=asked, offset=offset + limit)
            first = request.url.remove_query_params("offset")
            links = state.link.format(
                next=after,
                next_path=f"{after.path}?{after.query}",
                next_query=f"?{after.query}",
                first=first,
                foreign=str(after).replace("127.0.0.1", "localhost"),
                loop=after if offset == 0 else first,
            )
            for line in links.split("\n"):
                response.headers.append("link", line)
        return response


@contextmanager
def fake_host() -> Iterator[FakeHost]:
    """A FakeHost served on a free loopback port until the block ends."""
    host = FakeHost()
    with app_in_thread(host, name="fake PACT host") as port:
        host.port = port
        yield host


@pytest.fixture(scope="module")
def server() -> Iterator[FakeHost]:
    with fake_host() as host:
        yield host


@pytest.fixture
def host(server: FakeHost) -> FakeHost:
    server.state = HostState()
    return server


def pull(host: FakeHost, *, delays: list[float] | None = None, **overrides: Any) -> list[dict[str, Any]]:
    """Every footprint the client yields; `delays` records the waits between attempts."""
    values: dict[str, Any] = {
        "base_url": host.base_url,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "page_size": 2,
        "timeout": 5.0,
        "attempts": 3,
    }
    values.update(overrides)
    waits = delays if delays is not None else []
    # An explicit (real) transport ignores proxy variables, so requests reach the fake host directly.
    with PactClient(PullSettings(**values), transport=httpx.HTTPTransport(), sleep=waits.append) as client:
        return list(client.footprints())


def ids(footprints: list[dict[str, Any]]) -> list[str]:
    return [footprint["id"] for footprint in footprints]


def test_follows_every_page_in_order(host: FakeHost) -> None:
    assert ids(pull(host)) == IDS
    assert host.state.requests == [
        "GET /api/.well-known/openid-configuration",
        "POST /api/auth/token",
        "GET /api/3/footprints?limit=2",
        "GET /api/3/footprints?limit=2&offset=2",
        "GET /api/3/footprints?limit=2&offset=4",
    ]
    assert len(host.state.tokens) == 1


def test_trailing_slash_on_base_url_is_ignored(host: FakeHost) -> None:
    assert ids(pull(host, base_url=host.base_url + "/", page_size=10)) == IDS
    assert host.state.data_requests() == ["GET /api/3/footprints?limit=10"]


@pytest.mark.parametrize(
    "link",
    [
        '<{first}>; rel="first", <{next}>; rel="next"',
        "<{next_path}>; rel=next",
        "<{next_query}>;REL=Next",
        '<{next}>; rel="next last"; title="pages, the next; one"',
        '<{first}>; rel="first"\n<{next}>; rel="next"',
        '<{first}>; rel="first"; rel="next", <{next}>; title="x"; rel="prev next"',
    ],
    ids=["two-links", "relative-path", "relative-query", "multi-rel", "two-headers", "first-rel-only"],
)
def test_link_header_variations(host: FakeHost, link: str) -> None:
    host.state.link = link
    assert ids(pull(host)) == IDS
    assert len(host.state.data_requests()) == 3


def test_discovery_names_the_token_endpoint(host: FakeHost) -> None:
    host.state.discovery = True
    assert ids(pull(host)) == IDS
    assert "POST /api/oauth/token" in host.state.requests
    assert "POST /api/auth/token" not in host.state.requests


def test_a_token_endpoint_on_another_host_is_ignored_when_asked(host: FakeHost) -> None:
    host.state.discovery, host.state.token_host = True, "localhost"
    assert ids(pull(host)) == IDS  # a pull follows the host's own discovery, wherever it points
    assert "POST /api/oauth/token" in host.state.requests
    host.state.requests.clear()
    assert ids(pull(host, same_host_token=True)) == IDS  # event delivery: the secret stays on that host
    assert (
        "POST /api/auth/token" in host.state.requests and "POST /api/oauth/token" not in host.state.requests
    )


def test_wrong_secret_is_reported_without_the_secret(host: FakeHost) -> None:
    wrong = "wrong-secret-4711"
    with pytest.raises(PactClientError) as caught:
        pull(host, client_secret=wrong)
    message = str(caught.value)
    assert f"authentication failed at {host.base_url}/auth/token: 401 invalid_client" in message
    assert wrong not in message
    assert host.state.data_requests() == []


def test_token_refreshed_once_when_expired(host: FakeHost) -> None:
    host.state.canned.append(Canned(401, {"code": "TokenExpired", "message": "token expired"}))
    assert ids(pull(host)) == IDS
    assert len(host.state.tokens) == 2
    assert host.state.data_requests()[:2] == ["GET /api/3/footprints?limit=2"] * 2


def test_token_rejected_after_refresh_is_an_error(host: FakeHost) -> None:
    host.state.accept_tokens = False
    with pytest.raises(PactClientError, match="401 BadRequest: invalid access token") as caught:
        pull(host)
    assert len(host.state.tokens) == 2
    assert not any(token in str(caught.value) for token in host.state.tokens)
    assert SECRET not in str(caught.value)


def test_transient_failures_retried_with_growing_backoff(host: FakeHost) -> None:
    host.state.canned.extend([Canned(503, {"code": "InternalError"}), Canned(502), Canned(500)])
    delays: list[float] = []
    assert ids(pull(host, attempts=5, backoff=0.5, delays=delays)) == IDS
    assert len(delays) == 3
    assert 0.25 <= delays[0] <= 0.5 <= delays[1] <= 1.0 <= delays[2] <= 2.0


def test_retry_after_honoured_and_capped(host: FakeHost) -> None:
    host.state.canned.extend(
        [Canned(503, headers={"Retry-After": "0"}), Canned(429, headers={"Retry-After": "120"})]
    )
    delays: list[float] = []
    assert ids(pull(host, delays=delays)) == IDS
    assert delays == [0.0, 60.0]


def test_dropped_connection_retried(host: FakeHost) -> None:
    host.state.canned.append(Canned(0))
    delays: list[float] = []
    assert ids(pull(host, delays=delays)) == IDS
    assert len(delays) == 1
    assert host.state.data_requests()[:2] == [
        "GET /api/3/footprints (dropped)",
        "GET /api/3/footprints?limit=2",
    ]


def test_persistent_failure_gives_up_after_attempts(host: FakeHost) -> None:
    host.state.canned.extend(Canned(503, headers={"Retry-After": "0"}) for _ in range(10))
    delays: list[float] = []
    with pytest.raises(PactClientError, match=r"failed after 3 attempts: 503 Service Unavailable"):
        pull(host, attempts=3, delays=delays)
    assert len(host.state.data_requests()) == 3
    assert delays == [0.0, 0.0]


def test_other_client_errors_fail_at_once(host: FakeHost) -> None:
    host.state.canned.append(Canned(403, {"code": "AccessDenied", "message": "not shared with you"}))
    delays: list[float] = []
    with pytest.raises(PactClientError, match="answered 403 AccessDenied: not shared with you"):
        pull(host, delays=delays)
    assert delays == []
    assert len(host.state.data_requests()) == 1


def test_redirect_is_not_followed(host: FakeHost) -> None:
    elsewhere = f"http://localhost:{host.port}{PREFIX}/3/footprints?limit=2"
    host.state.canned.append(Canned(307, headers={"Location": elsewhere}))
    with pytest.raises(PactClientError, match="answered 307"):
        pull(host)
    assert len(host.state.data_requests()) == 1


def test_next_link_to_another_host_refused(host: FakeHost) -> None:
    host.state.link = '<{foreign}>; rel="next"'
    received: list[str] = []
    with (
        PactClient(
            PullSettings(base_url=host.base_url, client_id=CLIENT_ID, client_secret=SECRET, page_size=2),
            transport=httpx.HTTPTransport(),
        ) as client,
        pytest.raises(
            PactClientError, match="refusing to follow a next link to another host: http://localhost"
        ),
    ):
        received.extend(footprint["id"] for footprint in client.footprints())
    assert received == IDS[:2]
    assert host.state.data_requests() == ["GET /api/3/footprints?limit=2"]


def pull_until_stopped(host: FakeHost, **overrides: Any) -> tuple[list[str], PullStopped]:
    """The footprint ids yielded before the pull stopped, and why it stopped."""
    values: dict[str, Any] = {"base_url": host.base_url, "client_id": CLIENT_ID, "client_secret": SECRET}
    received: list[str] = []
    with (
        PactClient(
            PullSettings(**(values | {"page_size": 2} | overrides)), transport=httpx.HTTPTransport()
        ) as client,
        pytest.raises(PullStopped) as caught,
    ):
        received.extend(footprint["id"] for footprint in client.footprints())
    return received, caught.value


def test_pagination_loop_detected(host: FakeHost) -> None:
    host.state.link = '<{first}>; rel="next"'
    received, stopped = pull_until_stopped(host)
    assert received == IDS[:2]
    assert str(stopped) == (
        f"stopped after 1 page: pagination loop: the next link {host.base_url}/3/footprints?limit=2 was "
        "already fetched"
    )
    assert len(host.state.data_requests()) == 1


def test_a_next_link_back_to_an_earlier_page_stops_after_the_pages_read(host: FakeHost) -> None:
    host.state.link = '<{loop}>; rel="next"'
    received, stopped = pull_until_stopped(host)
    assert received == IDS[:4]
    assert (stopped.pages, stopped.reason.split(":")[0]) == (2, "pagination loop")
    assert len(host.state.data_requests()) == 2


def test_the_page_cap_stops_a_host_that_lists_more(host: FakeHost) -> None:
    received, stopped = pull_until_stopped(host, max_pages=2)
    assert received == IDS[:4]
    assert str(stopped) == "stopped after 2 pages: reached the cap of 2 pages while the host lists more"
    assert len(host.state.data_requests()) == 2
    # A cap the host does not exceed is no stop at all.
    assert ids(pull(host, max_pages=3)) == IDS


def test_a_base_url_with_credentials_is_refused_without_repeating_them(host: FakeHost) -> None:
    base_url = host.base_url.replace("http://", "http://someone:pass-w0rd-77@")
    # httpx would turn the user info into Basic auth in place of the token: refused before any request.
    with pytest.raises(ValueError, match="must not carry credentials") as caught:
        pull(host, base_url=base_url)
    assert "pass-w0rd-77" not in str(caught.value)
    assert host.state.data_requests() == []


def test_version_2_path_answering_202(host: FakeHost) -> None:
    assert ids(pull(host, version=2)) == IDS
    assert host.state.data_requests() == [
        "GET /api/2/footprints?limit=2",
        "GET /api/2/footprints?limit=2&offset=2",
        "GET /api/2/footprints?limit=2&offset=4",
    ]


def test_timeout_retried_then_error(host: FakeHost) -> None:
    host.state.delay = 1.5
    started = time.monotonic()
    with pytest.raises(PactClientError, match="failed after 2 attempts: ReadTimeout"):
        pull(host, timeout=0.5, attempts=2)
    # Both attempts were cut short: waiting for the host would have taken 3 s.
    assert time.monotonic() - started < 2.5
    assert len(host.state.data_requests()) == 2


@pytest.mark.parametrize("body", [{"items": []}, [{"id": "pf-1"}], {"data": None}, {"data": ["pf-1"]}])
def test_body_without_a_data_list_is_an_error(host: FakeHost, body: Any) -> None:
    host.state.body = body
    with pytest.raises(PactClientError, match="unexpected response from GET"):
        pull(host)


def test_settings_refuse_bad_values_and_hide_the_secret() -> None:
    settings = PullSettings(base_url="https://pact.example.com/api", client_id="me", client_secret=SECRET)
    assert SECRET not in repr(settings)
    bad_values = (
        {"version": 4},
        {"page_size": 0},
        {"attempts": 0},
        {"max_pages": 0},
        {"base_url": "pact.example.com"},
    )
    for bad in bad_values:
        values: dict[str, Any] = {"base_url": "https://h.example", "client_id": "me", "client_secret": "x"}
        with pytest.raises(ValueError):
            PullSettings(**(values | bad))


def test_a_published_event_is_logged_with_its_sender_and_footprints(caplog: pytest.LogCaptureFixture) -> None:
    from matchmaker.pact.events import PUBLISHED, check_event, note_published

    ids_ = ["3a6c14a7-4deb-498a-b5ea-16ce2535b576", "5e0c2a9e-7b4d-4e2a-9c1f-5a6b7c8d9e03"]
    event = check_event(
        {"specversion": "1.0", "id": "e-1", "source": "//peer.example", "time": "2026-11-24T10:00:00Z",
         "type": PUBLISHED, "data": {"pfIds": ids_}}
    )  # fmt: skip
    with caplog.at_level(logging.INFO, logger="matchmaker.pact.events"):
        note_published(event=event, client_id="mmpact-peer")
    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert "'e-1' from client mmpact-peer" in record.getMessage()
    assert all(id_ in record.getMessage() for id_ in ids_) and "not pulled" in record.getMessage()
