"""Who may see the matches of a need or an offer, stated once: its owner and the operator.

A need's matches are ranked with its buyer's visibility (alliance-only offers included), so showing them to
anyone else would leak what that buyer may see; an offer's fitting needs likewise tell what its supplier's
listing reaches. Anyone else is told 404, as for what does not exist.
"""

from __future__ import annotations

from matchmaker.db.models import Need, Offer
from matchmaker.visibility import OPERATOR, OwnedByViewer, Viewer, any_of, holds

MATCHES_SEEN = any_of(OPERATOR, OwnedByViewer("owner_id"))


def can_see_matches(viewer: Viewer, subject: Need | Offer) -> bool:
    """Whether the viewer may see the matches of this need or offer."""
    return holds(MATCHES_SEEN, viewer, subject)
