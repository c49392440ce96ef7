"""Who may see an offer, stated once; its SQL, its per-offer check and the offer table's mask derive from it.

Everyone sees their own offers, in any state; the operator sees all; anyone else sees a published offer of
an admitted supplier that is public or restricted to an alliance the viewer is an active member of.
Matching ranks only what can be matched: published offers of admitted suppliers (a viewer's own draft is
not a match).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.sql.elements import ColumnElement

from matchmaker.db.models import Offer, Organisation
from matchmaker.visibility import (
    EVERYONE,
    OPERATOR,
    Equals,
    InViewerAlliances,
    OwnedByViewer,
    SqlField,
    Viewer,
    all_of,
    any_of,
    holds,
    where,
)

MATCHABLE = all_of(Equals("status", "published"), Equals("owner_admission", "admitted"))
SEEN = any_of(
    OPERATOR,
    OwnedByViewer("owner_id"),
    all_of(MATCHABLE, any_of(Equals("visibility", "public"), InViewerAlliances("visibility_alliance_id"))),
)
# What matching ranks for a viewer, and what the PACT host lists (with a footprint stated).
MATCHED = all_of(MATCHABLE, SEEN)


def _owner_admission(status: str) -> ColumnElement[bool]:
    return Offer.owner_id.in_(select(Organisation.id).where(Organisation.admission_status == status))


SQL_FIELDS = {
    "status": SqlField(Offer.status),
    "owner_id": SqlField(Offer.owner_id),
    "owner_admission": SqlField(equals=_owner_admission),
    "visibility": SqlField(Offer.visibility),
    "visibility_alliance_id": SqlField(Offer.visibility_alliance_id),
}
_GETTERS = {"owner_admission": lambda offer: offer.owner.admission_status}


def matchable_where() -> ColumnElement[bool]:
    """Offers matching may rank for someone (published, by an admitted supplier), as SQL."""
    return where(MATCHABLE, EVERYONE, fields=SQL_FIELDS)


def seen_where(viewer: Viewer) -> ColumnElement[bool]:
    """Offers the viewer may see, as SQL."""
    return where(SEEN, viewer, fields=SQL_FIELDS)


def matched_where(viewer: Viewer) -> ColumnElement[bool]:
    """Offers matching may rank for the viewer, as SQL."""
    return where(MATCHED, viewer, fields=SQL_FIELDS)


def can_see(viewer: Viewer, offer: Offer) -> bool:
    """Whether the viewer may see this offer (its owner loaded)."""
    return holds(SEEN, viewer, offer, getters=_GETTERS)


def can_match(viewer: Viewer, offer: Offer) -> bool:
    """Whether matching may rank this offer for the viewer (its owner loaded)."""
    return holds(MATCHED, viewer, offer, getters=_GETTERS)
