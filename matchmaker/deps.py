"""Dependencies shared by the endpoints, as Annotated aliases."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import Depends, Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.auth import Principal
from matchmaker.config import Settings
from matchmaker.db import footprint_history
from matchmaker.db.changes import committed_changes
from matchmaker.db.session import open_session
from matchmaker.documents.store import DocumentStore
from matchmaker.errors import Forbidden, PayloadTooLarge, Unauthorized, Unavailable
from matchmaker.matching.engine import Engine
from matchmaker.matching.lifecycle import EngineStart, apply_feed
from matchmaker.matching.text import Analyzer
from matchmaker.middleware import allow_body_up_to, declared_length
from matchmaker.pact.announce import attach_announcer
from matchmaker.pagination import PageRequest
from matchmaker.parties import service as party_service
from matchmaker.preconditions import IfMatch, get_if_match


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` one in the thread pool, and each
# such hop costs a context switch per request.
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def reads_only() -> None:
    """Mark a route whose POST only reads (a search): its session leaves the write lock to writers."""


ReadsOnly = Depends(reads_only)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _writes(request: Request) -> bool:
    """Whether the request's transaction will write: an unsafe method on a route not marked ReadsOnly."""
    if request.method in _SAFE_METHODS:
        return False
    route = request.scope.get("route")
    return not any(depends.dependency is reads_only for depends in getattr(route, "dependencies", ()))


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request: committed when the endpoint succeeds, rolled back when it raises.

    Opening it does no I/O (the connection is taken on first use), so it happens on the event loop; the
    ending (commit or rollback, then close) is one trip to a worker thread. A request that writes takes
    SQLite's write lock as its transaction begins, so concurrent writers queue instead of failing."""
    factory = request.app.state.session_factory
    session = open_session(factory, writes=_writes(request))
    # Who the footprint history names for what this request changes (`db.footprint_history`).
    session.info[footprint_history.ACTOR] = functools.partial(acting_organisation, request)
    announcer = getattr(request.app.state, "pact_announcer", None)
    if announcer is not None:
        # Footprints of the offers it changes are announced to PACT clients after it commits.
        attach_announcer(session, announcer)
    starting: EngineStart | None = getattr(request.app.state, "engine_start", None)
    if starting is not None and _writes(request):
        # The model is loaded before the app serves, so a write embeds what it changes even while the
        # indexes are still loading.
        starting.engine.store_vectors_of_changes(session)
    try:
        yield session
    except BaseException:
        await _end_in_own_thread(session, failed=True)
        raise
    await _end_in_own_thread(session, failed=False)
    if starting is not None and starting.ready and committed_changes(session):
        # The writer applies its own changes before answering (embedding what it wrote), so the next
        # request here needs nothing; other replicas read them from the feed before their next match.
        await anyio.to_thread.run_sync(apply_feed, starting.engine, factory, limiter=anyio.CapacityLimiter(1))


async def _end_in_own_thread(session: Session, *, failed: bool) -> None:
    """Commit or roll back, then close, in a thread outside the shared pool's limit (as FastAPI does for
    generator dependencies): when every pool token is held by requests waiting for a database connection,
    the sessions holding connections must still be able to give them back."""
    end = functools.partial(_end_session, session, failed=failed)
    await anyio.to_thread.run_sync(end, limiter=anyio.CapacityLimiter(1))


def _end_session(session: Session, *, failed: bool) -> None:
    try:
        if failed:
            session.rollback()
        else:
            session.commit()
    finally:
        session.close()


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
IfMatchDep = Annotated[IfMatch, Depends(get_if_match)]
# scope="function": commit before the response is sent, so a failed commit is reported, not swallowed.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(
    auto_error=False, description="`Authorization: Bearer mm_...` with an organisation's API key"
)
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="the API key, as a header")


# Where `authenticate_first` leaves the principal for `get_principal`.
_PRINCIPAL_KEY = "matchmaker.principal"


def _presented_key(bearer: HTTPAuthorizationCredentials | None, api_key: str | None) -> str | None:
    """The key the caller sent: the Bearer token, else the X-API-Key header."""
    return bearer.credentials if bearer else api_key


