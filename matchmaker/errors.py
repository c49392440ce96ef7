"""The error tree of the service and its RFC 9457 rendering.

    MatchmakerError                 500 internal
    ├── BadRequest                  400 bad-request
    │   └── ValidationFailed        422 validation-failed   (carries per-field errors)
    ├── Unauthorized                401 unauthorized
    ├── Forbidden                   403 forbidden
    ├── NotFound                    404 not-found           (also what a caller may not see)
    ├── Conflict                    409 conflict
    │   └── EditConflict            409 edit-conflict       (a concurrent change kept winning the race)
    ├── LengthRequired              411 length-required
    ├── PreconditionFailed          412 precondition-failed (If-Match names another version; names the
    │                                                        current one, with its ETag)
    ├── PayloadTooLarge             413 payload-too-large
    └── Unavailable                 503 unavailable         (busy; carries Retry-After)

Services raise these; they never touch HTTP. One handler renders every error, including FastAPI's own
request validation and routing errors, as `application/problem+json`, so clients parse one shape.

An error may also carry a stable `code` (e.g. "unit.unknown") and the `values` its message names, and so
may each of its per-field `errors`; so may a validator's ValueError (any with `code` and `values`
attributes). The API shows only the English texts; the pages use the codes to say them in the reader's
language.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

PROBLEM_MEDIA_TYPE = "application/problem+json"
logger = logging.getLogger(__name__)


class MatchmakerError(Exception):
    """Base of every error the service reports to a caller."""

    status: int = 500
    slug: str = "internal"
    title: str = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        code: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors or [])
        self.code = code
        self.values = dict(values or {})
        # Response headers the error implies (Retry-After, ETag); the handler sends them.
        self.headers: dict[str, str] = {}


def field_error(field: str, message: str, /, *, code: str | None = None, **values: Any) -> dict[str, Any]:
    """One entry of an error's `errors`: the field, its English message and, when given, a stable code."""
    entry: dict[str, Any] = {"field": field, "message": message}
    if code is not None:
        entry["code"] = code
        entry["values"] = values
    return entry


class BadRequest(MatchmakerError):
    status, slug, title = 400, "bad-request", "Bad request"


class ValidationFailed(BadRequest):
    status, slug, title = 422, "validation-failed", "Validation failed"


class Unauthorized(MatchmakerError):
    status, slug, title = 401, "unauthorized", "Unauthorized"


