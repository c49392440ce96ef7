"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from matchmaker.errors import problem_response
from matchmaker.routing import CheckedRoute

router = APIRouter(route_class=CheckedRoute, tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (no I/O, so it answers even while workers are busy)."""
    return {"status": "ok"}


@router.get(
    "/readyz", responses={503: {"description": "the database is unreachable, or the index is still loading"}}
)
def readyz(request: Request) -> JSONResponse:
    """The database answers and the matching index has caught up with it."""
    try:
        with request.app.state.session_factory() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        return problem_response(
            status=503,
            slug="not-ready",
            title="Not ready",
            detail=f"database unreachable: {type(error).__name__}",
            instance=request.url.path,
        )
    starting = getattr(request.app.state, "engine_start", None)
    if starting is not None and not starting.ready:
        return problem_response(
            status=503,
            slug="not-ready",
            title="Not ready",
            detail="the matching index is still loading"
            if starting.error is None
            else f"the matching engine failed to start: {type(starting.error).__name__}",
            instance=request.url.path,
        )
    return JSONResponse({"status": "ready"})
