"""The route class of every router: a JSON body whose text cannot be stored is refused before validation.

FastAPI decodes a JSON body with `request.json()` (json.loads, which turns "\\udfff" into an unpaired
surrogate) and validates afterwards. `CheckedRoute` hands each endpoint a `CheckedRequest`, whose `json()`
refuses such text, and a number past Python's integer conversion limit, as a 422 naming the field path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from matchmaker.clean_text import NotFiniteNumber, first_bad_text, loads, shown
from matchmaker.deps import authenticate_first


class _BodyRefused(StarletteHTTPException):
    """Raised inside FastAPI's body reading, which passes HTTP exceptions on (and turns any other error
    into a bare 400); `CheckedRoute` makes it the RequestValidationError it stands for."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(status_code=422)
        self.errors = errors


class CheckedRequest(Request):
    """A request whose JSON body holds only text the service can store."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                value = loads(body)
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise  # FastAPI reports them: malformed JSON with its position, bytes that are not UTF-8
            except NotFiniteNumber as error:
                raise _BodyRefused(
                    [{"type": "json_number_not_finite", "loc": ("body",), "msg": str(error)}]
                ) from None
            except ValueError as error:  # an integer of more than 4,300 digits, which Python will not read
                raise _BodyRefused(
                    [{"type": "json_number_too_long", "loc": ("body",), "msg": str(error).split(":")[0]}]
                ) from None
            bad = first_bad_text(value)
            if bad is not None:
                # A bad key is named with its characters escaped: the answer must itself be encodable.
                loc = ("body", *(shown(part) if isinstance(part, str) else part for part in bad.path))
                raise _BodyRefused([{"type": "text_unstorable", "loc": loc, "msg": bad.message}])
            self._json = value
        return self._json


class CheckedRoute(APIRoute):
    """An APIRoute whose endpoint (and FastAPI's body decoding) gets a CheckedRequest, and whose caller, if
    it needs an API key, is authenticated before the body is read (`deps.authenticate_first`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = authenticate_first(self.dependant, super().get_route_handler())

        async def checked(request: Request) -> Response:
            try:
                return await handler(CheckedRequest(request.scope, request.receive))
            except _BodyRefused as refused:
                raise RequestValidationError(refused.errors) from None

        return checked