class Forbidden(MatchmakerError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(MatchmakerError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(MatchmakerError):
    status, slug, title = 409, "conflict", "Conflict"


class EditConflict(Conflict):
    """A concurrent change to the same object committed first; the caller should read it again."""

    slug, title = "edit-conflict", "Edit conflict"


class PreconditionFailed(MatchmakerError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class Unavailable(MatchmakerError):
    status, slug, title = 503, "unavailable", "Service unavailable"


class PayloadTooLarge(MatchmakerError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class LengthRequired(MatchmakerError):
    status, slug, title = 411, "length-required", "Length required"


_SLUG_BY_STATUS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    411: ("length-required", "Length required"),
    412: ("precondition-failed", "Precondition failed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-failed", "Validation failed"),
    503: ("unavailable", "Service unavailable"),
}


class FieldProblem(BaseModel):
    field: str
    message: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, the body of every error response."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldProblem] | None = None


_DESCRIPTIONS = {
    400: "Bad request: a NUL in the URL, or a body that cannot be read (e.g. not UTF-8)",
    401: "No key, or an invalid or revoked key",
    403: "The caller's role may not do this",
    404: "Not found, or not visible to the caller",
    409: "Conflicts with an existing object, or a concurrent change to it won",
    412: "`If-Match` names another version than the current one (its `ETag` is sent)",
    413: "The request body is larger than the limit (`max_body_bytes`, or `max_import_bytes` for a file)",
    422: "Validation failed; `errors` names each field",
    503: "The database stayed busy with concurrent writers; try again after `Retry-After` seconds",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for these error statuses, as application/problem+json."""
    schema = {"$ref": "#/components/schemas/ProblemDetails"}
    return {
        status: {"description": _DESCRIPTIONS[status], "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}}}
        for status in statuses
    }


def declare_common_problems(operation: dict[str, Any], *, method: str) -> None:
    """Declare the errors an operation can answer by its shape alone, where it does not declare its own:
    400 for any (a NUL in the URL), 401 and 403 with a key, 404 with path parameters, 413 with a body,
    422 with parameters or a body, 409 and 503 for a write that keeps losing to concurrent ones (see
    retries.py). An operation whose errors have another shape (PACT's) declares its own."""
    responses = operation.setdefault("responses", {})
    if any(
        status.startswith("4") and PROBLEM_MEDIA_TYPE not in entry.get("content", {})
        for status, entry in responses.items()
    ):
        return
    statuses = {400}
    if operation.get("security"):
        statuses |= {401, 403}
    parameters = operation.get("parameters", [])
    if any(parameter.get("in") == "path" for parameter in parameters):
        statuses.add(404)
    if "requestBody" in operation:
        statuses |= {413, 422}
    if parameters:
        statuses.add(422)
    if method.upper() not in {"GET", "HEAD", "OPTIONS"} and operation.get("security"):
        statuses |= {409, 503}
    for status, entry in problem_responses(*sorted(statuses)).items():
        responses.setdefault(str(status), entry)


def register_problem_schema(app: FastAPI) -> None:
    """Add ProblemDetails to the OpenAPI components that `problem_responses` refers to."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(
            ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")["$defs"]
        )
        components["ProblemDetails"] = {
            k: v
            for k, v in ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}").items()
            if k != "$defs"
        }
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                declare_common_problems(operation, method=method)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


ErrorAnswer = Callable[[Request, Any], Response | Awaitable[Response]]


def answer_errors_under(
    app: FastAPI, error_type: type[Exception], *, applies: Callable[[str], bool], answer: ErrorAnswer
) -> None:
    """Errors of this type on the paths `applies` accepts get `answer` (the pages, PACT); elsewhere the
    handler installed before keeps them (problem+json). Install after `install_problem_handlers`."""
    previous: ErrorAnswer = app.exception_handlers[error_type]

    async def handler(request: Request, error: Any) -> Response:
        chosen = answer if applies(request.url.path) else previous
        result = chosen(request, error)
        return await result if inspect.isawaitable(result) else result

    app.add_exception_handler(error_type, handler)


async def answer_as_handled(
    app: FastAPI, error: Exception, *, handled_as: type[Exception], scope: Scope, receive: Receive, send: Send
) -> bool:
    """Answer an error from outside the app's routing (a middleware) with the app's own handler for
    `handled_as`, so it takes the shape of its path (problem+json, a page, PACT's); False when there is
    none. Looked up at the time of the error: the pages and PACT wrap the handlers after start-up."""
    handler: ErrorAnswer | None = app.exception_handlers.get(handled_as)
    if handler is None:
        return False
    response = handler(Request(scope, receive), error)
    if inspect.isawaitable(response):
        response = await response
    await response(scope, receive, send)
    return True


def problem_type(slug: str) -> str:
    """Return the problem type URI for a slug (a relative reference, as RFC 9457 allows)."""
    return f"/problems/{slug}"


def problem_response(
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str,
    errors: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Render one problem document."""
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors:
        # Only the documented keys: the codes and values some entries carry are for the pages.
        body["errors"] = [
            {key: error[key] for key in ("field", "message") if key in error} for error in errors
        ]
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def field_errors_from_pydantic(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Turn pydantic's error list into [{field, message, type, ctx}] with dotted field paths.

    `type` and `ctx` are pydantic's error type and its values (as plain text and numbers); a validator's
    ValueError with a `code` adds it and its `values`. The API shows only field and message."""
    rendered = []
    for error in errors:
        kind = str(error.get("type", "value_error"))
        context = dict(error.get("ctx") or {})
        if kind == "json_invalid":
            # pydantic locates a JSON syntax error by character offset; the field is the body itself.
            message = f"invalid JSON: {context.get('error', '')}"
            rendered.append({"field": "body", "message": message, "type": kind, "ctx": _plain(context)})
            continue
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        message = str(error.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")
        entry: dict[str, Any] = {
            "field": ".".join(location) or "body",
            "message": message,
            "type": kind,
            "ctx": _plain(context),
        }
        cause = context.get("error")
        code = getattr(cause, "code", None)
        if isinstance(code, str):
            entry["code"] = code
            entry["values"] = _plain(getattr(cause, "values", None) or {})
        rendered.append(entry)
    return rendered


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values fit for JSON and for a message's placeholders: numbers and text stay, the rest becomes text."""
    return {
        str(key): value if isinstance(value, str | int | float | bool) or value is None else str(value)
        for key, value in values.items()
    }


class RefuseNulInUrl:
    """Answer 400 for a URL with a NUL character (%00) before it reaches a route or the database."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            b"%00" in scope.get("query_string", b"") or "\x00" in scope.get("path", "")
        ):
            response = problem_response(
                status=400,
                slug="bad-request",
                title="Bad request",
                detail="the URL must not contain NUL characters",
                instance=scope.get("path", "").replace("\x00", ""),
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error the app can raise as application/problem+json."""
    app.add_middleware(RefuseNulInUrl)

    @app.exception_handler(MatchmakerError)
    async def _domain_error(request: Request, exc: MatchmakerError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        headers.update(exc.headers)
        return problem_response(
            status=exc.status,
            slug=exc.slug,
            title=exc.title,
            detail=exc.detail,
            instance=request.url.path,
            errors=exc.errors,
            headers=headers or None,
        )

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors_from_pydantic(exc.errors())
        fields = ", ".join(sorted({error["field"] for error in errors}))
        return problem_response(
            status=422,
            slug="validation-failed",
            title="Validation failed",
            detail=f"invalid fields: {fields}",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug, title = _SLUG_BY_STATUS.get(exc.status_code, ("http-error", "HTTP error"))
        return problem_response(
            status=exc.status_code,
            slug=slug,
            title=title,
            detail=str(exc.detail),
            instance=request.url.path,
            headers=dict(exc.headers) if exc.headers else None,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            status=500,
            slug="internal",
            title="Internal error",
            detail="an unexpected error occurred; it has been logged",
            instance=request.url.path,
        )
