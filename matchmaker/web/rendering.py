"""Render templates with what every page needs: the language, the signed-in user, the CSRF token."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape

from matchmaker import verification
from matchmaker.auth import Principal
from matchmaker.db.models import Alliance
from matchmaker.local_time import local_time
from matchmaker.matching.glossary import load_glossary
from matchmaker.regions import display_name, every_region
from matchmaker.signing import app_secret
from matchmaker.units import DECLARED_UNITS
from matchmaker.verification import last_day
from matchmaker.web.checks import describe_check
from matchmaker.web.i18n import LANGUAGES, Translator, choose_language
from matchmaker.web.sessions import (
    CSRF_COOKIE,
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    CookieSigner,
    session_id_from_cookie,
)


@dataclass(frozen=True, slots=True)
class WebUser:
    """The signed-in organisation, in the role of its key."""

    principal: Principal
    organisation: str
    # pending | admitted | rejected: a page tells an organisation not yet admitted where it stands.
    admission: str = "admitted"
    admission_reason: str | None = None

    @property
    def role(self) -> str:
        return self.principal.role


@lru_cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("matchmaker.web", "templates"),
        autoescape=select_autoescape(["html"]),
        # No trim_blocks/lstrip_blocks: with them, attributes written on separate lines inside a tag
        # ("required{% endif %}" then "{% if ... %}aria-invalid") run together into one broken attribute.
    )
    # JSON written into a page (examples, data for scripts) keeps Chinese as Chinese, not \u5185\u8499;
    # Jinja still escapes <, >, & and ' for HTML.
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": True}
    env.globals["languages"] = LANGUAGES
    env.globals["footprint_units"] = footprint_unit_choices()
    env.filters["number"] = format_number
    env.filters["local_time"] = local_time
    env.filters["region"] = region_in_page_language
    env.filters["term"] = term_in_page_language
    env.filters["alliance_title"] = alliance_title
    env.filters["last_day"] = last_day
    env.filters["user_text"] = user_text
    env.globals["verification_of"] = verification.of_offer
    env.globals["every_region"] = every_region
    env.globals["region_name"] = display_name
    env.globals["describe_check"] = describe_check
    return env


@pass_context
def region_in_page_language(context: Context, value: str | None) -> str | None:
    """A region (stored code, or a name the API wrote) in the page's language: CN-JS, Jiangsu -> 江苏."""
    return display_name(value, context["lang"])


@pass_context
def term_in_page_language(context: Context, label: str) -> Markup:
    """A shared term in the page's language: a glossary concept by its first Chinese form on a Chinese page
    ("green hydrogen" -> 绿氢); a code or a word the glossary does not know (steam) as the texts wrote it,
    marked as their language, not the page's."""
    if context["lang"] != "zh":
        return escape(label)
    starting = getattr(context["request"].app.state, "engine_start", None)
    glossary = starting.engine.analyzer.glossary if starting is not None else load_glossary()
    concept = glossary.concepts.get(label.replace(" ", "_"))
    if concept is not None and concept.chinese:
        return escape(concept.chinese[0])
    return Markup('<span lang="en" translate="no">{}</span>').format(label)


def user_text(text: str) -> Markup:
    """What a user wrote, set into a translated sentence: kept as written (translate="no")."""
    return Markup('<span translate="no">{}</span>').format(text)


def alliance_title(alliance: Alliance) -> str:
    """How a page heads an alliance: its name alone when the name says its code as a word ("CN100
    chain-leader alliance"), else both ("RAIL · Rail suppliers")."""
    says_code = re.search(rf"(?<![0-9A-Za-z]){re.escape(alliance.code)}(?![0-9A-Za-z])", alliance.name, re.I)
    return alliance.name if says_code else f"{alliance.code} · {alliance.name}"


def footprint_unit_choices() -> list[str]:
    """Every unit the service converts, for the unit pickers (any spelling parse_unit accepts also works)."""
    return [f"{mass}CO2e/{declared}" for declared in DECLARED_UNITS for mass in ("kg", "t", "g")]


def format_number(value: float | None, digits: int = 4) -> str:
    """A footprint for people: at most `digits` significant digits, no exponent for ordinary sizes."""
    if value is None:
        return "–"
    text = f"{value:.{digits}g}"
    if "e" in text:
        text = f"{value:,.{max(digits - 1, 0)}f}".rstrip("0").rstrip(".")
    return text


def signer(request: Request) -> CookieSigner:
    return CookieSigner(app_secret(request.app.state))


def language(request: Request) -> str:
    return choose_language(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"))


def session_id(request: Request) -> str | None:
    """The session id in the browser's session cookie (whether that session is live is the server's say)."""
    return session_id_from_cookie(request.cookies.get(SESSION_COOKIE))


def expected_csrf_token(request: Request) -> str | None:
    """The token this browser's forms must carry: bound to its session when it has one (so an anonymous
    token or another session's is refused), else the signed nonce in its CSRF cookie."""
    current = session_id(request)
    if current is not None:
        return signer(request).session_csrf_token(current)
    existing = request.cookies.get(CSRF_COOKIE)
    return existing if signer(request).csrf_token_is_ours(existing) else None


def csrf_token(request: Request) -> str:
    """The request's CSRF token: the expected one when there is one, else a new one (set by `render`)."""
    expected = expected_csrf_token(request)
    if expected is not None:
        return expected
    token: str | None = getattr(request.state, "new_csrf_token", None)
    if token is None:
        token = signer(request).new_csrf_token()
        request.state.new_csrf_token = token
    return token


def url_with(request: Request, **changes: Any) -> str:
    """This page's URL with some query parameters changed (None removes one): pagination, filters."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    for key, value in changes.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            params.extend((key, str(item)) for item in value)
        else:
            params.append((key, str(value)))
    query = urlencode(params)
    return f"{request.url.path}?{query}" if query else request.url.path


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200,
    user: WebUser | None = None,
) -> HTMLResponse:  # fmt: skip
    """An HTML page; sets the CSRF cookie when the browser has none of ours yet."""
    lang = language(request)
    token = csrf_token(request)
    page = (
        environment()
        .get_template(template)
        .render(
            request=request,
            lang=lang,
            t=Translator(lang),  # type: ignore[arg-type]
            csrf_token=token,
            user=user if user is not None else getattr(request.state, "web_user", None),
            url_with=lambda **changes: url_with(request, **changes),
            **(context or {}),
        )
    )
    response = HTMLResponse(page, status_code=status)
    if token == getattr(request.state, "new_csrf_token", None):
        set_cookie(request, response, CSRF_COOKIE, token, max_age=None)
    response.headers["Cache-Control"] = "no-store"
    return response


def set_cookie(request: Request, response: Any, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
        path="/",
    )


@dataclass(frozen=True, slots=True)
class Pager:
    """Where a list page is: its number, how many pages, how many items in all."""

    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))
