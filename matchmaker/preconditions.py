"""Entity tags of versioned objects (offers, needs) and the If-Match precondition on changing them.

An object's tag is made of its id and its version, which every change raises (SQLAlchemy's
`version_id_col`), so it changes exactly when the object does. A client that read a version sends its tag
in `If-Match`; a change to another version is refused with 412 and the current tag (RFC 9110 13.1.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Header, Response

from matchmaker.db.models import Need, Offer
from matchmaker.errors import PreconditionFailed

Versioned = Offer | Need
_NOUNS: dict[type[Versioned], str] = {Offer: "offer", Need: "need"}
# One entity tag of a list, with or without W/ (a weak tag never matches: If-Match compares strongly).
_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')


def entity_tag(row: Versioned) -> str:
    """The strong entity tag of this version of an object, quoted as the ETag header carries it."""
    return f'"{_NOUNS[type(row)]}-{row.id}-v{row.version}"'


def send_tag(response: Response, row: Versioned) -> None:
    """Send the object's current tag with the response."""
    response.headers["ETag"] = entity_tag(row)


@dataclass(frozen=True, slots=True)
class IfMatch:
    """The If-Match header of a request: absent (None), any version ("*"), or a list of tags."""

    header: str | None

    def require(self, row: Versioned) -> None:
        """Raise PreconditionFailed unless the header is absent or matches this version of the object."""
        if self.header is None or self.header.strip() == "*":
            return
        current = entity_tag(row)
        if current not in _strong_tags(self.header):
            detail = (
                f"{_NOUNS[type(row)]} {row.id} is at version {row.version} ({current}), not the one "
                "If-Match names: read it again and apply your change to that version"
            )
            raise _changed_meanwhile(detail, row)


def require_version(expected: str | None, row: Versioned) -> None:
    """Raise PreconditionFailed unless `expected` (an edit form's version field) is absent or this version."""
    if expected is not None and expected.strip() != str(row.version):
        detail = (
            "This was changed by someone else while you were editing it (it is now at version "
            f"{row.version}). Your changes below are not saved yet: check them and save again."
        )
        raise _changed_meanwhile(detail, row)


def _changed_meanwhile(detail: str, row: Versioned) -> PreconditionFailed:
    error = PreconditionFailed(
        detail,
        code="edit.precondition_failed",
        values={"noun": _NOUNS[type(row)], "id": row.id, "version": row.version},
    )
    error.headers["ETag"] = entity_tag(row)
    return error


def _strong_tags(header: str) -> list[str]:
    """The strong tags of an If-Match list, quoted; a malformed list has none (so it matches nothing)."""
    tags, position = [], 0
    while position < len(header):
        match = _TAG.match(header, position)
        if match is None or match.end() == position:
            return []
        if not match.group(1):
            tags.append(f'"{match.group(2)}"')
        position = match.end()
    return tags


async def get_if_match(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            max_length=4096,
            description="change only if the object is still at this version: the `ETag` a read returned",
        ),
    ] = None,
) -> IfMatch:
    return IfMatch(if_match)
