"""Add the pages to the app: static files, routers, HTML error pages under /ui."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from matchmaker.errors import MatchmakerError, answer_errors_under, field_errors_from_pydantic
from matchmaker.web import (
    alerts,
    buyer,
    evidence,
    feedback,
    inquiries,
    metrics,
    needs_search,
    offer_page,
    operator,
    pages,
    pcf,
    plausibility,
    registration,
    shortlists,
    vendor,
)
from matchmaker.web.deps import SignInRequired
from matchmaker.web.forms import page_translator, phrase
from matchmaker.web.i18n import catalogue
from matchmaker.web.rendering import render

PREFIX = "/ui"


def install_web(app: FastAPI) -> None:
    catalogue()  # a broken message file fails at start-up, not on a user's first page
    app.mount(f"{PREFIX}/static", StaticFiles(packages=[("matchmaker.web", "static")]), name="static")
    for module in (
        pages,
        buyer,
        shortlists,
        feedback,
        vendor,
        pcf,
        offer_page,
        inquiries,
        alerts,
        metrics,
        needs_search,
        operator,
        registration,
        evidence,
        plausibility,
    ):
        app.include_router(module.router, prefix=PREFIX, include_in_schema=False)

    @app.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, _: SignInRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{PREFIX}/sign-in?next={quote(target, safe='/')}", status_code=303)

    # Under /ui an error is a page in the user's language; elsewhere it stays problem+json.
    for error_type in (MatchmakerError, StarletteHTTPException, RequestValidationError):
        answer_errors_under(app, error_type, applies=_is_page, answer=_error_page)


def _is_page(path: str) -> bool:
    return path.startswith(PREFIX + "/") and not path.startswith(PREFIX + "/static")


def _error_page(request: Request, error: Any) -> Response:
    """The error as a page: the status's title, and the reason in the page's language by the error's code
    (or its fields'), else the status's general reason; an English page says the service's own words."""
    t = page_translator(request)
    code: str | None = None
    values: dict[str, Any] = {}
    entries: list[dict[str, Any]] = []
    if isinstance(error, RequestValidationError):
        entries = field_errors_from_pydantic(error.errors())
        status, english = 400, "; ".join(f"{e['field']}: {e['message']}" for e in entries)
    elif isinstance(error, MatchmakerError):
        status, english = error.status, error.detail
        code, values, entries = error.code, error.values, error.errors
    else:
        status, english = error.status_code, str(error.detail or "")
    detail = english and phrase(
        t, english, code=code, values=values, entries=entries, fallback=f"error.detail.{status}"
    )
    title = f"error.{status}" if f"error.{status}" in catalogue() else "error.title"
    context = {"status": status, "title": title, "detail": detail, "english": detail == english}
    return render(request, "error.html", context, status=status)
