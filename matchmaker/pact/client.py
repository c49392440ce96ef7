"""A PACT data recipient: pull every product footprint a host shares with us (REST API v2 or v3).

The host is untrusted. The bearer token only goes to the host's own origin (scheme, host and port of
`base_url`), redirects are never followed, and no message carries the client secret, a token or a password
in `base_url`, so a `PactClientError` can be shown to a user as it is. A pull reads at most `max_pages`
pages and never fetches the same page twice; stopping for either raises `PullStopped` after the footprints
already read were yielded, so the caller can keep them.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import httpx

from matchmaker.clean_text import loads

# Worth another try: rate limiting and a host that is down, overloaded or behind a failing gateway.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
# The statuses whose Retry-After header tells us when to come back (RFC 9110 §10.2.3).
RETRY_AFTER_STATUSES = frozenset({429, 503})
MAX_DELAY = 60.0
# 202 means "incomplete result" in v2; the v3 schema allows it too, and the items are still valid.
LIST_STATUSES = frozenset({200, 202})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_DETAIL_LENGTH = 200
# Far beyond any real host (a million footprints at 100 a page), yet a host with endless pages stops.
MAX_PAGES = 10_000

Origin = tuple[str, str, int | None]
CLOUDEVENTS_JSON = "application/cloudevents+json; charset=UTF-8"


@dataclass(frozen=True, slots=True)
class PullSettings:
    """Where and how to pull footprints from one PACT host; invalid values raise ValueError."""

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    version: int = 3
    page_size: int = 100
    timeout: float = 30.0
    attempts: int = 5
    backoff: float = 0.5
    max_pages: int = MAX_PAGES
    # Use an announced token endpoint only on the base URL's own host (a host we post events to: our
    # callback credentials go to the host the operator registered, whatever its discovery says).
    same_host_token: bool = False

    def __post_init__(self) -> None:
        try:
            url = httpx.URL(self.base_url)
        except httpx.InvalidURL as exc:
            raise ValueError(f"base_url is not a URL: {exc}") from exc
        if url.userinfo:
            # httpx would send them as Basic auth in place of the bearer token; and they must not be echoed.
            raise ValueError(
                "base_url must not carry credentials (user:password@): pass the client id and secret"
            )
        if url.scheme not in _DEFAULT_PORTS or not url.host:
            raise ValueError(f"base_url must be an absolute http(s) URL, not {self.base_url!r}")
        if self.version not in (2, 3):
            raise ValueError(f"version must be 2 or 3, not {self.version}")
        if self.page_size < 1:
            raise ValueError("page_size must be at least 1")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.backoff < 0:
            raise ValueError("backoff must not be negative")
        if self.max_pages < 1:
            raise ValueError("max_pages must be at least 1")


class PactClientError(Exception):
    """A pull that failed, with a one-line message fit for the user (no secret, no token)."""


class PullStopped(PactClientError):
    """A pull cut short by its limits (the page cap, a next link that loops); the pages before it were read.

    The message is `stopped after N pages: <reason>`; `pages` and `reason` hold its parts."""

    def __init__(self, *, pages: int, reason: str) -> None:
        super().__init__(f"stopped after {pages} page{'' if pages == 1 else 's'}: {reason}")
        self.pages = pages
        self.reason = reason


class PactClient:
    """Pull footprints from one PACT host as a data recipient (OAuth2 client credentials, paged listing)."""

    def __init__(
        self,
        settings: PullSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._base = settings.base_url.rstrip("/")
        self._origin = origin(httpx.URL(self._base))
        self._sleep = sleep
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(settings.timeout),
            # A redirect could carry the bearer token elsewhere; a host that redirects gets an error.
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "matchmaker-pact-client"},
        )
        self._token_url: httpx.URL | None = None
        self._token: str | None = None
        # Everything a message must never repeat, even when a careless host echoes it back (a base URL
        # with credentials is refused by PullSettings).
        self._secrets = {settings.client_secret}

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections to the host."""
        self._http.close()

    def footprints(self) -> Iterator[dict[str, Any]]:
        """Yield every footprint the host lists for us, page by page, following the `next` links; PullStopped
        (after the footprints read) when the page cap is reached or a next link was already fetched."""
        url: httpx.URL | None = httpx.URL(
            f"{self._base}/{self._settings.version}/footprints", params={"limit": self._settings.page_size}
        )
        fetched: set[str] = set()
        while url is not None:
            fetched.add(str(url))
            response = self._list(url)
            yield from self._page_items(response)
            url = self._next_url(response)
            if url is None:
                return
            if str(url) in fetched:
                raise self._stopped(len(fetched), f"pagination loop: the next link {url} was already fetched")
            if len(fetched) >= self._settings.max_pages:
                cap = self._settings.max_pages
                raise self._stopped(len(fetched), f"reached the cap of {cap} pages while the host lists more")

    # -- listing ---------------------------------------------------------------------------------------

    def send_event(self, event: dict[str, Any], *, authenticate: bool) -> None:
        """POST a CloudEvent to the host's /3/events (with a token when `authenticate`), retrying transient
        failures as every request does; PactClientError when it is refused."""
        url = httpx.URL(f"{self._base}/3/events")
        headers = {"Content-Type": CLOUDEVENTS_JSON}
        response = (
            self._authorized("POST", url, headers=headers, json=event)
            if authenticate
            else self._send("POST", url, headers=headers, json=event)
        )
        if not response.is_success:
            raise self._error(f"POST {url} answered {_describe(response)}")

    def _authorized(self, method: str, url: httpx.URL, **request: Any) -> httpx.Response:
        headers = request.pop("headers", {})
        response = self._send(method, url, headers={**headers, **self._bearer()}, **request)
        if _token_rejected(response):
            # Tokens expire during long pulls; a fresh one earns the request one more try, not a loop.
            self._token = None
            response = self._send(method, url, headers={**headers, **self._bearer()}, **request)
        return response

    def _list(self, url: httpx.URL) -> httpx.Response:
        response = self._authorized("GET", url)
        if response.status_code not in LIST_STATUSES:
            raise self._error(f"GET {url} answered {_describe(response)}")
        return response

    def _page_items(self, response: httpx.Response) -> list[dict[str, Any]]:
        where = f"unexpected response from GET {response.request.url}: {response.status_code}"
        try:
            body = loads(response.content)
        except ValueError:
            raise self._error(f"{where} with a body that is not JSON") from None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise self._error(f'{where} without a "data" list')
        for index, item in enumerate(data):
            if not isinstance(item, dict):
                raise self._error(f"{where}: data[{index}] is not an object")
        return data

    def _next_url(self, response: httpx.Response) -> httpx.URL | None:
        links = _parse_links(", ".join(response.headers.get_list("link")))
        target = next((target for target, rels in links if "next" in rels), None)
        if target is None:
            return None
        try:
            url = response.request.url.join(target)
        except httpx.InvalidURL:
            raise self._error(f"GET {response.request.url} sent a next link that is not a URL") from None
        if origin(url) != self._origin:
            # The spec keeps pages on the same host; following elsewhere would hand out our token.
            raise self._error(f"refusing to follow a next link to another host: {url}")
        return url

    # -- authentication --------------------------------------------------------------------------------

    def _bearer(self) -> dict[str, str]:
        if self._token is None:
            self._token = self._fetch_token()
            self._secrets.add(self._token)
        return {"Authorization": f"Bearer {self._token}"}

    def _fetch_token(self) -> str:
        if self._token_url is None:
            self._token_url = self._discover() or httpx.URL(f"{self._base}/auth/token")
        url = self._token_url
        response = self._send(
            "POST",
            url,
            data={"grant_type": "client_credentials"},
            auth=(self._settings.client_id, self._settings.client_secret),
        )
        if response.status_code != 200:
            detail = _describe(response, code_key="error", message_key="error_description")
            raise self._error(f"authentication failed at {url}: {detail}")
        try:
            body = loads(response.content)
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise self._error(f"unexpected response from {url}: 200 without an access_token")
        return token

    def _discover(self) -> httpx.URL | None:
        """The token endpoint the host announces, or None to use `{base}/auth/token`."""
        url = httpx.URL(f"{self._base}/.well-known/openid-configuration")
        # Discovery is optional (a SHOULD) and /auth/token must exist anyway, so one try is enough and
        # any failure means "not offered"; the token request then reports a host that is down.
        try:
            response = self._http.get(url)
            body = loads(response.content) if response.status_code == 200 else None
            endpoint = body.get("token_endpoint") if isinstance(body, dict) else None
            resolved = url.join(endpoint) if isinstance(endpoint, str) and endpoint else None
        except (httpx.HTTPError, httpx.InvalidURL, ValueError):
            return None
        if resolved is None or resolved.scheme not in _DEFAULT_PORTS:
            return None
        # Never downgrade: an https host announcing a plain-http endpoint would expose the secret.
        if self._origin[0] == "https" and resolved.scheme != "https":
            return None
        if self._settings.same_host_token and origin(resolved) != self._origin:
            return None
        return resolved

    # -- transport -------------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: httpx.URL,
        *,
        headers: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request, retrying transient failures; every other answer is returned as it is."""
        attempts = self._settings.attempts
        last = ""
        for attempt in range(1, attempts + 1):
            try:
                response = self._http.request(method, url, headers=headers, data=data, json=json, auth=auth)
            except (httpx.UnsupportedProtocol, httpx.LocalProtocolError) as exc:
                raise self._error(f"{method} {url} failed: {_describe_exception(exc)}") from exc
            except httpx.TransportError as exc:
                last = _describe_exception(exc)
                delay = self._backoff(attempt)
            except httpx.HTTPError as exc:
                raise self._error(f"{method} {url} failed: {_describe_exception(exc)}") from exc
            else:
                if response.status_code not in TRANSIENT_STATUSES:
                    return response
                last = _describe(response)
                asked = _retry_after(response)
                delay = self._backoff(attempt) if asked is None else asked
            if attempt < attempts:
                self._sleep(delay)
        raise self._error(f"{method} {url} failed after {attempts} attempts: {last}")

    def _backoff(self, attempt: int) -> float:
        # Equal jitter: clients that failed together spread out, yet each wait is at least half the
        # nominal one, so waits still grow from one attempt to the next.
        nominal = min(self._settings.backoff * 2.0 ** (attempt - 1), MAX_DELAY)
        return nominal / 2 + random.uniform(0, nominal / 2)

    def _error(self, message: str) -> PactClientError:
        return PactClientError(self._scrub(message))

    def _stopped(self, pages: int, reason: str) -> PullStopped:
        return PullStopped(pages=pages, reason=self._scrub(reason))

    def _scrub(self, message: str) -> str:
        for secret in self._secrets:
            if secret:
                message = message.replace(secret, "***")
        return " ".join(message.split())


def origin(url: httpx.URL) -> Origin:
    """The (scheme, host, port) a URL reaches, the scheme's default port filled in."""
    return (url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme))


