"""Dependencies of the pages: the signed-in user (or a redirect to sign in), and forms checked for CSRF."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from matchmaker.config import Settings
from matchmaker.db.session import transaction
from matchmaker.errors import BadRequest, Forbidden, LengthRequired, MatchmakerError, PayloadTooLarge
from matchmaker.middleware import allow_body_up_to, declared_length
from matchmaker.parties import service as party_service
from matchmaker.web.rendering import WebUser, expected_csrf_token, session_id
from matchmaker.web.sessions import same_token
from matchmaker.web_sessions import service as web_session_service


class SignInRequired(Exception):
    """No valid session: the page redirects to the sign-in form (and back afterwards)."""


def user_from_cookie(request: Request, session: Session) -> WebUser | None:
    """The user of a live session whose key is still live and whose organisation is not suspended."""
    key_id = web_session_service.key_of(session=session, session_id=session_id(request))
    if key_id is None:
        return None
    try:
        principal = party_service.principal_for_key(session=session, key_id=key_id)
    except MatchmakerError:  # revoked, deleted, or its organisation suspended: the session is over
        return None
    organisation = party_service.get_own(session=session, principal=principal)
    return WebUser(
        principal=principal,
        organisation=organisation.name,
        admission=organisation.admission_status,
        admission_reason=organisation.admission_reason,
    )


def get_web_user(request: Request) -> WebUser:
    # Its own short session: a form post looks the user up before reading the form, and in the request's
    # (writing) session that look-up would take SQLite's write lock and hold it while the form arrives.
    with transaction(request.app.state.session_factory, writes=False) as session:
        user = user_from_cookie(request, session)
    if user is None:
        raise SignInRequired
    request.state.web_user = user
    return user


WebUserDep = Annotated[WebUser, Depends(get_web_user)]


def role_of(*roles: str) -> object:
    """A dependency admitting only these roles (the operator always)."""

    def check(user: WebUserDep) -> WebUser:
        if user.role not in roles and not user.principal.is_operator:
            raise Forbidden(f"this page is for {' or '.join(roles)} accounts")
        return user

    return Depends(check)


BuyerDep = Annotated[WebUser, role_of("buyer")]
VendorDep = Annotated[WebUser, role_of("vendor")]
OperatorUserDep = Annotated[WebUser, role_of("operator")]


async def checked_form(request: Request) -> FormData:
    """The posted form, refused unless it carries the CSRF token of this browser's session (or, before
    sign-in, of its CSRF cookie)."""
    form = await request.form()
    expected = expected_csrf_token(request)
    if expected is None or not same_token(form.get("csrf_token"), expected):
        raise BadRequest("the form expired or did not come from this site: reload the page and try again")
    return form


FormDep = Annotated[FormData, Depends(checked_form)]


# The multipart wrapping around a posted file (boundaries, headers, the CSRF field) is small; allowed for
# when a form is refused by its declared length; the file itself is checked exactly once it is read.
FORM_OVERHEAD = 64 * 1024


def file_form_within(limit_of: Callable[[Settings], int]) -> Callable[[Request], Coroutine[Any, Any, None]]:
    """A dependency refusing a form with a file whose declared length is past `limit_of(settings)`,
    before the form is parsed (and spooled to disk)."""

    async def check(request: Request) -> None:
        limit = limit_of(request.app.state.settings)
        declared = declared_length(request.headers)
        # Browsers always declare the length of a form they post; a body without one (chunked) could be any
        # size, and the form parser would spool it all to disk before anything else is checked.
        if declared is None:
            raise LengthRequired("send the file with a Content-Length (as a browser's form does)")
        if declared > limit + FORM_OVERHEAD:
            raise PayloadTooLarge(f"the file is larger than {limit} bytes")
        allow_body_up_to(request, limit + FORM_OVERHEAD)

    return check


ImportFormDep = Depends(file_form_within(lambda settings: settings.max_import_bytes))
DocumentFormDep = Depends(file_form_within(lambda settings: settings.max_document_bytes))