def authenticate_key(*, session: Session, plaintext: str | None) -> Principal:
    """The principal behind an API key, or Unauthorized without one: the rule both paths below follow."""
    if not plaintext:
        raise Unauthorized("an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    return party_service.authenticate(session=session, plaintext=plaintext)


def get_principal(
    request: Request,
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> Principal:
    """Authenticate the caller by API key (Bearer or X-API-Key), unless the route already did."""
    known = request.scope.get(_PRINCIPAL_KEY)
    principal = (
        known
        if isinstance(known, Principal)
        else authenticate_key(session=session, plaintext=_presented_key(bearer, api_key))
    )
    request.state.principal = principal
    return principal


def acting_organisation(request: Request) -> int | None:
    """The organisation a request acts for: its API key's, or its signed-in page user's."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        web_user = getattr(request.state, "web_user", None)
        principal = web_user.principal if web_user is not None else None
    return principal.organisation_id if principal is not None else None


PrincipalDep = Annotated[Principal, Depends(get_principal)]
RouteHandler = Callable[[Request], Coroutine[Any, Any, Response]]


def needs_principal(dependant: Dependant) -> bool:
    """Whether a route (or a dependency) authenticates its caller by API key."""
    return any(sub.call is get_principal or needs_principal(sub) for sub in dependant.dependencies)


def authenticate_first(dependant: Dependant, handler: RouteHandler) -> RouteHandler:
    """Wrap the handler of a route that needs a principal: a request with a body is authenticated before
    the body is read. FastAPI reads and parses a body before it runs any dependency, so otherwise a large
    body from anyone costs memory and time before its 401."""
    if not needs_principal(dependant):
        return handler

    async def authenticated(request: Request) -> Response:
        # Without a body FastAPI reads nothing first: `get_principal` checks the key in the request's session.
        if request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers:
            plaintext = _presented_key(await _bearer(request), await _api_key_header(request))
            check = functools.partial(_authenticate_alone, request.app.state.session_factory, plaintext)
            request.scope[_PRINCIPAL_KEY] = await anyio.to_thread.run_sync(check)
        return await handler(request)

    return authenticated


def _authenticate_alone(factory: sessionmaker[Session], plaintext: str | None) -> Principal:
    # Its own short session: the request's session is opened by a dependency, after the body is read.
    with open_session(factory, writes=False) as session:
        return authenticate_key(session=session, plaintext=plaintext)


async def require_operator(principal: PrincipalDep) -> Principal:
    if not principal.is_operator:
        raise Forbidden("only the platform operator may do this")
    return principal


OperatorDep = Annotated[Principal, Depends(require_operator)]


async def get_page(
    settings: SettingsDep,
    page: Annotated[int, Query(ge=1, le=1_000_000, description="page number, from 1")] = 1,
    per_page: Annotated[int, Query(ge=1, le=100, description="items per page")] = 20,
) -> PageRequest:
    return PageRequest(page=page, per_page=min(per_page, settings.max_page_size))


PageDep = Annotated[PageRequest, Depends(get_page)]


# A request that matches waits this long for the engine's start-up before it is told to come back.
ENGINE_WAIT_SECONDS = 30.0
ENGINE_RETRY_AFTER_SECONDS = 10


async def get_engine(request: Request) -> Engine:
    """The matching engine, once its indexes have caught up with the database (503 until then)."""
    starting: EngineStart = request.app.state.engine_start
    if not starting.ready and not await anyio.to_thread.run_sync(
        starting.wait, ENGINE_WAIT_SECONDS, limiter=anyio.CapacityLimiter(1)
    ):
        error = Unavailable(
            "the matching index is still loading"
            if starting.error is None
            else "the matching engine failed to start"
        )
        error.headers["Retry-After"] = str(ENGINE_RETRY_AFTER_SECONDS)
        raise error
    return starting.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def get_analyzer(request: Request) -> Analyzer:
    """What reads a text's concepts and category: there from the start (the glossary, not the indexes), so a
    page that only reads texts never waits for the indexes."""
    starting: EngineStart = request.app.state.engine_start
    return starting.engine.analyzer


AnalyzerDep = Annotated[Analyzer, Depends(get_analyzer)]


async def read_body(request: Request, limit: int) -> bytes:
    """Read a raw request body, refusing one over `limit` bytes by its declared length or as it arrives."""
    declared = declared_length(request.headers)
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"the file is larger than {limit} bytes")
    allow_body_up_to(request, limit)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(f"the file is larger than {limit} bytes")
    return bytes(body)


async def read_upload(request: Request) -> bytes:
    """An import file, up to `max_import_bytes`."""
    return await read_body(request, request.app.state.settings.max_import_bytes)


async def read_document(request: Request) -> bytes:
    """An uploaded document, up to `max_document_bytes`."""
    return await read_body(request, request.app.state.settings.max_document_bytes)


async def get_document_store(request: Request) -> DocumentStore:
    """Where uploaded documents are kept: under the data directory (a light object; no I/O until used)."""
    settings: Settings = request.app.state.settings
    return DocumentStore(settings.data_dir / "documents")


UploadDep = Annotated[bytes, Depends(read_upload)]
DocumentBodyDep = Annotated[bytes, Depends(read_document)]
DocumentStoreDep = Annotated[DocumentStore, Depends(get_document_store)]
