"""The app's outer ASGI middleware: bounded request bodies, the whole `Allow` of a 405, and a 500 that
keeps the connection open. `install_middleware` adds them after every other middleware."""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from matchmaker.config import Settings
from matchmaker.errors import answer_as_handled

BODY_LIMIT_KEY = "matchmaker.body_limit"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class _BodyLimit:
    """The limit of one request's body; one object, so that copies of the scope (a retried run) share it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit


def declared_length(headers: Headers) -> int | None:
    """The Content-Length, if it is a plain decimal number (`int()` would also read '²' or ' 1_0')."""
    value = headers.get("content-length", "")
    return int(value) if re.fullmatch(r"[0-9]{1,19}", value) else None


def allow_body_up_to(request: Request, limit: int) -> None:
    """Let this request's body be up to `limit` bytes instead of the default (an upload route)."""
    budget = request.scope.get(BODY_LIMIT_KEY)
    if isinstance(budget, _BodyLimit):
        budget.limit = limit


def _too_large(limit: int) -> StarletteHTTPException:
    # An HTTP exception: FastAPI passes those on from its body reading (any other error becomes a 400),
    # and each part of the app renders it in its own shape (problem+json, a page, PACT's error).
    return StarletteHTTPException(413, f"the request body is larger than {limit} bytes")


class LimitRequestBody:
    """Count a request body while it is read and refuse it (413) past the limit, so that no body larger
    than the limit is ever held; a declared length past it is refused before a byte is read. The limit is
    looked up at each read, so a route may raise it (`allow_body_up_to`) before reading."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        budget = scope[BODY_LIMIT_KEY] = _BodyLimit(self.settings.max_body_bytes)
        declared = declared_length(Headers(scope=scope))
        received = 0

        async def counted() -> Message:
            nonlocal received
            if declared is not None and declared > budget.limit:
                raise _too_large(budget.limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > budget.limit:
                    raise _too_large(budget.limit)
            return message

        await self.app(scope, counted, send)


def allowed_methods(router: Router, scope: Scope) -> list[str]:
    """The methods some route answers at this request's path (a mounted app, which takes every method to
    its own routing, is left to say its own)."""
    routes = [route for route in router.routes if not isinstance(route, Mount)]
    allowed = []
    for method in METHODS:
        # A clean scope: routing writes into the request's own (its route, its path parameters).
        probe = {
            "type": "http",
            "method": method,
            "path": scope["path"],
            "root_path": scope.get("root_path", ""),
            "headers": [],
            "query_string": b"",
        }
        if any(route.matches(probe)[0] is Match.FULL for route in routes):
            allowed.append(method)
    return allowed


class CompleteAllow:
    """Send with a 405 every method of its path (RFC 9110): the router names only the methods of the first
    route whose path matched, e.g. GET for PUT /offers/1 though PATCH and DELETE are there too."""

    def __init__(self, app: ASGIApp, *, router: Router) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # As it arrived: routing into a mounted app changes the path and root_path it sees.
        arrived = {"path": scope["path"], "root_path": scope.get("root_path", "")}

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allowed = allowed_methods(self.router, arrived)
                if allowed:
                    MutableHeaders(scope=message)["Allow"] = ", ".join(allowed)
            await send(message)

        await self.app(scope, receive, send_with_allow)


class AnswerUnexpectedErrors:
    """Answer an error no handler took with the app's own handler for Exception (which logs it) and end
    there. Starlette's ServerErrorMiddleware answers too but then re-raises, and uvicorn closes the
    keep-alive connection on any error that reaches it, failing the client's next request."""

    def __init__(self, app: ASGIApp, *, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as error:
            if started:
                raise  # half an answer is out: only closing the connection can end it
            answered = await answer_as_handled(
                self.owner, error, handled_as=Exception, scope=scope, receive=receive, send=send
            )
            if not answered:
                raise


def install_middleware(app: FastAPI, *, settings: Settings) -> None:
    """Add these after every other middleware: the last one added is the outermost."""
    app.add_middleware(LimitRequestBody, settings=settings)
    app.add_middleware(CompleteAllow, router=app.router)
    app.add_middleware(AnswerUnexpectedErrors, owner=app)
