"""Webhook deliveries: a daily digest gathers a day's alerts in one post; a webhook that keeps failing is
disabled and its posts given up, the alerts kept in the inbox. (The real HTTP path, with a receiver that
checks the signature and fails once, is `test_alerts_served.py`.)"""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.alerts import delivery, repository
from matchmaker.db.base import utcnow
from matchmaker.db.models import Webhook, WebhookDelivery
from matchmaker.db.session import transaction
from tests.factories import World


def _alerts(session: Session, world: World, *keys: str) -> list[int]:
    rows = [
        {"organisation_id": world.buyer.organisation.id, "kind": "offer_fits_need", "key": key,
         "need_id": world.needs["shared"].id, "offer_id": world.offers["public"].id, "details": {}}
        for key in keys
    ]  # fmt: skip
    return [alert_id for alert_id, _ in repository.add_new(session, rows)]


def test_a_daily_digest_posts_a_days_alerts_once(session: Session, world: World) -> None:
    start = utcnow()
    session.add(
        Webhook(organisation_id=world.buyer.organisation.id, url="https://hooks.example/x", secret="s" * 20,
                delivery="daily", created_at=start - timedelta(hours=1))
    )  # fmt: skip
    session.flush()
    first = _alerts(session, world, "a", "b")
    delivery.queue(session, [(i, world.buyer.organisation.id) for i in first])  # a digest's: not one by one
    assert session.scalars(select(WebhookDelivery)).all() == []
    sent_at = utcnow() + delivery.COMMIT_GRACE + timedelta(seconds=1)
    delivery.queue_digests(session, now=sent_at)
    delivery.queue_digests(session, now=sent_at + timedelta(hours=3))  # the same day: nothing more
    assert [
        post.alert_ids for post in session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
    ] == [first]
    later = _alerts(session, world, "c")  # made later than the digest, for all that its clock says
    delivery.queue_digests(session, now=sent_at + timedelta(days=1, minutes=1))
    assert [
        post.alert_ids for post in session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
    ] == [first, later]


def test_a_failing_webhook_is_disabled_and_its_posts_given_up(
    session_factory: sessionmaker[Session], world: World
) -> None:
    with transaction(session_factory) as session:
        session.add(
            Webhook(organisation_id=world.buyer.organisation.id, url="http://127.0.0.1:9/x", secret="s" * 20)
        )
        session.flush()
        delivery.queue(session, [(i, world.buyer.organisation.id) for i in _alerts(session, world, "x")])
    failing = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(503)))
    for _ in range(delivery.DISABLE_AFTER):
        assert delivery.deliver_due(session_factory, failing, allow_private=True) == 0
        with transaction(session_factory) as session:  # the backoff's wait, passed
            session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    with transaction(session_factory) as session:
        hook = session.get(Webhook, world.buyer.organisation.id)
        post = session.scalars(select(WebhookDelivery)).one()
        assert hook is not None and hook.disabled_at is not None and hook.failures == delivery.DISABLE_AFTER
        assert (post.status, post.attempts, post.last_error) == (
            "abandoned",
            delivery.DISABLE_AFTER,
            "answered 503",
        )
    assert [delivery.backoff(n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0] and delivery.backoff(40) == 3600.0
