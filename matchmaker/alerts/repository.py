"""SQL for alerts, webhooks and their deliveries, and what alerts are about: who watches an offer, the
versions of its footprint, how far the alerts have read the feed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from matchmaker.db.base import utcnow
from matchmaker.db.models import (
    Alert,
    FeedPosition,
    FootprintVersion,
    Inquiry,
    KnownFit,
    Membership,
    Need,
    Offer,
    ShortlistEntry,
    Webhook,
    WebhookDelivery,
)
from matchmaker.db.query import ID_CHUNK
from matchmaker.pagination import PageRequest

CONSUMER = "alerts"


def add_new(session: Session, rows: Sequence[dict[str, Any]]) -> list[tuple[int, int]]:
    """Insert the alerts whose (organisation, key) is not stored yet; (id, organisation id) of each one
    inserted."""
    if not rows:
        return []
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    inserted: list[tuple[int, int]] = []
    for start in range(0, len(rows), ID_CHUNK):
        statement = (
            dialect.insert(Alert)
            .values(list(rows[start : start + ID_CHUNK]))
            .on_conflict_do_nothing(index_elements=[Alert.organisation_id, Alert.key])
            .returning(Alert.id, Alert.organisation_id)
        )
        inserted.extend(
            (alert_id, organisation_id) for alert_id, organisation_id in session.execute(statement)
        )
    return inserted


def list_page(
    session: Session, *, organisation_id: int, unread: bool, page: PageRequest
) -> tuple[Sequence[Alert], int]:
    conditions = [Alert.organisation_id == organisation_id]
    if unread:
        conditions.append(Alert.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(Alert).where(*conditions)) or 0
    items = session.scalars(
        select(Alert).where(*conditions).order_by(Alert.id.desc()).offset(page.offset).limit(page.per_page)
    ).all()
    return items, total


def get(session: Session, alert_id: int) -> Alert | None:
    return session.get(Alert, alert_id)


def mark_read(session: Session, *, organisation_id: int, at: datetime, alert_id: int | None = None) -> int:
    statement = update(Alert).where(Alert.organisation_id == organisation_id, Alert.read_at.is_(None))
    if alert_id is not None:
        statement = statement.where(Alert.id == alert_id)
    return session.execute(statement.values(read_at=at)).rowcount  # type: ignore[attr-defined, no-any-return]


def alerts_by_id(session: Session, ids: Sequence[int]) -> list[Alert]:
    return list(session.scalars(select(Alert).where(Alert.id.in_(ids)).order_by(Alert.id)))


@dataclass(frozen=True, slots=True)
class Watch:
    """A buyer organisation that shortlisted an offer (for a need) or asked about it, since when."""

    organisation_id: int
    need_id: int | None
    since: datetime


def watchers(session: Session, offer_ids: Sequence[int]) -> dict[int, list[Watch]]:
    """Who watches each offer: the buyers that shortlisted it or sent an inquiry about it."""
    found: dict[int, list[Watch]] = {}
    kept = select(
        ShortlistEntry.offer_id, Need.owner_id, ShortlistEntry.need_id, ShortlistEntry.created_at
    ).join(Need, Need.id == ShortlistEntry.need_id)
    asked = select(Inquiry.offer_id, Inquiry.buyer_id, Inquiry.need_id, Inquiry.created_at)
    for start in range(0, len(offer_ids), ID_CHUNK):
        chunk = list(offer_ids[start : start + ID_CHUNK])
        for statement in (
            kept.where(ShortlistEntry.offer_id.in_(chunk)),
            asked.where(Inquiry.offer_id.in_(chunk), Inquiry.status != "closed"),
        ):
            for offer_id, organisation_id, need_id, since in session.execute(statement):
                if offer_id is not None:
                    found.setdefault(offer_id, []).append(Watch(organisation_id, need_id, since))
    return found


def last_two_versions(session: Session, offer_id: int) -> list[FootprintVersion]:
    """The offer's latest footprint version, then the one before it (if any)."""
    return list(
        session.scalars(
            select(FootprintVersion)
            .where(FootprintVersion.offer_id == offer_id)
            .order_by(FootprintVersion.version.desc())
            .limit(2)
        )
    )


def position(session: Session) -> int | None:
    """How far the alerts have read the feed; None before they ever have."""
    return session.scalar(select(FeedPosition.position).where(FeedPosition.consumer == CONSUMER))


