"""Field types shared by request schemas: database ids within range, numbers that are numbers, booleans
that are booleans, and text the service can store (matchmaker.clean_text)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, BeforeValidator, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError, PydanticKnownError

from matchmaker.clean_text import first_bad_text
from matchmaker.units import MAX_FOOTPRINT_MAGNITUDE

# Validation context key: the input is text by nature (a form), so a number may arrive written as text.
TEXT_INPUT = "text_input"


def _from_text(info: ValidationInfo) -> bool:
    """Whether the input is text by nature (a form says so in the context); CSV cells are converted by
    the reader, and JSON has its own numbers and booleans."""
    return isinstance(info.context, dict) and bool(info.context.get(TEXT_INPUT))


# A number as people write one in a form or a CSV cell: ASCII digits, a point, an exponent. Python's float()
# also reads "1_0" as 10 and "٥٠" or "５０" as 50, which nobody meant.
PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def plain_number(text: str) -> float | None:
    """The number a form field or a CSV cell holds, or None when it holds no plain number."""
    stripped = text.strip()
    return float(stripped) if PLAIN_NUMBER.fullmatch(stripped) else None


def _a_plain_number(value: Any) -> Any:
    """A number written plainly (`PLAIN_NUMBER`) as that number; pydantic's own refusal otherwise."""
    if isinstance(value, str):
        number = plain_number(value)
        if number is None:
            raise PydanticKnownError("float_parsing")  # as pydantic's own refusal, which the pages phrase
        return number
    return value


def _a_number_not_text(value: Any, info: ValidationInfo) -> Any:
    # pydantic's lax mode reads true as 1 and "12" as 12; in JSON a number is a number.
    if isinstance(value, bool) or (isinstance(value, str) and not _from_text(info)):
        raise PydanticCustomError(
            "number_type", "Input should be a number, not {kind}", {"kind": type(value).__name__}
        )
    if isinstance(value, str) and value.strip():
        _a_plain_number(value)  # refused unless written plainly; pydantic reads it as its field's type
    return value


NotText = BeforeValidator(_a_number_not_text)


# A number in a query string: written plainly, as in a form (`PLAIN_NUMBER`).
PlainQueryNumber = BeforeValidator(_a_plain_number)


def _a_boolean_not_text(value: Any, info: ValidationInfo) -> Any:
    # Lax mode reads "yes", 1 and 1e-400 as booleans; in JSON a boolean is true or false.
    if isinstance(value, bool) or (isinstance(value, str) and _from_text(info)):
        return value
    raise PydanticCustomError(
        "bool_type", "Input should be true or false, not {kind}", {"kind": type(value).__name__}
    )


# A true/false field of a request body or an import line.
Flag = Annotated[bool, BeforeValidator(_a_boolean_not_text)]

# Ids are INTEGER columns: 32-bit on PostgreSQL. A larger number is a client error, not a database one.
MAX_ID = 2**31 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
BodyId = Annotated[int, NotText, Field(ge=1, le=MAX_ID)]
# A footprint value or ceiling in a request body or an import line.
FootprintNumber = Annotated[
    float,
    NotText,
    Field(allow_inf_nan=False, ge=-MAX_FOOTPRINT_MAGNITUDE, le=MAX_FOOTPRINT_MAGNITUDE),
]


class RequestModel(BaseModel):
    """Base of every request body and import record: refuses text that cannot be stored in any field."""

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        bad = first_bad_text(value)
        if bad is not None:
            raise ValueError(f"{bad.dotted}: {bad.message}" if bad.path else bad.message)
        return value
