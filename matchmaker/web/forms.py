"""Read posted forms into the API's own request models, and their errors back into per-field messages.

A refused form keeps the service's English texts together with the codes and values that name them
(pydantic's error type and context, or a domain error's `code`); `FormErrors.shown` phrases them in the
page's language from locales/errors.json, and falls back to the English text for a code it has no words for.
`phrase` does the same for any error a page shows outside a form (an import's rejected lines, an error
page, the sign-in page).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from matchmaker.errors import MatchmakerError, field_errors_from_pydantic
from matchmaker.schema_types import TEXT_INPUT
from matchmaker.web.i18n import DEFAULT_LANGUAGE, Translator, as_language, catalogue
from matchmaker.web.rendering import language

Model = TypeVar("Model", bound=BaseModel)
Result = TypeVar("Result")
# Where a pydantic error is about the whole record rather than one field.
WHOLE_RECORD = ("", "body")


@dataclass(frozen=True, slots=True)
class Message:
    """A message in English and, when known, the code and values that phrase it in another language."""

    english: str
    code: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)

    def in_language(self, t: Translator, *, fallback: str | None = None) -> str:
        """The message in t's language; English is the service's own text, word for word the API's.

        Without words for the code in t's language, the `fallback` message key's (a general reason, such
        as the status's), else the English text."""
        if t.language == "en":
            return self.english
        general = catalogue().get(fallback, {}) if fallback else {}
        return self.phrased(t) or general.get(t.language) or self.english

    def phrased(self, t: Translator) -> str | None:
        """The message by its code in t's language; None without words for it there."""
        texts = catalogue().get(f"problem.{self.code}") if self.code else None
        text = texts.get(t.language) if texts else None
        if not text:
            return None
        try:
            return text.format(**{key: _plain_number(value) for key, value in self.values.items()})
        except (KeyError, IndexError, ValueError):  # a placeholder the error did not fill
            return None


def _plain_number(value: Any) -> Any:
    """A bound such as 1e12 or 0.0 as people write it (1000000000000, 0), not as a float prints."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong with one field (its dotted path, as the API names it)."""

    field: str
    message: Message

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> Problem:
        """From an error entry: a domain `code` and its `values`, else pydantic's `type` and `ctx`."""
        values = {**(entry.get("ctx") or {}), **(entry.get("values") or {})}
        code = entry.get("code") or entry.get("type")
        english = Message(str(entry.get("message", "")), str(code) if code else None, values)
        return cls(str(entry.get("field", "")), english)

    @property
    def input_name(self) -> str:
        """The form input the message goes under: a whole-record check names the field it blames."""
        if self.field in WHOLE_RECORD:
            return str(self.message.values.get("field", self.field))
        return self.field.split(".")[0]


class FormErrors(Exception):
    """A form that cannot be saved: what is wrong with each field, and for a service's refusal its reason.

    `summary` and `fields` are in English; `shown` gives them in the page's language."""

    def __init__(
        self, problems: Sequence[Problem], *, reason: Message | None = None, status: int = 422
    ) -> None:
        self.problems = list(problems)
        self.reason = reason
        self.status = status
        super().__init__(self.summary)

    @property
    def summary(self) -> str:
        return self._summary(Translator("en"), labels=None)

    @property
    def fields(self) -> dict[str, str]:
        return self._fields(Translator("en"))

    def shown(self, request: Request, *, labels: str | None = None) -> dict[str, Any]:
        """The page's `errors` (by input name) and `summary`, in the request's language; `labels` is the
        message key prefix of the form's field labels (e.g. "vendor.offer."), which the summary names."""
        t = page_translator(request)
        return {"errors": self._fields(t), "summary": self._summary(t, labels=labels)}

    def _fields(self, t: Translator) -> dict[str, str]:
        return {problem.input_name: problem.message.in_language(t) for problem in self.problems}

    def _summary(self, t: Translator, *, labels: str | None) -> str:
        if self.reason is not None:
            return self.reason.in_language(t)
        items = []
        for problem in self.problems:
            message = problem.message.in_language(t)
            if problem.field in WHOLE_RECORD:
                items.append(message)
                continue
            name = problem.field
            label_key = f"{labels}{problem.input_name}" if labels else None
            label = t(label_key) if label_key and label_key in catalogue() else name
            items.append(t("problem.summary_item", name=name, label=label, message=message))
        return t("problem.summary_separator").join(items)


def page_translator(request: Request) -> Translator:
    """A translator to the request's page language."""
    return Translator(as_language(language(request)) or DEFAULT_LANGUAGE)


def phrase(
    t: Translator,
    english: str,
    *,
    code: str | None = None,
    values: Mapping[str, Any] | None = None,
    entries: Sequence[Mapping[str, Any]] = (),
    fallback: str | None = None,
) -> str:
    """An error in t's language: by its own code, else by its per-field `entries` (named as a form's
    summary names them), else by the `fallback` key. English is `english`, word for word."""
    if t.language == "en":
        return english
    message = Message(english, code, values or {})
    by_code = message.phrased(t)
    if by_code:
        return by_code
    if entries:
        return FormErrors([Problem.from_entry(entry) for entry in entries])._summary(t, labels=None)
    return message.in_language(t, fallback=fallback)


def no_errors() -> dict[str, Any]:
    """What a form page shows before anything is posted."""
    return {"errors": {}, "summary": None}


def text(form: FormData, name: str) -> str | None:
    """A text field, stripped; None when empty or absent (so the API's default applies)."""
    value = form.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def posted_file(form: FormData, name: str, *, limit: int) -> tuple[bytes, str] | None:
    """The file posted as `name` and its name, read up to one byte past `limit` (so that the caller can
    tell a file that is too large); None when none was chosen."""
    upload = form.get(name)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    with upload.file as file:  # spooled to a temporary file: give it back now, not at garbage collection
        return file.read(limit + 1), upload.filename


def checked(form: FormData, name: str) -> bool:
    return form.get(name) in {"on", "true", "1", "yes"}


def values(form: FormData, names: list[str]) -> dict[str, Any]:
    """The non-empty text fields among `names`."""
    return {name: value for name in names if (value := text(form, name)) is not None}


def refusal(error: ValidationError | MatchmakerError) -> FormErrors:
    """A request model's or a service's refusal as FormErrors (a service's keeps its status)."""
    if isinstance(error, ValidationError):
        return FormErrors([Problem.from_entry(entry) for entry in field_errors_from_pydantic(error.errors())])
    return FormErrors(
        [Problem.from_entry(entry) for entry in error.errors],
        reason=Message(error.detail, error.code, error.values),
        status=error.status,
    )


def build(model: type[Model], data: dict[str, Any]) -> Model:
    """The request model, or FormErrors naming each bad field (as the API would report them)."""
    try:
        # A form's fields are text: a number typed into one arrives as text, and is read as the number.
        return model.model_validate(data, context={TEXT_INPUT: True})
    except ValidationError as error:
        raise refusal(error) from None


def attempt(action: Callable[[], Result], *, session: Session | None = None) -> Result:
    """Run a service call; its domain error becomes FormErrors (with the error's status) for the form to
    show. With a session, whatever the call changed before refusing is rolled back: the request's session
    commits when a page returns normally, as it does when it shows a refused form."""
    try:
        return action()
    except MatchmakerError as error:
        if session is not None:
            session.rollback()
        raise refusal(error) from None
