"""Who may see a need, stated once; its SQL and its per-need check derive from it.

Everyone sees their own needs; the operator sees all; an admitted vendor (a vendor key of an admitted
organisation) sees the open needs shared with vendors. Buyers see only their own.
"""

from __future__ import annotations

from sqlalchemy.sql.elements import ColumnElement

from matchmaker.db.models import Need
from matchmaker.visibility import (
    OPERATOR,
    Equals,
    OwnedByViewer,
    SqlField,
    Viewer,
    ViewerIs,
    all_of,
    any_of,
    holds,
    where,
)

SHARED_WITH_VENDORS = all_of(Equals("status", "open"), Equals("visibility", "vendors"))
SEEN = any_of(
    OPERATOR,
    OwnedByViewer("owner_id"),
    all_of(ViewerIs(frozenset({"vendor"}), admitted=True), SHARED_WITH_VENDORS),
)
SQL_FIELDS = {
    "status": SqlField(Need.status),
    "owner_id": SqlField(Need.owner_id),
    "visibility": SqlField(Need.visibility),
}


def seen_where(viewer: Viewer) -> ColumnElement[bool]:
    """Needs the viewer may see, as SQL."""
    return where(SEEN, viewer, fields=SQL_FIELDS)


def can_see(viewer: Viewer, need: Need) -> bool:
    """Whether the viewer may see this need."""
    return holds(SEEN, viewer, need)
