"""HTTP endpoint for the operator's metrics."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from matchmaker.deps import EngineDep, PrincipalDep, SessionDep
from matchmaker.downloads import attachment
from matchmaker.errors import problem_responses
from matchmaker.metrics import service
from matchmaker.metrics.schemas import Metrics
from matchmaker.routing import CheckedRoute

router = APIRouter(route_class=CheckedRoute, tags=["metrics"], responses=problem_responses(401, 403, 422))
_CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}}


@router.get("/metrics", response_model=Metrics, responses=_CSV)
def read_metrics(
    session: SessionDep, engine: EngineDep, principal: PrincipalDep,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Metrics | Response:  # fmt: skip
    """The operator's figures: matches per need, time to first match, inquiries -> quotes -> won, precision
    at 5 from buyers' feedback; `format=csv` gives one row per need."""
    metrics = service.compute(session=session, engine=engine, principal=principal)
    if format == "csv":
        return attachment(service.csv_download(metrics))
    return metrics
