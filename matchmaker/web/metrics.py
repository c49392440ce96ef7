"""The operator's metrics page: matches per need, time to first match, the inquiries' funnel, feedback."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from matchmaker.deps import EngineDep, SessionDep
from matchmaker.downloads import attachment
from matchmaker.metrics import service as metrics_service
from matchmaker.routing import CheckedRoute
from matchmaker.web.deps import OperatorUserDep
from matchmaker.web.rendering import render

router = APIRouter(route_class=CheckedRoute)


@router.get("/metrics")
def metrics_page(request: Request, session: SessionDep, engine: EngineDep, user: OperatorUserDep) -> Response:
    metrics = metrics_service.compute(session=session, engine=engine, principal=user.principal)
    return render(request, "operator/metrics.html", {"metrics": metrics})


@router.get("/metrics.csv")
def metrics_csv(session: SessionDep, engine: EngineDep, user: OperatorUserDep) -> Response:
    metrics = metrics_service.compute(session=session, engine=engine, principal=user.principal)
    return attachment(metrics_service.csv_download(metrics))
