"""Who may see an inquiry, stated once: the buyer that sent it, the vendor it was sent to, and the operator.
Anyone else is told 404, as for one that does not exist."""

from __future__ import annotations

from sqlalchemy.sql.elements import ColumnElement

from matchmaker.db.models import Inquiry
from matchmaker.visibility import OPERATOR, OwnedByViewer, SqlField, Viewer, any_of, holds, where

SEEN = any_of(OPERATOR, OwnedByViewer("buyer_id"), OwnedByViewer("vendor_id"))
SQL_FIELDS = {"buyer_id": SqlField(Inquiry.buyer_id), "vendor_id": SqlField(Inquiry.vendor_id)}


def seen_where(viewer: Viewer) -> ColumnElement[bool]:
    return where(SEEN, viewer, fields=SQL_FIELDS)


def can_see(viewer: Viewer, inquiry: Inquiry) -> bool:
    return holds(SEEN, viewer, inquiry)
