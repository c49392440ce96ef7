"""Text the service can store and send back: no NUL, no unpaired surrogate, no Unicode non-character;
and JSON whose numbers are finite (`loads`).

JSON's `"\\udfff"` decodes to an unpaired surrogate, which no UTF-8 encoder (a database driver, a JSON
response) accepts, so one stored value would break every list that shows it; PostgreSQL text cannot hold
NUL. Every place text enters (JSON bodies, forms, import lines, PACT data, credentials) asks
`first_bad_text` before the value goes any further. Pure module: no FastAPI, no SQLAlchemy.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

# U+FDD0..U+FDEF and the last two code points of every plane are non-characters: never text to exchange.
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    chr(plane + 0xFFFE) + chr(plane + 0xFFFF) for plane in range(0, 0x110000, 0x10000)
)
_BAD = re.compile(f"[\x00\ud800-\udfff{_NONCHARACTERS}]")


def bad_character(text: str) -> str | None:
    """Why this text cannot be taken (its first bad character, described), or None when it can."""
    if text.isascii() and "\x00" not in text:
        return None
    found = _BAD.search(text)
    if found is None:
        return None
    point = ord(found.group())
    if point == 0:
        return "a NUL character"
    if 0xD800 <= point <= 0xDFFF:
        return f"an unpaired surrogate (U+{point:04X})"
    return f"a Unicode non-character (U+{point:04X})"


def shown(text: str) -> str:
    """The text with its bad characters written as escapes, safe to echo in a message."""
    return _BAD.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


@dataclass(frozen=True, slots=True)
class BadText:
    """Where the first bad text is (keys and list positions from the top) and what is wrong with it."""

    path: tuple[str | int, ...]
    reason: str

    @property
    def message(self) -> str:
        return f"text must not contain {self.reason}"

    @property
    def dotted(self) -> str:
        """The path as the API names fields ("attributes.colour"), with a bad key's characters escaped."""
        return ".".join(shown(part) if isinstance(part, str) else str(part) for part in self.path)


def first_bad_text(value: Any, *, path: tuple[str | int, ...] = ()) -> BadText | None:
    """The first text in `value` (a string, or any string or key inside dicts, lists and tuples) that
    cannot be taken, in document order; None when all of it can."""
    # An explicit stack: a body nested a thousand deep must not exhaust the interpreter's.
    stack: list[tuple[tuple[str | int, ...], Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            reason = bad_character(item)
            if reason is not None:
                return BadText(where, reason)
        elif isinstance(item, dict):
            children: list[tuple[tuple[str | int, ...], Any]] = []
            for key, child in item.items():
                name = key if isinstance(key, str | int) else str(key)
                if isinstance(key, str) and (reason := bad_character(key)) is not None:
                    children.append(((*where, name), _BadKey(reason)))
                    break
                children.append(((*where, name), child))
            stack.extend(reversed(children))
        elif isinstance(item, list | tuple):
            stack.extend(reversed([((*where, index), child) for index, child in enumerate(item)]))
        elif isinstance(item, _BadKey):
            return BadText(where, item.reason)
    return None


@dataclass(frozen=True, slots=True)
class _BadKey:
    """A dict key found bad, queued so that anything before it in the document is reported first."""

    reason: str


class NotFiniteNumber(ValueError):
    """A JSON number that is not finite: NaN, Infinity, or one too large for a float (1e400)."""


def _refuse_constant(name: str) -> Any:
    raise NotFiniteNumber(f"{name} is not a number JSON allows")


def _finite_float(written: str) -> float:
    value = float(written)
    if not math.isfinite(value):
        raise NotFiniteNumber(f"{written[:20]}{'...' if len(written) > 20 else ''} is too large a number")
    return value


def loads(document: str | bytes) -> Any:
    """Parse JSON as the standard says it: Python's parser also takes NaN and Infinity, and reads 1e400 as
    infinity, which no database's JSON column holds (PostgreSQL refuses it, SQLite stores invalid JSON)."""
    return json.loads(document, parse_constant=_refuse_constant, parse_float=_finite_float)