def _token_rejected(response: httpx.Response) -> bool:
    if response.status_code == 401:
        return True
    return 400 <= response.status_code < 500 and _json_object(response).get("code") == "TokenExpired"


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _describe(response: httpx.Response, *, code_key: str = "code", message_key: str = "message") -> str:
    """`503 Service Unavailable`, or `403 AccessDenied: not shared` when the body says more."""
    body = _json_object(response)
    code, message = body.get(code_key), body.get(message_key)
    text = f"{response.status_code} {code if isinstance(code, str) and code else response.reason_phrase}"
    if isinstance(message, str) and message.strip():
        text = f"{text}: {message.strip()}"
    return text if len(text) <= _DETAIL_LENGTH else text[: _DETAIL_LENGTH - 1] + "…"


def _describe_exception(exc: httpx.HTTPError) -> str:
    detail = str(exc).strip()
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds the host asked us to wait (a number or an HTTP date), at most MAX_DELAY."""
    value = response.headers.get("retry-after")
    if response.status_code not in RETRY_AFTER_STATUSES or not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_DELAY)


# RFC 8288 link-value: `<target>` then `; name=value` parameters; a value is a token or a quoted string.
_TARGET = re.compile(r"[\s,]*<([^>]*)>")
_PARAM = re.compile(r"""\s*;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^\s;,]*))?""")
_ESCAPE = re.compile(r"\\(.)")


def _parse_links(value: str) -> list[tuple[str, frozenset[str]]]:
    """Split a Link field into (target, relation types), tolerating the variations hosts send."""
    links: list[tuple[str, frozenset[str]]] = []
    position = 0
    while position < len(value):
        target = _TARGET.match(value, position)
        if target is None:
            position = _after_link_value(value, position) + 1
            continue
        position = target.end()
        params: dict[str, str] = {}
        while (param := _PARAM.match(value, position)) is not None:
            position = param.end()
            raw = param.group(2) or ""
            if raw.startswith('"'):
                raw = _ESCAPE.sub(r"\1", raw[1:-1])
            # RFC 8288 §3.3: only the first rel parameter counts.
            params.setdefault(param.group(1).lower(), raw)
        # Relation types are case-insensitive and a rel may hold several, as in rel="next last".
        links.append((target.group(1).strip(), frozenset(params.get("rel", "").lower().split())))
        position = _after_link_value(value, position)
    return links


def _after_link_value(value: str, position: int) -> int:
    """Skip unparseable text up to the comma that ends this link-value (commas in quotes don't count)."""
    quoted = escaped = False
    while position < len(value):
        char = value[position]
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            return position
        position += 1
    return position
