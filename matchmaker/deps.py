"""Dependencies shared by the endpoints, as Annotated aliases."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from matchmaker.auth import Principal
from matchmaker.config import Settings
from matchmaker.errors import Forbidden, PayloadTooLarge, Unauthorized
from matchmaker.matching.engine import Engine
from matchmaker.matching.flows import attach_engine
from matchmaker.pact.announce import attach_announcer
from matchmaker.pagination import PageRequest
from matchmaker.parties import service as party_service


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` one in the thread pool, and each
# such hop costs a context switch per request.
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request: committed when the endpoint succeeds, rolled back when it raises.

    Opening it does no I/O (the connection is taken on first use), so it happens on the event loop; the
    ending (commit or rollback, then close) is one trip to a worker thread."""
    session: Session = request.app.state.session_factory()
    engine = getattr(request.app.state, "engine", None)
    if engine is not None:
        # Services stage index updates on the session; they are applied when it commits.
        attach_engine(session, engine)
    announcer = getattr(request.app.state, "pact_announcer", None)
    if announcer is not None:
        # Footprints of the offers it changes are announced to PACT clients after it commits.
        attach_announcer(session, announcer)
    try:
        yield session
    except BaseException:
        await _end_in_own_thread(session, failed=True)
        raise
    await _end_in_own_thread(session, failed=False)


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
# scope="function": commit before the response is sent, so a failed commit is reported, not swallowed.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(
    auto_error=False, description="`Authorization: Bearer mm_...` with an organisation's API key"
)
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="the API key, as a header")


def get_principal(
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> Principal:
    """Authenticate the caller by API key (Bearer or X-API-Key)."""
    plaintext = bearer.credentials if bearer else api_key
    if not plaintext:
        raise Unauthorized("an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    return party_service.authenticate(session=session, plaintext=plaintext)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


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


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]


async def read_upload(request: Request) -> bytes:
    """Read a raw request body (an import file), refusing one over the configured size."""
    limit: int = request.app.state.settings.max_import_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the file is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(f"the file is larger than {limit} bytes")
    return bytes(body)


UploadDep = Annotated[bytes, Depends(read_upload)]
