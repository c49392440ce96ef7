"""Announcing footprints: a PublishedEvent to each client's callback after a commit changes offers.

The app's session dependency attaches the announcer to every request session (`attach_announcer`). The
offers a transaction changed are those the feed of changes records for it (`db.changes.before_recording`):
just before they are recorded, still inside the transaction, the service works out which clients with a
callback URL may list which of their footprints through ListFootprints (`service.announcements`, the same
rule as GET /3/footprints); once it has committed, one PublishedEvent per such client goes to the delivery
threads (`events.schedule_delivery`), so the request that changed the offers neither waits for nor fails
with a delivery. A rollback forgets everything.

Only footprints ListFootprints serves are announced: a draft, an archived offer (its footprint leaves the
listing) or one PACT cannot express is not. Sessions without an announcer (the CLI) announce nothing, and
neither does an app without a public URL: announcements answer no request, so there is no request's
base URL to name as their `source`.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from matchmaker.config import Settings
from matchmaker.db.changes import before_recording
from matchmaker.pact.cache import FootprintCache
from matchmaker.pact.events import PUBLISHED, new_event, schedule_delivery
from matchmaker.pact.service import announcements

logger = logging.getLogger(__name__)
OUTBOX_KEY = "matchmaker.pact.outbox"

# (event, callback URL, callback client id, callback client secret)
Outgoing = tuple[dict[str, Any], str, str | None, str | None]


@dataclass(frozen=True, slots=True)
class Announcer:
    """What announcing needs from the app: where our events come from, the issuer, the footprint cache."""

    source: str
    issuer: str
    cache: FootprintCache


def announcer_for(settings: Settings, cache: FootprintCache) -> Announcer | None:
    """The app's announcer; None when no public URL is configured. Said at debug level only: most installs
    host no PACT partner, and a newcomer's first start-up should not read like a warning."""
    if settings.public_url is None:
        logger.debug(
            "PACT footprints are not announced (no PublishedEvent is sent): MATCHMAKER_PUBLIC_URL is not set"
        )
        return None
    return Announcer(source=f"{settings.public_url}/3/events", issuer=settings.pact_issuer, cache=cache)


def attach_announcer(session: Session, announcer: Announcer) -> None:
    """Announce the footprints of the offers this session changes, once each transaction commits."""
    before_recording(session, functools.partial(_prepare, announcer=announcer))
    event.listen(session, "after_commit", _send)
    event.listen(session, "after_soft_rollback", _forget)


def _prepare(session: Session, changes: frozenset[tuple[str, int]], *, announcer: Announcer) -> None:
    changed = {identifier for kind, identifier in changes if kind == "offers"}
    if not changed:
        return
    try:
        # In a savepoint: on PostgreSQL a failed query aborts the whole transaction, the change included.
        with session.begin_nested():
            found = announcements(
                session=session, offer_ids=sorted(changed), issuer=announcer.issuer, cache=announcer.cache
            )
    except Exception:  # announcing is a courtesy: it must not fail the change itself
        logger.exception("PACT announcement of offers %s not prepared", sorted(changed))
        return
    outbox: list[Outgoing] = [
        (
            new_event(PUBLISHED, announcer.source, {"pfIds": ids}),
            str(client.callback_url),
            client.callback_client_id,
            client.callback_client_secret,
        )
        for client, ids in found
    ]
    if outbox:
        session.info[OUTBOX_KEY] = outbox


def _send(session: Session) -> None:
    outbox: list[Outgoing] = session.info.pop(OUTBOX_KEY, [])
    for published, to, client_id, secret in outbox:
        schedule_delivery(published, to=to, credentials=(client_id, secret))


def _forget(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.nested:
        # One record of an import given up: the offers are read again before the commit, so a row rolled
        # back is not found, and the records kept are still announced.
        return
    session.info.pop(OUTBOX_KEY, None)
