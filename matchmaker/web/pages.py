"""Sign-in and sign-out, the language switch, the home page that sends each role to its work, and the
unit check the offer and need forms call as you type."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from matchmaker.deps import SessionDep
from matchmaker.errors import MatchmakerError
from matchmaker.parties import service as party_service
from matchmaker.routing import CheckedRoute
from matchmaker.units import UnknownUnitError, parse_unit
from matchmaker.web.deps import FormDep, user_from_cookie
from matchmaker.web.forms import page_translator, phrase, text
from matchmaker.web.i18n import as_language
from matchmaker.web.rendering import render, session_id, set_cookie
from matchmaker.web.sessions import LANGUAGE_COOKIE, SESSION_COOKIE
from matchmaker.web_sessions import service as web_session_service

router = APIRouter(route_class=CheckedRoute)
HOME_BY_ROLE = {"buyer": "/ui/needs", "vendor": "/ui/offers", "operator": "/ui/organisations"}


def safe_next(target: str | None, default: str = "/ui") -> str:
    """Only a path on this site (never //host or a scheme): no open redirect through sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


@router.get("")
@router.get("/")
def home(request: Request, session: SessionDep) -> Response:
    user = user_from_cookie(request, session)
    target = HOME_BY_ROLE[user.role] if user else "/ui/sign-in"
    return RedirectResponse(target, status_code=303)


@router.get("/sign-in")
def sign_in_form(request: Request, next: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    return render(request, "sign_in.html", {"next": safe_next(next), "error": None})


@router.post("/sign-in")
def sign_in(request: Request, session: SessionDep, form: FormDep) -> Response:
    target = safe_next(text(form, "next"))
    try:
        principal = party_service.authenticate(session=session, plaintext=text(form, "key") or "")
    except MatchmakerError as error:
        reason = phrase(
            page_translator(request), error.detail, code=error.code, values=error.values,
            fallback=f"error.detail.{error.status}",
        )  # fmt: skip
        return render(request, "sign_in.html", {"next": target, "error": reason}, status=error.status)
    if target == "/ui":
        target = HOME_BY_ROLE[principal.role]
    hours = request.app.state.settings.session_hours
    new_session = web_session_service.begin(
        session=session, key_id=principal.key_id, hours=hours, replacing=session_id(request)
    )
    response = RedirectResponse(target, status_code=303)
    set_cookie(request, response, SESSION_COOKIE, new_session, max_age=int(hours * 3600))
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: SessionDep, form: FormDep) -> Response:
    """End the session on the server, so a copy of the cookie opens nothing either."""
    web_session_service.end(session=session, session_id=session_id(request))
    response = RedirectResponse("/ui/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language")
def choose_language(request: Request, form: FormDep) -> Response:
    """Remember the user's language for a year; back to the page they were on."""
    response = RedirectResponse(safe_next(text(form, "next")), status_code=303)
    chosen = as_language(text(form, "language"))
    if chosen:
        set_cookie(request, response, LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600)
    return response


@router.get("/units/check")
def check_unit(request: Request, unit: Annotated[str, Query(max_length=64)] = "") -> JSONResponse:
    """Whether a footprint unit is one we can convert, and its family named in the page's language (质量,
    mass): the forms validate as you type."""
    try:
        parsed = parse_unit(unit)
    except UnknownUnitError as error:
        return JSONResponse({"ok": False, "message": str(error)})
    family = page_translator(request)(f"check.family.{parsed.family.value}")
    return JSONResponse({"ok": True, "unit": str(parsed), "family": family})
