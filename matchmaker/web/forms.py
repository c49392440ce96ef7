"""Read posted forms into the API's own request models, and their errors back into per-field messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from matchmaker.errors import MatchmakerError, field_errors_from_pydantic

Model = TypeVar("Model", bound=BaseModel)
Result = TypeVar("Result")


class FormErrors(Exception):
    """A form that cannot be saved: a summary and messages by field name."""

    def __init__(self, summary: str, fields: dict[str, str], *, status: int = 422) -> None:
        super().__init__(summary)
        self.summary = summary
        self.fields = fields
        self.status = status


def text(form: FormData, name: str) -> str | None:
    """A text field, stripped; None when empty or absent (so the API's default applies)."""
    value = form.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def checked(form: FormData, name: str) -> bool:
    return form.get(name) in {"on", "true", "1", "yes"}


def values(form: FormData, names: list[str]) -> dict[str, Any]:
    """The non-empty text fields among `names`."""
    return {name: value for name in names if (value := text(form, name)) is not None}


def build(model: type[Model], data: dict[str, Any]) -> Model:
    """The request model, or FormErrors naming each bad field (as the API would report them)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = field_errors_from_pydantic(error.errors())
        raise FormErrors(
            "; ".join(f"{p['field']}: {p['message']}" for p in problems),
            {str(p["field"]).split(".")[0]: str(p["message"]) for p in problems},
        ) from None


def attempt(action: Callable[[], Result], *, session: Session | None = None) -> Result:
    """Run a service call; its domain error becomes FormErrors (with the error's status) for the form to
    show. With a session, whatever the call changed before refusing is rolled back: the request's session
    commits when a page returns normally, as it does when it shows a refused form."""
    try:
        return action()
    except MatchmakerError as error:
        if session is not None:
            session.rollback()
        raise FormErrors(
            error.detail,
            {str(e.get("field", "")): str(e.get("message", "")) for e in error.errors},
            status=error.status,
        ) from None
