"""Holding a vendor's implausibly low footprint for the operator, and the operator's decision.

A vendor's offer that is published with a new footprint (or published anew) is reviewed against the
published offers on the same basis (`rule`); if its footprint is far below what its product's peers state,
it is held: seen by its vendor and the operator only, until the operator releases it (this footprint is then
not held again) or sends it back to draft with a reason. The operator's own writes (its imports, PACT pulls)
are not reviewed: the operator vouches for them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from matchmaker.db.models import Offer
from matchmaker.errors import Conflict, ValidationFailed, field_error
from matchmaker.plausibility import repository
from matchmaker.plausibility.repository import HELD
from matchmaker.plausibility.rule import Item, PeerIndex, Verdict
from matchmaker.units import DECLARED_UNITS, UnitFamily

# The most peers of other owners a review reads (the most recent), besides all of the owner's own.
MOST_PEERS = 5_000
# A session's indexes of peers, by basis and owner: a batch (an import) builds each once.
_INDEXES = "plausibility_indexes"
_PER_MASS = "kg"
_BASE_UNITS = {family.value: unit for unit, (family, factor) in DECLARED_UNITS.items() if factor == 1}
# A mass per piece outside this range (kg) is not a product's: the footprint is compared per piece.
_MASSES = (1e-6, 1e6)
# What a review reads of an offer: a change of any of them is reviewed again.
_REVIEWED = ("pcf_value", "pcf_unit", "status", "attributes", "category", "title", "description")

Decision = Literal["release", "return"]


def stated_footprint(offer: Offer) -> str:
    return f"{offer.pcf_value!r} {offer.pcf_unit}"


def item_of(offer: Offer) -> Item | None:
    """The offer as the rule compares it: per kg when its unit is a mass or its mass per declared unit is
    known (the catalogue's product weight), else per its own unit family; None without a positive, finite
    footprint."""
    if offer.pcf_canonical is None or offer.pcf_family is None:
        return None
    attributes = offer.attributes or {}
    weight = attributes.get("product_weight_kg")
    if not (
        isinstance(weight, int | float)
        and not isinstance(weight, bool)
        and _MASSES[0] <= weight <= _MASSES[1]
    ):
        weight = None
    # Canonical values are per the family's base unit (kg, kWh, MJ, unit ...): named so for the reviewer.
    intensity, basis = offer.pcf_canonical, _BASE_UNITS.get(offer.pcf_family, offer.pcf_family)
    if offer.pcf_family == UnitFamily.COUNT.value and weight is not None:
        intensity, basis = offer.pcf_canonical / weight, _PER_MASS
    if not (math.isfinite(intensity) and intensity > 0):
        return None
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
    """The peers of an owner's offers on a basis: the most recent others' and all of the owner's own (so
    an index is kept per basis and owner: an import reviews one owner's offers against the same one)."""
    indexes: dict[tuple[str, int], PeerIndex] = session.info.setdefault(_INDEXES, {})
    key = (item.basis, item.owner)
    if key not in indexes:
        offers = repository.peers(
            session, families=_families_of(item.basis), owner_id=item.owner, most=MOST_PEERS
        )
        indexes[key] = PeerIndex(found for found in map(item_of, offers) if found is not None)
    return indexes[key]


def review(session: Session, offer: Offer) -> Verdict | None:
    """The rule's verdict on the offer's footprint, against the published offers but itself."""
    item = item_of(offer)
    if item is None:
        return None
    # Reading the peers must not write the offer first: it would be recorded (its footprint history, what
    # the PACT host serves) as published before the review decides.
    with session.no_autoflush:
        index = _index(session, item)
    return index.review(item, leave_out=frozenset({offer.id} if offer.id else set()))


def after_write(session: Session, offer: Offer, *, vouched: bool) -> None:
    """The review's part in every write of an offer, before its flush (it reads what the write changed).

    The operator's writes are not reviewed: it vouches for them, and its publishing a held offer releases
    it. A vendor's offer published (or held) with a footprint the rule finds implausibly low is held; a
    held one whose footprint the vendor changed to one the rule does not find so is published."""
    if offer.status not in ("published", HELD):
        return  # a draft or an archive is seen by nobody else; a hold it had is kept for its footprint
    stated = stated_footprint(offer) if offer.pcf_value is not None else None
    if vouched:
        if offer.status == "published" and offer.plausibility_hold:
            _release(offer)
        return
    if stated is not None and (offer.plausibility_hold or {}).get("footprint") == stated:
        offer.status = HELD  # published again as it was held: it stays held
        return
    state = inspect(offer)
    unchanged = state.persistent and not any(state.attrs[name].history.has_changes() for name in _REVIEWED)
    if offer.status == "published" and unchanged:
        return  # published before as it is: reviewed then
    if offer.plausible_footprint != stated:
        offer.plausible_footprint = None  # the operator found another footprint plausible, not this one
    hold = None if stated is None or offer.plausible_footprint == stated else _hold_for(session, offer)
    if hold is not None:
        offer.status = HELD
        offer.plausibility_hold = {**hold, "footprint": stated}
        offer.plausibility_reason = None
    else:
        offer.status = "published"
        offer.plausibility_hold = None
        offer.plausibility_reason = None


def _hold_for(session: Session, offer: Offer) -> dict[str, Any] | None:
    """Why the offer's footprint is held, or None. A footprint of zero or less is always held: a product
    that removes carbon may have one, but the operator sees it first (none would be compared with peers)."""
    if offer.pcf_canonical is not None and offer.pcf_canonical <= 0:
        basis = _BASE_UNITS.get(offer.pcf_family or "", offer.pcf_family)
        return {"reference": "not_positive", "intensity": offer.pcf_canonical, "basis": basis, "peers": []}
    verdict = review(session, offer)
    return verdict.as_json() if verdict is not None and verdict.held else None


def held(session: Session) -> Sequence[Offer]:
    return repository.held(session)


def decide(*, session: Session, offer: Offer, decision: Decision, reason: str | None) -> Offer:
    """Release a held offer (published; this footprint is not held again while it stays) or send it back to
    draft with a reason its vendor reads."""
    if offer.status != HELD:
        raise Conflict(
            f"offer {offer.id} is not held for review (it is {offer.status})",
            code="plausibility.not_held",
            values={"status": offer.status},
        )
    if decision == "release":
        offer.status = "published"
        _release(offer)
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


def _release(offer: Offer) -> None:
    offer.plausible_footprint = stated_footprint(offer) if offer.pcf_value is not None else None
    offer.plausibility_hold = None
    offer.plausibility_reason = None
