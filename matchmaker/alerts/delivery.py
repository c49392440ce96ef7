"""Posting alerts to organisations' webhooks: signed, tried again with backoff, and given up on.

A post's body is JSON (`{"organisation_id", "sent_at", "alerts": [...]}`), with three headers:
`X-Matchmaker-Delivery` (the delivery's id, the same on every try), `X-Matchmaker-Timestamp` (Unix
seconds) and `X-Matchmaker-Signature: sha256=<hex>`, the HMAC-SHA256 under the webhook's secret of
`<timestamp>.<body>`. A receiver recomputes it, compares in constant time, and refuses an old timestamp.

Any 2xx answer delivers it. Anything else (another status, a refused connection, no answer in
`TIMEOUT_SECONDS`) is tried again after 2, 4, 8 ... seconds (at most an hour); once a post has failed
`DISABLE_AFTER` tries the webhook is disabled and its pending posts abandoned (the alerts stay in the inbox).

A delivery is claimed before it is posted (its next attempt moved past the post's timeout, in a short
transaction of its own), so two processes never post it at once and no transaction is held open over
the network.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.alerts import repository
from matchmaker.db.base import utcnow
from matchmaker.db.models import Alert, Webhook, WebhookDelivery
from matchmaker.db.session import transaction

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10.0
FIRST_RETRY_SECONDS = 2.0
LAST_RETRY_SECONDS = 3600.0
DISABLE_AFTER = 8
# Deliveries posted per pass; the rest wait for the next (a pass runs every second or so).
PER_PASS = 20
CLAIM_SECONDS = TIMEOUT_SECONDS * 3 * (PER_PASS + 1)
DIGEST_EVERY = timedelta(days=1)
COMMIT_GRACE = timedelta(minutes=1)
SIGNATURE_HEADER = "X-Matchmaker-Signature"
TIMESTAMP_HEADER = "X-Matchmaker-Timestamp"
DELIVERY_HEADER = "X-Matchmaker-Delivery"


class UnsafeAddress(ValueError):
    """A webhook URL that would have the service post to its own network."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value of a body sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def check_address(url: str, *, allow_private: bool) -> None:
    """Refuse a URL that is not http(s), or (unless allowed) whose host is or resolves to a loopback,
    private, link-local or otherwise reserved address."""
    try:
        parts = urlsplit(url)
        port = parts.port  # a port out of range or not a number raises here
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        raise UnsafeAddress("the webhook URL is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeAddress("a webhook URL is http:// or https:// with a host")
    if allow_private:
        return
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(parts.hostname, port or 443)}
    except (socket.gaierror, UnicodeError):
        raise UnsafeAddress(f"the webhook's host {parts.hostname!r} does not resolve") from None
    for address in addresses:
        if not _public(ipaddress.ip_address(address.split("%", 1)[0])):
            raise UnsafeAddress(f"the webhook's host {parts.hostname!r} is a private or reserved address")


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Global, and so is any IPv4 address it carries (IPv4-mapped, 6to4, NAT64)."""
    if not ip.is_global:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        carried = ip.ipv4_mapped or ip.sixtofour
        if carried is None and ip in _NAT64:
            carried = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if carried is not None and not carried.is_global:
            return False
    return True


def queue(session: Session, alerts: Sequence[tuple[int, int]]) -> None:
    """A delivery of each new alert (id, organisation id) to its organisation's webhook, where it wants
    each alert at once."""
    by_organisation: dict[int, list[int]] = {}
    for alert_id, organisation_id in alerts:
        by_organisation.setdefault(organisation_id, []).append(alert_id)
    for hook in repository.enabled_webhooks(session, sorted(by_organisation)):
        if hook.delivery == "each":
            for alert_id in by_organisation[hook.organisation_id]:
                session.add(WebhookDelivery(organisation_id=hook.organisation_id, alert_ids=[alert_id]))


def queue_digests(session: Session, *, now: datetime) -> None:
    """A day's alerts in one delivery, for each webhook that asked for a daily digest and is due one."""
    for hook in repository.daily_webhooks(session):
        if hook.digest_sent_at is not None and now - hook.digest_sent_at < DIGEST_EVERY:
            continue
        # After the last alert a digest held, and only alerts a minute old: one whose transaction was
        # still committing is in the next digest, not lost between two.
        alert_ids = repository.alerts_after(
            session, hook.organisation_id, after_id=hook.digest_through, before=now - COMMIT_GRACE
        )
        hook.digest_sent_at = now
        if alert_ids:
            hook.digest_through = alert_ids[-1]
            session.add(WebhookDelivery(organisation_id=hook.organisation_id, alert_ids=alert_ids))


