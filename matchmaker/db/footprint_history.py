"""Every version of an offer's footprint, kept as it is written (`FootprintVersion`): its value, unit,
verification and status, from the offer's creation on, whichever writer made the change (the API, the
pages, an import, a PACT pull). Alerts read it to say what changed, old -> new.

A listener on every session, like the feed's (`db.changes`), so no writer can forget it: the rows are
written in the same flush as the change, on the same connection, and commit or roll back with it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from matchmaker.db.base import utcnow
from matchmaker.db.models import FootprintVersion, Offer

# What a buyer relies on in a footprint; a change of anything else (a title) leaves no new version here.
TRACKED = (
    "pcf_value", "pcf_unit", "pcf_verified", "verified_until", "verification_source", "pcf_origin", "status",
)  # fmt: skip
# Where a session's owner says who it acts for: a callable giving the organisation's id, or None (set by the
# request's session, `deps.get_session`).
ACTOR = "actor"


def _footprint_changed(offer: Offer) -> bool:
    state = inspect(offer)
    return any(state.attrs[name].history.has_changes() for name in TRACKED)


@event.listens_for(Session, "after_flush")
def _keep_versions(session: Session, context: Any) -> None:
    written = [o for o in session.new if isinstance(o, Offer)]
    written += [o for o in session.dirty if isinstance(o, Offer) and _footprint_changed(o)]
    if not written:
        return
    now = utcnow()
    who = session.info.get(ACTOR)
    actor = who() if callable(who) else None
    session.connection().execute(
        insert(FootprintVersion),
        [
            {
                "offer_id": offer.id,
                "version": offer.version,
                "pcf_value": offer.pcf_value,
                "pcf_unit": offer.pcf_unit,
                "pcf_verified": bool(offer.pcf_verified),
                "verified_until": offer.verified_until,
                "verification_source": offer.verification_source,
                "verified_by": offer.verified_by,
                "pcf_origin": offer.pcf_origin,
                "status": offer.status,
                "recorded_at": now,
                "changed_by_id": actor,
            }
            for offer in written
        ],
    )
