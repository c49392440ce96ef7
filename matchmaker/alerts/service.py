"""Alerts an organisation reads and marks read; its webhook. Alerts are made by `alerts.producer`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from matchmaker.alerts import repository
from matchmaker.alerts.delivery import UnsafeAddress, check_address
from matchmaker.alerts.schemas import WebhookWrite
from matchmaker.auth import Principal
from matchmaker.db.base import utcnow
from matchmaker.db.models import Alert, Webhook
from matchmaker.errors import NotFound, ValidationFailed, field_error
from matchmaker.pagination import PageRequest


def list_own(
    *, session: Session, principal: Principal, unread: bool, page: PageRequest
) -> tuple[Sequence[Alert], int]:
    """The caller's organisation's alerts, newest first."""
    return repository.list_page(session, organisation_id=principal.organisation_id, unread=unread, page=page)


def mark_read(*, session: Session, principal: Principal, alert_id: int) -> Alert:
    """Mark one of the caller's alerts read (404 for another organisation's)."""
    alert = repository.get(session, alert_id)
    if alert is None or alert.organisation_id != principal.organisation_id:
        raise NotFound(f"alert {alert_id} not found")
    if alert.read_at is None:
        alert.read_at = utcnow()
    return alert


def mark_all_read(*, session: Session, principal: Principal) -> int:
    return repository.mark_read(session, organisation_id=principal.organisation_id, at=utcnow())


def get_webhook(*, session: Session, principal: Principal) -> Webhook:
    hook = repository.webhook(session, principal.organisation_id)
    if hook is None:
        raise NotFound("no webhook is set")
    return hook


def set_webhook(
    *, session: Session, principal: Principal, data: WebhookWrite, allow_private: bool
) -> Webhook:
    """Set (or replace) the caller's webhook; a replaced one starts again with no failures."""
    try:
        check_address(data.url, allow_private=allow_private)
    except UnsafeAddress as refused:
        raise ValidationFailed(str(refused), errors=[field_error("url", str(refused))]) from None
    hook = repository.webhook(session, principal.organisation_id)
    if hook is None:
        hook = Webhook(organisation_id=principal.organisation_id)
        session.add(hook)
    hook.url, hook.secret, hook.delivery = data.url, data.secret, data.delivery
    hook.failures, hook.disabled_at = 0, None
    session.flush()
    return hook


def delete_webhook(*, session: Session, principal: Principal) -> None:
    session.delete(get_webhook(session=session, principal=principal))
    session.flush()