def payload(organisation_id: int, alerts: Sequence[Alert], *, now: datetime) -> bytes:
    return json.dumps(
        {
            "organisation_id": organisation_id,
            "sent_at": now.isoformat(),
            "alerts": [alert_json(alert) for alert in alerts],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def alert_json(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind,
        "need_id": alert.need_id,
        "offer_id": alert.offer_id,
        "details": alert.details,
        "created_at": alert.created_at.isoformat(),
    }


def backoff(attempts: int) -> float:
    """Seconds before the next try after `attempts` failed ones: 2, 4, 8 ... at most an hour."""
    return float(min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LAST_RETRY_SECONDS))


def deliver_due(session_factory: sessionmaker[Session], client: httpx.Client, *, allow_private: bool) -> int:
    """Post the deliveries whose time has come; how many were delivered."""
    now = utcnow()
    with transaction(session_factory) as session:
        queue_digests(session, now=now)
        claimed = []
        for item in repository.due_deliveries(session, now=now, limit=PER_PASS):
            hook = repository.webhook(session, item.organisation_id)
            if hook is None or hook.disabled_at is not None:
                item.status = "abandoned"
                continue
            # Claimed while this pass posts (each post at most TIMEOUT_SECONDS per step), so that no other
            # process posts it meanwhile.
            item.next_attempt_at = now + timedelta(seconds=CLAIM_SECONDS)
            alerts = repository.alerts_by_id(session, item.alert_ids)
            claimed.append(
                (
                    item.id,
                    hook.organisation_id,
                    hook.url,
                    hook.secret,
                    payload(item.organisation_id, alerts, now=now),
                )
            )
    delivered = 0
    for delivery_id, organisation_id, url, secret, body in claimed:
        error = _post(client, url, secret, delivery_id, body, allow_private=allow_private)
        with transaction(session_factory) as session:
            _record(session, delivery_id, organisation_id, error)
        delivered += error is None
    return delivered


def _post(
    client: httpx.Client, url: str, secret: str, delivery_id: int, body: bytes, *, allow_private: bool
) -> str | None:
    """Post one delivery; None when delivered, else what went wrong."""
    timestamp = int(time.time())
    try:
        check_address(url, allow_private=allow_private)  # again: a name may resolve elsewhere by now
        answer = client.post(
            url,
            content=body,
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(secret, timestamp, body),
                TIMESTAMP_HEADER: str(timestamp),
                DELIVERY_HEADER: str(delivery_id),
            },
            timeout=TIMEOUT_SECONDS,
        )
    except (httpx.HTTPError, httpx.InvalidURL, UnsafeAddress) as failure:
        return f"{type(failure).__name__}: {failure}"[:500]
    return None if 200 <= answer.status_code < 300 else f"answered {answer.status_code}"


def _record(session: Session, delivery_id: int, organisation_id: int, error: str | None) -> None:
    item = session.get(WebhookDelivery, delivery_id)
    hook = session.get(Webhook, organisation_id)
    if item is None or hook is None:
        return
    now = utcnow()
    item.attempts += 1
    if error is None:
        item.status, item.last_error, hook.failures = "delivered", None, 0
        return
    item.last_error = error
    hook.failures += 1
    # Disabled when one post has failed every try (2 + 4 + ... seconds: over eight minutes), not when a
    # short outage fails many posts at once.
    if item.attempts >= DISABLE_AFTER:
        hook.disabled_at = now
        item.status = "abandoned"
        logger.warning(
            "webhook of organisation %d disabled after %d failures", organisation_id, hook.failures
        )
        return
    item.next_attempt_at = now + timedelta(seconds=backoff(item.attempts))
