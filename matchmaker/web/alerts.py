"""Alerts on the pages: the organisation's inbox (what fits, what changed, old -> new) and its webhook."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from matchmaker.alerts import service as alert_service
from matchmaker.alerts.schemas import AlertRead, WebhookRead, WebhookWrite
from matchmaker.deps import SessionDep, SettingsDep
from matchmaker.errors import NotFound
from matchmaker.pagination import PageRequest
from matchmaker.routing import CheckedRoute
from matchmaker.web.deps import FormDep, WebUserDep
from matchmaker.web.forms import FormErrors, attempt, build, no_errors, values
from matchmaker.web.rendering import Pager, WebUser, render

router = APIRouter(route_class=CheckedRoute)
PER_PAGE = 30


@router.get("/alerts")
def alerts_page(
    request: Request, session: SessionDep, user: WebUserDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:  # fmt: skip
    return _page(request, session, user, number=page)


def _page(
    request: Request, session: Session, user: WebUser, *, number: int = 1, form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
) -> Response:  # fmt: skip
    items, total = alert_service.list_own(
        session=session,
        principal=user.principal,
        unread=False,
        page=PageRequest(page=number, per_page=PER_PAGE),
    )
    try:
        hook: WebhookRead | None = WebhookRead.model_validate(
            alert_service.get_webhook(session=session, principal=user.principal), from_attributes=True
        )
    except NotFound:
        hook = None
    context = {
        "alerts": [AlertRead.model_validate(a) for a in items],
        "pager": Pager(number=number, per_page=PER_PAGE, total=total),
        "webhook": hook,
        "form": form or ({"url": hook.url, "delivery": hook.delivery} if hook else {"delivery": "each"}),
        **(errors.shown(request, labels="alerts.webhook.") if errors else no_errors()),
    }
    return render(request, "alerts.html", context, status=errors.status if errors else 200)


@router.post("/alerts/read")
def mark_all_read(session: SessionDep, user: WebUserDep, form: FormDep) -> Response:
    alert_service.mark_all_read(session=session, principal=user.principal)
    return RedirectResponse("/ui/alerts", status_code=303)


@router.post("/alerts/webhook")
def set_webhook(
    request: Request, session: SessionDep, settings: SettingsDep, user: WebUserDep, form: FormDep
) -> Response:
    if form.get("action") == "delete":
        alert_service.delete_webhook(session=session, principal=user.principal)
        return RedirectResponse("/ui/alerts", status_code=303)
    posted = values(form, ["url", "secret", "delivery"])
    try:
        data = build(WebhookWrite, posted)
        attempt(
            lambda: alert_service.set_webhook(
                session=session,
                principal=user.principal,
                data=data,
                allow_private=settings.webhook_allow_private,
            ),
            session=session,
        )
    except FormErrors as errors:
        return _page(request, session, user, form={**posted, "secret": ""}, errors=errors)
    return RedirectResponse("/ui/alerts", status_code=303)
