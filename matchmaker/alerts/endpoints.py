"""HTTP endpoints for alerts (the caller's inbox) and the caller's webhook."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from matchmaker.alerts import service
from matchmaker.alerts.schemas import AlertRead, MarkedRead, WebhookRead, WebhookWrite
from matchmaker.deps import PageDep, PrincipalDep, SessionDep, SettingsDep
from matchmaker.errors import problem_responses
from matchmaker.pagination import Page
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import PathId

router = APIRouter(route_class=CheckedRoute, tags=["alerts"], responses=problem_responses(401, 403, 404, 422))


@router.get("/alerts", response_model=Page[AlertRead])
def list_alerts(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    unread: Annotated[bool, Query(description="only those not marked read")] = False,
) -> Page[AlertRead]:
    """Your organisation's alerts, newest first: an offer now fits your need, an offer you shortlisted or
    asked about changed (old -> new) or was withdrawn, a new need fits your offer."""
    items, total = service.list_own(session=session, principal=principal, unread=unread, page=page)
    return Page.build(items=[AlertRead.model_validate(a) for a in items], total=total, request=page)


@router.post("/alerts/{alert_id}/read", response_model=AlertRead)
def mark_read(session: SessionDep, principal: PrincipalDep, alert_id: PathId) -> AlertRead:
    return AlertRead.model_validate(
        service.mark_read(session=session, principal=principal, alert_id=alert_id)
    )


@router.post("/alerts/read", response_model=MarkedRead)
def mark_all_read(session: SessionDep, principal: PrincipalDep) -> MarkedRead:
    return MarkedRead(marked=service.mark_all_read(session=session, principal=principal))


def _read(hook: object) -> WebhookRead:
    return WebhookRead.model_validate(hook, from_attributes=True)


@router.get("/webhook", response_model=WebhookRead)
def read_webhook(session: SessionDep, principal: PrincipalDep) -> WebhookRead:
    """Your organisation's webhook (404 when none is set); its secret is never shown."""
    return _read(service.get_webhook(session=session, principal=principal))


@router.put("/webhook", response_model=WebhookRead)
def set_webhook(
    session: SessionDep, principal: PrincipalDep, settings: SettingsDep, data: WebhookWrite
) -> WebhookRead:
    """Post your alerts to a URL, each signed with your secret (HMAC-SHA256), at once or as a daily digest.
    Setting it again re-enables one disabled after repeated failures."""
    hook = service.set_webhook(
        session=session, principal=principal, data=data, allow_private=settings.webhook_allow_private
    )
    return _read(hook)


@router.delete("/webhook", status_code=204)
def delete_webhook(session: SessionDep, principal: PrincipalDep) -> Response:
    service.delete_webhook(session=session, principal=principal)
    return Response(status_code=204)