def advance(session: Session, to: int) -> None:
    """Move the alerts' position forward (never back: two processes may both have read further)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(FeedPosition).values(consumer=CONSUMER, position=to)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[FeedPosition.consumer],
            set_={"position": func.max(FeedPosition.position, statement.excluded.position)}
            if dialect is sqlite
            else {"position": func.greatest(FeedPosition.position, statement.excluded.position)},
        )
    )


def webhook(session: Session, organisation_id: int) -> Webhook | None:
    return session.get(Webhook, organisation_id)


def enabled_webhooks(session: Session, organisation_ids: Sequence[int]) -> list[Webhook]:
    if not organisation_ids:
        return []
    return list(
        session.scalars(
            select(Webhook).where(
                Webhook.organisation_id.in_(organisation_ids), Webhook.disabled_at.is_(None)
            )
        )
    )


def daily_webhooks(session: Session) -> list[Webhook]:
    return list(
        session.scalars(select(Webhook).where(Webhook.delivery == "daily", Webhook.disabled_at.is_(None)))
    )


def due_deliveries(session: Session, *, now: datetime, limit: int) -> list[WebhookDelivery]:
    """Pending deliveries whose time has come, each locked for the caller (others skip them, PostgreSQL)."""
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def alerts_after(session: Session, organisation_id: int, *, after_id: int, before: datetime) -> list[int]:
    """The organisation's alerts after an id, made before a moment, in order."""
    return list(
        session.scalars(
            select(Alert.id)
            .where(Alert.organisation_id == organisation_id, Alert.id > after_id, Alert.created_at < before)
            .order_by(Alert.id)
        )
    )


def organisations_of_memberships(session: Session, membership_ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(membership_ids), ID_CHUNK):
        chunk = list(membership_ids[start : start + ID_CHUNK])
        found.update(session.scalars(select(Membership.organisation_id).where(Membership.id.in_(chunk))))
    return found


def published_offers_of(session: Session, organisation_ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(organisation_ids), ID_CHUNK):
        chunk = list(organisation_ids[start : start + ID_CHUNK])
        found.update(
            session.scalars(select(Offer.id).where(Offer.owner_id.in_(chunk), Offer.status == "published"))
        )
    return found


def owners(session: Session, *, model: type[Any], ids: Sequence[int]) -> dict[int, int]:
    """The owner organisation of each offer or need, by id."""
    found: dict[int, int] = {}
    for start in range(0, len(ids), ID_CHUNK):
        chunk = list(ids[start : start + ID_CHUNK])
        found.update(dict(session.execute(select(model.id, model.owner_id).where(model.id.in_(chunk))).all()))
    return found


def last_changed_in_footprint(session: Session, offer_ids: Sequence[int]) -> set[int]:
    """The offers whose latest change was to their footprint, verification or status (a new offer's
    first version included), not only to their text."""
    found: set[int] = set()
    for start in range(0, len(offer_ids), ID_CHUNK):
        chunk = list(offer_ids[start : start + ID_CHUNK])
        found.update(
            session.scalars(
                select(Offer.id)
                .join(
                    FootprintVersion,
                    (FootprintVersion.offer_id == Offer.id) & (FootprintVersion.version == Offer.version),
                )
                .where(Offer.id.in_(chunk))
            )
        )
    return found


def known_fits(session: Session, pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of these (need, offer) pairs the need's buyer already knows fit."""
    found: set[tuple[int, int]] = set()
    need_ids = sorted({need for need, _ in pairs})
    for start in range(0, len(need_ids), ID_CHUNK):
        chunk = need_ids[start : start + ID_CHUNK]
        rows = session.execute(select(KnownFit.need_id, KnownFit.offer_id).where(KnownFit.need_id.in_(chunk)))
        found.update((need, offer) for need, offer in rows)
    return found & set(pairs)


def remember_fits(session: Session, pairs: Sequence[tuple[int, int]]) -> None:
    if not pairs:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    now = utcnow()
    rows = [{"need_id": need, "offer_id": offer, "since": now} for need, offer in sorted(set(pairs))]
    for start in range(0, len(rows), ID_CHUNK):
        session.execute(
            dialect.insert(KnownFit).values(rows[start : start + ID_CHUNK]).on_conflict_do_nothing()
        )


def suppliers_told_of(session: Session, need_id: int) -> dict[int, int | None]:
    """The suppliers alerted to a need or asked about it, each with one of its offers (or None)."""
    told: dict[int, int | None] = {}
    alerted = select(Alert.organisation_id, Alert.offer_id).where(
        Alert.need_id == need_id, Alert.kind == "need_fits_offer"
    )
    asked = select(Inquiry.vendor_id, Inquiry.offer_id).where(Inquiry.need_id == need_id)
    for statement in (alerted, asked):
        for organisation_id, offer_id in session.execute(statement):
            told.setdefault(organisation_id, offer_id)
    return told
