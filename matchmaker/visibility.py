"""Who may see what, stated once per object and read three ways.

A rule is a small expression over an object's fields and the viewer (`Rule`). Each object's module states
its rule once (`offers.visibility`, `needs.visibility`, `matching.visibility`); this module reads any rule
as

- `holds`: the check of one loaded object (a detail page, an edit);
- `where`: an SQL predicate (lists, searches, PACT listings);
- `mask`: a boolean mask over columns held in memory (the matching offer table).

A form of the rule is never written by hand, so the three cannot drift apart; the tests check them against
each other on random platforms. Each reader gets the object's fields through a binding: a getter per field,
an SQL column (or a callable for a field that is a subquery), or a mask-maker per field.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt
from sqlalchemy import and_, false, or_, true
from sqlalchemy.sql.elements import ColumnElement

from matchmaker.auth import Role

Mask = npt.NDArray[np.bool_]
Answer = TypeVar("Answer", covariant=True)


@dataclass(frozen=True, slots=True)
class Viewer:
    """What the rules need of a caller: its organisation, the role it acts in, whether the organisation
    is admitted, and the alliances it is an active member of."""

    organisation_id: int
    role: Role
    admitted: bool
    alliance_ids: frozenset[int]

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"


# The operator's view, for work done on nobody's behalf (announcements, evaluation): every object.
EVERYONE = Viewer(organisation_id=0, role="operator", admitted=True, alliance_ids=frozenset())


# --- the terms of a rule ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Equals:
    """The object's field has this value."""

    field: str
    value: str


@dataclass(frozen=True, slots=True)
class OwnedByViewer:
    """The object's field (its owner) is the viewer's organisation."""

    field: str


@dataclass(frozen=True, slots=True)
class InViewerAlliances:
    """The object's field names an alliance the viewer is an active member of."""

    field: str


@dataclass(frozen=True, slots=True)
class ViewerIs:
    """The viewer acts in one of these roles (and, when asked, its organisation is admitted)."""

    roles: frozenset[Role]
    admitted: bool = False


@dataclass(frozen=True, slots=True)
class AnyOf:
    terms: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class AllOf:
    terms: tuple[Rule, ...]


Rule = Equals | OwnedByViewer | InViewerAlliances | ViewerIs | AnyOf | AllOf
OPERATOR = ViewerIs(frozenset({"operator"}))


def any_of(*terms: Rule) -> AnyOf:
    return AnyOf(terms)


def all_of(*terms: Rule) -> AllOf:
    return AllOf(terms)


def _viewer_is(term: ViewerIs, viewer: Viewer) -> bool:
    return viewer.role in term.roles and (viewer.admitted or not term.admitted)


class FieldReader(Protocol[Answer]):
    """How one reader of rules answers the terms on one field: SQL, or a mask over columns."""

    def equals(self, value: Any) -> Answer: ...

    def among(self, values: Collection[Any]) -> Answer: ...


def _field_term(rule: Rule, viewer: Viewer, fields: Mapping[str, FieldReader[Answer]]) -> Answer | None:
    """A term on one of the object's fields, as that field's reader answers it; None for other terms."""
    match rule:
        case Equals(field, expected):
            return fields[field].equals(expected)
        case OwnedByViewer(field):
            return fields[field].equals(viewer.organisation_id)
        case InViewerAlliances(field):
            return fields[field].among(viewer.alliance_ids)
    return None


# --- one object ------------------------------------------------------------------------------------------

Getters = Mapping[str, Callable[[Any], Any]]


def holds(rule: Rule, viewer: Viewer, item: Any, *, getters: Getters | None = None) -> bool:
    """Whether the rule holds for this object; fields are read with `getters`, else as attributes."""

    def value(field: str) -> Any:
        getter = (getters or {}).get(field)
        return getter(item) if getter is not None else getattr(item, field)

    match rule:
        case Equals(field, expected):
            return bool(value(field) == expected)
        case OwnedByViewer(field):
            return bool(value(field) == viewer.organisation_id)
        case InViewerAlliances(field):
            return value(field) in viewer.alliance_ids
        case ViewerIs():
            return _viewer_is(rule, viewer)
        case AnyOf(terms):
            return any(holds(term, viewer, item, getters=getters) for term in terms)
        case AllOf(terms):
            return all(holds(term, viewer, item, getters=getters) for term in terms)
    raise TypeError(f"not a rule: {rule!r}")


# --- SQL -------------------------------------------------------------------------------------------------


class SqlField:
    """How SQL reads one field: a column, compared directly; a field that is not a column of the object
    (an owner's admission) gives its own comparisons."""

    def __init__(
        self,
        column: Any = None,
        *,
        equals: Callable[[str], ColumnElement[bool]] | None = None,
    ) -> None:
        self._column = column
        self._equals = equals

    def equals(self, value: Any) -> ColumnElement[bool]:
        if self._equals is not None:
            return self._equals(value)
        comparison: ColumnElement[bool] = self._column == value
        return comparison

    def among(self, values: Collection[Any]) -> ColumnElement[bool]:
        if not values:
            return false()
        comparison: ColumnElement[bool] = self._column.in_(sorted(values))
        return comparison


def where(rule: Rule, viewer: Viewer, *, fields: Mapping[str, SqlField]) -> ColumnElement[bool]:
    """The rule as an SQL predicate; terms about the viewer alone become constants."""
    on_field = _field_term(rule, viewer, fields)
    if on_field is not None:
        return on_field
    match rule:
        case ViewerIs():
            return true() if _viewer_is(rule, viewer) else false()
        case AnyOf(terms):
            return or_(*(where(term, viewer, fields=fields) for term in terms))
        case AllOf(terms):
            return and_(*(where(term, viewer, fields=fields) for term in terms))
    raise TypeError(f"not a rule: {rule!r}")


# --- columns in memory -----------------------------------------------------------------------------------


class MaskField:
    """How a table held in memory answers one field: a mask of the rows equal to a value, and of the rows
    whose value is among a set."""

    def __init__(
        self,
        *,
        equals: Callable[[Any], Mask],
        among: Callable[[Collection[Any]], Mask] | None = None,
    ) -> None:
        self._equals = equals
        self._among = among

    def equals(self, value: Any) -> Mask:
        return self._equals(value)

    def among(self, values: Collection[Any]) -> Mask:
        if self._among is None:
            raise TypeError("this field takes no set of values")
        return self._among(values)


def column_field(column: npt.NDArray[Any]) -> MaskField:
    """A field that is a plain numpy column."""
    return MaskField(
        equals=lambda value: np.asarray(column == value, dtype=bool),
        among=lambda values: np.isin(column, np.fromiter(values, dtype=column.dtype, count=len(values))),
    )


def mask(rule: Rule, viewer: Viewer, *, size: int, fields: Mapping[str, MaskField]) -> Mask:
    """The rule over `size` rows held in memory."""
    on_field = _field_term(rule, viewer, fields)
    if on_field is not None:
        return on_field
    match rule:
        case ViewerIs():
            return np.full(size, _viewer_is(rule, viewer), dtype=bool)
        case AnyOf(terms):
            result = np.zeros(size, dtype=bool)
            for term in terms:
                result |= mask(term, viewer, size=size, fields=fields)
            return result
        case AllOf(terms):
            result = np.ones(size, dtype=bool)
            for term in terms:
                result &= mask(term, viewer, size=size, fields=fields)
            return result
    raise TypeError(f"not a rule: {rule!r}")
