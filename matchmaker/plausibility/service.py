"""Holding a vendor's implausibly low footprint for the operator, and the operator's decision.

A vendor's offer that is published with a new footprint (or published anew) is reviewed against the
published offers on the same basis (`rule`); if its footprint is far below what its product's peers state,
it is held: seen by its vendor and the operator only, until the operator releases it (this footprint is then
not held again) or sends it back to draft with a reason. The operator's own writes (its imports, PACT pulls)
are not reviewed: the operator vouches for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from matchmaker.db.models import Offer
from matchmaker.errors import Conflict, ValidationFailed, field_error
from matchmaker.plausibility.rule import Item, PeerIndex, Verdict
from matchmaker.units import DECLARED_UNITS, UnitFamily

# The most peers of other owners a review reads (the most recent), besides all of the owner's own.
MOST_PEERS = 5_000
# A session's indexes of peers, by basis: a batch (an import) builds each once.
_INDEXES = "plausibility_indexes"
_PER_MASS = "kg"
_BASE_UNITS = {family.value: unit for unit, (family, factor) in DECLARED_UNITS.items() if factor == 1}
_REVIEWED = ("pcf_value", "pcf_unit", "status")

Decision = Literal["release", "return"]


def stated_footprint(offer: Offer) -> str:
    return f"{offer.pcf_value!r} {offer.pcf_unit}"


def item_of(offer: Offer) -> Item | None:
    """The offer as the rule compares it: per kg when its unit is a mass or its mass per declared unit is
    known (the catalogue's product weight), else per its own unit family; None without a positive
    footprint."""
    if offer.pcf_canonical is None or offer.pcf_canonical <= 0 or offer.pcf_family is None:
        return None
    attributes = offer.attributes or {}
    weight = attributes.get("product_weight_kg")
    weight = (
        float(weight)
        if isinstance(weight, int | float) and not isinstance(weight, bool) and weight > 0
        else None
    )
    # Canonical values are per the family's base unit (kg, kWh, MJ, unit ...): named so for the reviewer.
    intensity, basis = offer.pcf_canonical, _BASE_UNITS.get(offer.pcf_family, offer.pcf_family)
    if offer.pcf_family == UnitFamily.COUNT.value and weight is not None:
        intensity, basis = offer.pcf_canonical / weight, _PER_MASS
    sector = attributes.get("sector")
    industry = attributes.get("gics_industry")
    return Item(
        id=offer.id or 0,
        title=offer.title,
        owner=offer.owner_id,
        intensity=intensity,
        basis=basis,
        description=offer.description or "",
        sector=sector if isinstance(sector, str) else offer.category,
        industry=industry if isinstance(industry, str) else None,
        weight_kg=weight,
    )


def _families_of(basis: str) -> list[str]:
    """The unit families whose offers may be compared on this basis (per kg: masses, and pieces of known
    mass)."""
    if basis == _PER_MASS:
        return [UnitFamily.MASS.value, UnitFamily.COUNT.value]
    return [family for family, unit in _BASE_UNITS.items() if unit == basis]


def _index(session: Session, item: Item) -> PeerIndex:
    indexes: dict[str, PeerIndex] = session.info.setdefault(_INDEXES, {})
    if item.basis not in indexes:
        peers = session.scalars(
            select(Offer)
            .where(Offer.status == "published", Offer.pcf_family.in_(_families_of(item.basis)))
            .order_by(Offer.updated_at.desc())
            .limit(MOST_PEERS)
        ).all()
        own = session.scalars(
            select(Offer).where(
                Offer.owner_id == item.owner,
                Offer.status == "published",
                Offer.pcf_family.in_(_families_of(item.basis)),
            )
        ).all()
        unique = {offer.id: offer for offer in (*peers, *own)}
        indexes[item.basis] = PeerIndex(
            found for found in (item_of(offer) for offer in unique.values()) if found is not None
        )
    return indexes[item.basis]


def review(session: Session, offer: Offer) -> Verdict | None:
    """The rule's verdict on the offer's footprint, against the published offers but itself."""
    item = item_of(offer)
    if item is None:
        return None
    return _index(session, item).review(item, leave_out=frozenset({offer.id} if offer.id else set()))


def check_publication(session: Session, offer: Offer) -> None:
    """Hold the vendor's offer if it is published (or held) with a footprint the rule finds implausibly low,
    and publish a held one whose footprint the vendor changed to one it does not; call it after a vendor's
    write, before the flush (it reads what the write changed)."""
    if offer.status not in ("published", "held"):
        return  # a draft or an archive is seen by nobody else; a hold it had is kept for its footprint
    stated = stated_footprint(offer) if offer.pcf_value is not None else None
    if stated is not None and (offer.plausibility_hold or {}).get("footprint") == stated:
        offer.status = "held"  # published again as it was held: it stays held
        return
    state = inspect(offer)
    unchanged = state.persistent and not any(state.attrs[name].history.has_changes() for name in _REVIEWED)
    if offer.status == "published" and unchanged:
        return  # published before with this footprint: reviewed then
    verdict = None if stated is None or offer.plausible_footprint == stated else review(session, offer)
    if verdict is not None and verdict.held:
        offer.status = "held"
        offer.plausibility_hold = {**verdict.as_json(), "footprint": stated}
        offer.plausibility_reason = None
    else:
        offer.status = "published"
        offer.plausibility_hold = None
        offer.plausibility_reason = None


def held(session: Session) -> Sequence[Offer]:
    """The offers waiting for the operator's review, oldest first."""
    return session.scalars(
        select(Offer).where(Offer.status == "held").order_by(Offer.updated_at, Offer.id)
    ).all()


def decide(*, session: Session, offer: Offer, decision: Decision, reason: str | None) -> Offer:
    """Release a held offer (published; its footprint is not held again) or send it back to draft with a
    reason its vendor reads."""
    if offer.status != "held":
        raise Conflict(
            f"offer {offer.id} is not held for review (it is {offer.status})",
            code="plausibility.not_held",
            values={"status": offer.status},
        )
    if decision == "release":
        offer.status = "published"
        offer.plausible_footprint = stated_footprint(offer)
        offer.plausibility_reason = None
    else:
        if not reason:
            raise ValidationFailed(
                "sending an offer back needs a reason its vendor can act on",
                errors=[
                    field_error("reason", "required to send it back", code="plausibility.reason_missing")
                ],
                code="plausibility.reason_missing",
            )
        offer.status = "draft"
        offer.plausibility_reason = reason
    offer.plausibility_hold = None
    session.flush()
    return offer


def hold_of(offer: Offer) -> dict[str, Any] | None:
    return offer.plausibility_hold if offer.status == "held" else None
