"""The PACT v3 host: token endpoint (and its discovery document), footprints, events.

These routes speak PACT, not the rest of the API: errors are `{"code", "message"}` (the token endpoint's
are RFC 6749's `{"error", ...}`), and parameters are read by hand so that a bad value gets PACT's answer
rather than FastAPI's validation error.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from typing import Any
from urllib.parse import unquote, urlencode

import anyio.to_thread
from fastapi import APIRouter, BackgroundTasks, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from matchmaker.clean_text import bad_character, first_bad_text, loads
from matchmaker.deps import ReadsOnly, SessionDep
from matchmaker.errors import answer_errors_under, problem_responses
from matchmaker.pact import service
from matchmaker.pact.announce import announcer_for
from matchmaker.pact.cache import FootprintCache
from matchmaker.pact.clients_endpoints import router as clients_router
from matchmaker.pact.events import PUBLISHED, REQUEST_CREATED, answer_request, check_event, note_published
from matchmaker.pact.filters import FilterError, FootprintQuery
from matchmaker.pact.service import PactProblem
from matchmaker.pact.tokens import TOKEN_SECONDS, AccessTokens
from matchmaker.routing import CheckedRoute
from matchmaker.signing import app_secret

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_EVENT_BYTES = 1024 * 1024
# The paths that speak PACT (and OAuth) instead of the API's problem+json.
PACT_PATH_PREFIXES = ("/3/", "/auth/token", "/.well-known/openid-configuration")


class PactErrorBody(BaseModel):
    """A PACT error: `code` is BadRequest, AccessDenied, TokenExpired, NotFound, InternalError..."""

    code: str
    message: str


class OAuthErrorBody(BaseModel):
    """An RFC 6749 token endpoint error."""

    error: str
    error_description: str | None = None


def is_pact_path(path: str) -> bool:
    return path.startswith(PACT_PATH_PREFIXES)


def pact_responses(*statuses: int, model: type[BaseModel] = PactErrorBody) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": model, "description": "PACT error"} for status in statuses}


logger = logging.getLogger(__name__)
router = APIRouter(route_class=CheckedRoute, tags=["PACT v3 host"])


def install_pact(app: FastAPI) -> None:
    # Per app, not per process: apps built with other settings (tests) never share footprints.
    app.state.pact_footprints = FootprintCache()
    # Attached to each request session by `deps.get_session`: offers' footprints announced after commits.
    app.state.pact_announcer = announcer_for(app.state.settings, app.state.pact_footprints)
    app.include_router(router)
    app.include_router(clients_router)
    # Routing errors (unknown path, wrong method) and unexpected failures on the PACT paths answer in
    # PACT's shape too; elsewhere the API's handlers stay in charge.
    for error_type in (StarletteHTTPException, Exception):
        answer_errors_under(app, error_type, applies=lambda path: path.startswith("/3/"), answer=_pact_error)

    @app.exception_handler(PactProblem)
    async def pact_problem(_: Request, problem: PactProblem) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
        return JSONResponse(
            {"code": problem.code, "message": problem.message}, problem.status, headers=headers
        )


PACT_CODES = {400: "BadRequest", 401: "BadRequest", 403: "AccessDenied", 404: "NotFound", 405: "BadRequest"}


def _pact_error(request: Request, error: Exception) -> Response:
    if not isinstance(error, StarletteHTTPException):
        logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    status = error.status_code if isinstance(error, StarletteHTTPException) else 500
    code = PACT_CODES.get(status, "InternalError" if status >= 500 else "BadRequest")
    message = (
        str(error.detail) if isinstance(error, StarletteHTTPException) else "an unexpected error occurred"
    )
    return JSONResponse({"code": code, "message": message}, status)


def tokens(request: Request) -> AccessTokens:
    """Signed with the same secret as the web sessions (replicas share it)."""
    return AccessTokens(app_secret(request.app.state))


def issuer(request: Request) -> str:
    value: str = request.app.state.settings.pact_issuer
    return value


def footprint_cache(request: Request) -> FootprintCache:
    cache: FootprintCache = request.app.state.pact_footprints
    return cache


def base_url(request: Request) -> str:
    """Where absolute URLs start: the configured public URL (behind a proxy), else the request's base."""
    public: str | None = request.app.state.settings.public_url
    return public if public is not None else str(request.base_url).rstrip("/")


@router.get("/.well-known/openid-configuration")
def openid_configuration(request: Request) -> dict[str, Any]:
    base = base_url(request)
    return {
        "issuer": base,
        "token_endpoint": f"{base}/auth/token",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": ["token"],
    }


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="pact"'} if status == 401 else None
    return JSONResponse({"error": error, "error_description": description}, status, headers=headers)


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, separator, secret = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (unquote(client_id), unquote(secret)) if separator else None


