"""PACT v3 events: checking an incoming CloudEvent, and answering a footprint request asynchronously.

A RequestCreatedEvent is answered 200 at once; afterwards the matching footprints the requester may see
go to its host as one RequestFulfilledEvent (or a RequestRejectedEvent when none match), at
`<source>/3/events`, with a token obtained from that host when its client has callback credentials.

A PublishedEvent is answered 200 and not acted on (`note_published` logs it): pulling the footprints it
names would need credentials for the sender's host, which we do not hold (a client's callback credentials
are for delivering our answers, not for reading their footprints). Our own PublishedEvents, announcing
footprints after offers change, are sent by `announce.py` through `schedule_delivery`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy.orm import Session

from matchmaker.pact import repository
from matchmaker.pact.cache import FootprintCache
from matchmaker.pact.client import PactClient, PactClientError, PullSettings, origin
from matchmaker.pact.filters import FilterError, FootprintQuery
from matchmaker.pact.service import PactProblem, list_footprints

logger = logging.getLogger(__name__)

EVENT_PREFIX = "org.wbcsd.pact.ProductFootprint."
REQUEST_CREATED = EVENT_PREFIX + "RequestCreatedEvent.3"
REQUEST_FULFILLED = EVENT_PREFIX + "RequestFulfilledEvent.3"
REQUEST_REJECTED = EVENT_PREFIX + "RequestRejectedEvent.3"
PUBLISHED = EVENT_PREFIX + "PublishedEvent.3"
KNOWN_TYPES = {REQUEST_CREATED, REQUEST_FULFILLED, REQUEST_REJECTED, PUBLISHED}
ENVELOPE = ("specversion", "id", "source", "time", "type", "data")
# Deliveries wait on other hosts: they get their own two threads instead of the request thread pool.
_DELIVERIES = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pact-events")
DELIVERY_ATTEMPTS = 4


def check_event(event: Any) -> dict[str, Any]:
    """The event if it is a well-formed v3 CloudEvent we understand; 400 BadRequest naming the fault."""
    if not isinstance(event, dict):
        raise PactProblem(400, "BadRequest", "the body must be a CloudEvent JSON object")
    missing = [name for name in ENVELOPE if event.get(name) in (None, "")]
    if missing:
        raise PactProblem(400, "BadRequest", f"the event lacks {', '.join(missing)}")
    not_text = [name for name in ENVELOPE if name != "data" and not isinstance(event[name], str)]
    if not_text:
        raise PactProblem(400, "BadRequest", f"{', '.join(not_text)} must be strings")
    if event["specversion"] != "1.0":
        raise PactProblem(400, "BadRequest", "specversion must be 1.0")
    if event["type"] not in KNOWN_TYPES:
        raise PactProblem(400, "BadRequest", f"unknown event type {event['type']!r}")
    if not isinstance(event["data"], dict):
        raise PactProblem(400, "BadRequest", "data must be an object")
    if event["type"] == PUBLISHED:
        ids = event["data"].get("pfIds")
        if not isinstance(ids, list) or not ids or not all(_is_uuid(value) for value in ids):
            raise PactProblem(400, "BadRequest", "pfIds must be a non-empty list of UUIDs")
    if event["type"] == REQUEST_CREATED:
        try:
            query_of(event["data"])
        except FilterError as error:
            raise PactProblem(400, "BadRequest", str(error)) from None
    return event


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def note_published(*, event: dict[str, Any], client_id: str) -> None:
    """Log a checked PublishedEvent (sender and footprint ids); nothing is pulled."""
    logger.info(
        "PACT PublishedEvent %r from client %s announces footprints %s (not pulled: we hold no credentials "
        "for the sender's host)",
        event["id"], client_id, ", ".join(event["data"]["pfIds"]),
    )  # fmt: skip


def query_of(data: dict[str, Any]) -> FootprintQuery:
    """The request's criteria, read as ListFootprints reads its query parameters."""
    params: dict[str, list[str]] = {}
    for name, value in data.items():
        if name == "comment":
            continue
        values = value if isinstance(value, list) else [value]
        params[name] = [str(v) for v in values if v is not None]
    return FootprintQuery.from_params(params)