# A body past the app's limit is refused before this endpoint reads it, as problem+json.
@router.post(
    "/auth/token",
    responses={**pact_responses(400, 401, model=OAuthErrorBody), **problem_responses(413)},
    dependencies=[ReadsOnly],
)
async def token(request: Request, session: SessionDep) -> JSONResponse:
    """OAuth2 client credentials (HTTP Basic, or client_id/client_secret in the form)."""
    form = await request.form()
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials")
    credentials = _basic_credentials(request.headers.get("authorization"))
    if (
        credentials is None
        and isinstance(form.get("client_id"), str)
        and isinstance(form.get("client_secret"), str)
    ):
        credentials = (str(form["client_id"]), str(form["client_secret"]))
    if credentials is None:
        return _oauth_error(401, "invalid_client", "client credentials are required (HTTP Basic)")
    reason = next(filter(None, map(bad_character, credentials)), None)
    if reason is not None:
        # PostgreSQL cannot even compare text with a NUL: refuse it before the lookup.
        return _oauth_error(400, "invalid_request", f"client credentials must not contain {reason}")

    def check() -> int | None:
        client = service.authenticate_client(session=session, client_id=credentials[0], secret=credentials[1])
        return client.id if client else None

    row_id = await anyio.to_thread.run_sync(check)
    if row_id is None:
        return _oauth_error(401, "invalid_client", "unknown client or wrong secret")
    return JSONResponse(
        {"access_token": tokens(request).issue(row_id), "token_type": "Bearer", "expires_in": TOKEN_SECONDS},
        headers={"Cache-Control": "no-store"},
    )


def _client(request: Request, session: SessionDep) -> Any:
    return service.client_for_token(
        session=session, tokens=tokens(request), authorization=request.headers.get("authorization")
    )


def _count(request: Request, name: str, *, default: int, minimum: int) -> int:
    """A small non-negative integer parameter (ASCII digits only: `int()` also reads '²' and 5,000 digits)."""
    value = request.query_params.get(name, "").strip()
    if not value:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", value) or int(value) < minimum:
        raise PactProblem(400, "BadRequest", f"{name} must be an integer of at least {minimum}")
    return int(value)


def _limit(request: Request) -> int:
    return min(_count(request, "limit", default=DEFAULT_LIMIT, minimum=1), MAX_LIMIT)


def _offset(request: Request) -> int:
    return _count(request, "offset", default=0, minimum=0)


@router.get("/3/footprints", responses=pact_responses(400, 401))
def list_footprints(request: Request, session: SessionDep) -> JSONResponse:
    """Footprints shared with the caller, filtered as the spec says; `Link: rel="next"` while more remain."""
    client = _client(request, session)
    if "$filter" in request.query_params:
        raise PactProblem(400, "BadRequest", "$filter is not supported in v3: use the query parameters")
    limit, offset = _limit(request), _offset(request)
    params: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        params.setdefault(name, []).append(value)
    try:
        query = FootprintQuery.from_params(params)
    except FilterError as error:
        raise PactProblem(400, "BadRequest", str(error)) from None
    found = service.list_footprints(
        session=session, client=client, query=query, issuer=issuer(request), cache=footprint_cache(request)
    )
    page = found[offset : offset + limit]
    headers = {}
    if offset + limit < len(found):
        # Stateless: the same filters, a later offset over a stable order; valid as long as the data is.
        kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("limit", "offset")]
        query_string = urlencode([*kept, ("limit", str(limit)), ("offset", str(offset + limit))])
        headers["Link"] = f'<{base_url(request)}/3/footprints?{query_string}>; rel="next"'
    return JSONResponse({"data": page}, headers=headers)


@router.get("/3/footprints/{footprint_id}", responses=pact_responses(400, 401, 403, 404))
def get_footprint(request: Request, session: SessionDep, footprint_id: str) -> JSONResponse:
    client = _client(request, session)
    footprint = service.get_footprint(
        session=session, client=client, footprint_id=footprint_id, issuer=issuer(request),
        cache=footprint_cache(request),
    )  # fmt: skip
    return JSONResponse({"data": footprint})


# Reads only (a footprint request is answered later, in its own session): the client is looked up before
# the body arrives, which must not hold SQLite's write lock meanwhile.
@router.post("/3/events", responses=pact_responses(400, 401, 413), dependencies=[ReadsOnly])
async def receive_event(request: Request, session: SessionDep, background: BackgroundTasks) -> Response:
    """200 with an empty body for a well-formed event; a footprint request is answered afterwards."""
    client = await anyio.to_thread.run_sync(lambda: _client(request, session))
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_EVENT_BYTES:
            raise PactProblem(413, "BadRequest", f"an event may be at most {MAX_EVENT_BYTES} bytes")
    try:
        document = loads(bytes(body))
    except (ValueError, RecursionError):
        raise PactProblem(400, "BadRequest", "the body is not JSON (or is nested too deeply)") from None
    bad = first_bad_text(document)
    if bad is not None:
        # Its filters would reach the database, and its id the answer we send back.
        raise PactProblem(400, "BadRequest", f"{bad.dotted or 'event'}: {bad.message}")
    event = check_event(document)
    if event["type"] == REQUEST_CREATED:
        background.add_task(
            answer_request,
            session_factory=request.app.state.session_factory,
            client_row_id=client.id,
            event=event,
            issuer=issuer(request),
            own_source=f"{base_url(request)}/3/events",
            cache=footprint_cache(request),
        )
    elif event["type"] == PUBLISHED:
        note_published(event=event, client_id=client.client_id)
    return Response(status_code=200)