def answer_request(
    *, session_factory: Callable[[], Session], client_row_id: int, event: dict[str, Any], issuer: str,
    own_source: str, cache: FootprintCache | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Work out the answer to a RequestCreatedEvent (database work, here) and hand its delivery to the
    delivery threads (network work, there). Returns the event to send; empty when there is nowhere to send it.

    The answer goes only to the callback URL the operator registered for this client, and only when the
    event's `source` is on that same origin: an address taken from an event would let any client make
    this host post to places of its choosing."""
    with session_factory() as session:
        client = repository.get_client(session, client_row_id)
        if client is None:
            return {}
        target, credentials = client.callback_url, (client.callback_client_id, client.callback_client_secret)
        source = httpx.URL(events_url(str(event["source"])))
        if target is None or origin(source) != origin(httpx.URL(events_url(target))):
            logger.warning(
                "PACT request %s from client %s not answered: source %r is not the registered callback %r",
                event["id"], client.client_id, event["source"], target,
            )  # fmt: skip
            return {}
        query = query_of(event["data"])
        found = list_footprints(session=session, client=client, query=query, issuer=issuer, cache=cache)
    if query.product_ids:
        # Only footprints all of whose products were asked for: the requester named its products.
        found = [fp for fp in found if {p.lower() for p in fp.get("productIds", [])} <= query.product_ids]
    if found:
        reply = new_event(REQUEST_FULFILLED, own_source, {"requestEventId": event["id"], "pfs": found})
    else:
        error = {"code": "NotFound", "message": "no footprint shared with you matches the request"}
        reply = new_event(REQUEST_REJECTED, own_source, {"requestEventId": event["id"], "error": error})
    schedule_delivery(reply, to=target, credentials=credentials)
    return reply


def schedule_delivery(event: dict[str, Any], *, to: str, credentials: tuple[str | None, str | None]) -> None:
    """Hand an event to the delivery threads (`deliver`); it never raises here, and failures are logged."""
    _DELIVERIES.submit(_deliver_logged, event, to=to, credentials=credentials)


def _deliver_logged(event: dict[str, Any], *, to: str, credentials: tuple[str | None, str | None]) -> None:
    try:
        deliver(event, to=to, credentials=credentials)
    except Exception:  # a future nobody reads would swallow it silently
        logger.exception("PACT event %s not delivered to %s", event["id"], to)


def new_event(kind: str, source: str, data: dict[str, Any]) -> dict[str, Any]:
    """A CloudEvent of this type from this source, with a fresh id and the current time."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": source,
        "time": now,
        "type": kind,
        "data": data,
    }


def events_url(source: str) -> str:
    """Where a host takes events: `source` itself when it ends in /3/events, else its /3/events; any query
    or fragment is dropped (it must not carry the path somewhere else)."""
    parts = urlsplit("https:" + source if source.startswith("//") else source)
    path = parts.path.rstrip("/")
    path = path if path.endswith("/3/events") else path + "/3/events"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def may_deliver_to(url: str) -> bool:
    """HTTPS anywhere; plain HTTP only to this machine (tests, a local peer); no query or fragment."""
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def deliver(
    event: dict[str, Any], *, to: str, credentials: tuple[str | None, str | None],
    sleep: Callable[[float], None] = time.sleep,
) -> bool:  # fmt: skip
    """POST the event to the requester's host with the pull client's own authentication and retries,
    authenticating when we hold credentials for that host. Returns whether it was accepted."""
    url = events_url(to)
    if not may_deliver_to(url):
        logger.warning("PACT event %s not delivered: %s is not an https (or local) address", event["id"], url)
        return False
    client_id, secret = credentials
    settings = PullSettings(
        base_url=url.removesuffix("/3/events"), client_id=client_id or "", client_secret=secret or "",
        timeout=10.0, attempts=DELIVERY_ATTEMPTS, same_host_token=True,
    )  # fmt: skip
    try:
        with PactClient(settings, sleep=sleep) as client:
            client.send_event(event, authenticate=bool(client_id and secret))
    except PactClientError as error:
        logger.warning("PACT event %s not delivered: %s", event["id"], error)
        return False
    return True
