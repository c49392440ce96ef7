"""The alerts, made from the feed of committed changes (`alerts.rules` says which): a follower of the feed
that ranks what changed as the buyers and suppliers see it, stores each alert once, and queues the posts
to webhooks.

One worker process per machine runs it (`alerts.worker`); rankings sync the matching index first, so they
see the change. Alerts are keyed, so two replicas that find the same event store one alert. Its place in
the feed is kept in the database (`FeedPosition`): a restarted process goes on from there, and the first
start of all begins at the feed's end (`start_position`, called as the app starts).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from matchmaker.alerts import delivery, repository, rules
from matchmaker.auth import Principal
from matchmaker.db.changes import FeedCursor, latest_position
from matchmaker.db.models import Need, Offer
from matchmaker.db.session import transaction
from matchmaker.errors import NotFound
from matchmaker.local_time import TIME_ZONE
from matchmaker.matching import service as matching
from matchmaker.matching.engine import Engine
from matchmaker.matching.schemas import OfferBrief
from matchmaker.needs import repository as need_repository
from matchmaker.needs import visibility as need_visibility
from matchmaker.offers import repository as offer_repository
from matchmaker.offers import visibility as offer_visibility
from matchmaker.parties import service as party_service

logger = logging.getLogger(__name__)
# Work done on nobody's behalf sees what the operator sees; each rule then applies the parties' own views.
SYSTEM = Principal(organisation_id=0, role="operator", key_id=0)
# Up to this many changed offers (or as many as there are open needs) are looked at one by one.
OFFERS_LOOKED_AT_ONE_BY_ONE = 50


class AlertProducer:
    """Turns the feed's changes into alerts; `run` does one pass (thread-safe: one pass at a time)."""

    def __init__(self) -> None:
        self._cursor: FeedCursor | None = None
        self._lock = threading.Lock()

    def start(self, session_factory: sessionmaker[Session]) -> None:
        """Take the place to read from (`start_position`) before changes arrive."""
        with self._lock:
            self._begin(session_factory)

    def _begin(self, session_factory: sessionmaker[Session]) -> bool:
        """Take the place to read from, unless taken; whether it was taken just now."""
        if self._cursor is not None:
            return False
        self._cursor = FeedCursor("alerts", position=start_position(session_factory))
        return True

    def run(self, engine: Engine, session_factory: sessionmaker[Session]) -> int:
        """Read what changed since the last pass, store the alerts it makes and queue their posts; how many
        alerts were new. A failure is logged: the same changes are read again next time."""
        with self._lock:
            try:
                return self._run(engine, session_factory)
            except Exception:
                logger.exception("could not make the alerts of the latest changes")
                return 0

    def _run(self, engine: Engine, session_factory: sessionmaker[Session]) -> int:
        if self._begin(session_factory) or self._cursor is None:  # begins here (the start found no database)
            return 0
        with session_factory() as session:
            cursor = self._cursor.copy()
            changed = cursor.read_kinds(session)
            found = alerts_of(session=session, engine=engine, changed=changed) if changed else Findings()
        if not changed:
            self._cursor = cursor
            return 0
        with transaction(session_factory) as writer:
            new = repository.add_new(writer, found.alerts)
            repository.remember_fits(writer, found.known)
            delivery.queue(writer, new)
            repository.advance(writer, cursor.position)
        self._cursor = cursor
        if new:
            logger.info("%d new alerts", len(new))
        return len(new)


def start_position(session_factory: sessionmaker[Session]) -> int:
    """Where the alerts go on reading the feed: where they stopped, or, the first time, the feed's end (a
    catalogue imported before alerts existed is not news to anyone)."""
    with transaction(session_factory) as session:
        stored = repository.position(session)
        if stored is None:
            stored = latest_position(session)
            repository.advance(session, stored)
    return stored


@dataclass
class Findings:
    """What a pass found: alerts to store (duplicates of stored ones are dropped then), and the (need,
    offer) pairs whose buyer now knows they fit."""

    alerts: list[dict[str, Any]] = field(default_factory=list)
    known: list[tuple[int, int]] = field(default_factory=list)


def alerts_of(*, session: Session, engine: Engine, changed: dict[str, set[int]]) -> Findings:
    """The alerts the changed rows make."""
    organisations = set(changed.get("organisations", set()))
    organisations |= repository.organisations_of_memberships(
        session, sorted(changed.get("memberships", set()))
    )
    offer_ids = set(changed.get("offers", set()))
    # An offer may have come to fit a need when it was published or its footprint or verification
    # changed, or its supplier was admitted or joined an alliance; a new title makes no news.
    may_fit = repository.last_changed_in_footprint(session, sorted(offer_ids))
    may_fit |= repository.published_offers_of(session, sorted(organisations))
    need_ids = set(changed.get("needs", set()))
    for organisation in organisations:  # a buyer that joined an alliance may now see more for its needs
        need_ids.update(need.id for need in need_repository.open_needs_of(session, organisation))
    found = Findings()
    # Needs first: a need's matches when it is posted are what its buyer sees, not news to it.
    _needs_fitting_offers(session, engine, sorted(need_ids), found)
    _offers_fitting_needs(session, engine, sorted(may_fit), found)
    found.alerts += _watched_offers_changed(session, sorted(offer_ids))
    return found


def _alert(
    *, organisation_id: int, kind: rules.AlertKind, key: str, need_id: int | None, offer_id: int | None,
    details: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    return {
        "organisation_id": organisation_id, "kind": kind, "key": key, "need_id": need_id,
        "offer_id": offer_id, "details": details,
    }  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Fit:
    need_id: int
    offer: OfferBrief
    need_text: str
    match_score: int


def _offers_fitting_needs(
    session: Session, engine: Engine, offer_ids: Sequence[int], found: Findings
) -> None:
    """Alert each buyer whose open need an offer now fits, unless it knew. A few offers are looked at from
    their side (the needs each fits); a batch larger than the open needs (an import) from the needs' side
    (each need's matches once), so that its cost follows the smaller of the two."""
    needs = matching.open_need_ids(session=session)
    if not needs or not offer_ids:
        return
    fits: list[_Fit] = []
    if len(offer_ids) <= max(OFFERS_LOOKED_AT_ONE_BY_ONE, len(needs)):
        for offer_id in offer_ids:
            try:
                fitting = matching.match_offer(
                    session=session, engine=engine, principal=SYSTEM, offer_id=offer_id,
                    limit=matching.MOST_LISTED,
                )  # fmt: skip
            except NotFound:  # deleted since
                continue
            fits += [_Fit(m.need.id, fitting.offer, m.need.text, m.match_score) for m in fitting.matches]
    else:
        wanted = set(offer_ids)
        for need_id in needs:
            listed = matching.match_need(
                session=session, engine=engine, principal=SYSTEM, need_id=need_id,
                refinement=matching.Refinement(), limit=matching.MOST_LISTED,
            )  # fmt: skip
            text = listed.need.text if listed.need else ""
            fits += [
                _Fit(need_id, m.offer, text, m.match_score) for m in listed.matches if m.offer.id in wanted
            ]
    pairs = [(fit.need_id, fit.offer.id) for fit in fits]
    known = set(found.known) | repository.known_fits(session, pairs)
    buyers = repository.owners(session, model=Need, ids=sorted({fit.need_id for fit in fits}))
    for fit in fits:
        if (fit.need_id, fit.offer.id) in known:
            continue
        known.add((fit.need_id, fit.offer.id))
        found.known.append((fit.need_id, fit.offer.id))
        found.alerts.append(
            _alert(
                organisation_id=buyers[fit.need_id],
                kind="offer_fits_need",
                key=rules.fit_key(need_id=fit.need_id, offer_id=fit.offer.id),
                need_id=fit.need_id,
                offer_id=fit.offer.id,
                details={
                    "offer_title": fit.offer.title,
                    "supplier": fit.offer.supplier,
                    "need_text": fit.need_text[:200],
                    "match_score": fit.match_score,
                    "pcf_value": fit.offer.pcf_value,
                    "pcf_unit": fit.offer.pcf_unit,
                },
            )  # fmt: skip
        )


def _watched_offers_changed(session: Session, offer_ids: Sequence[int]) -> list[dict[str, Any]]:
    rows = []
    for offer_id, watches in repository.watchers(session, offer_ids).items():
        versions = repository.last_two_versions(session, offer_id)
        if len(versions) < 2:
            continue
        new, old = versions
        withdrawn = old.status == "published" and new.status != "published"
        footprint_moved = (new.pcf_value, new.pcf_unit, new.pcf_verified) != (
            old.pcf_value, old.pcf_unit, old.pcf_verified,
        )  # fmt: skip
        if not (withdrawn or footprint_moved):
            continue
        offer = offer_repository.get(session, offer_id)
        details = {
            "offer_title": offer.title if offer else "",
            "old": {"pcf_value": old.pcf_value, "pcf_unit": old.pcf_unit, "pcf_verified": old.pcf_verified,
                    "status": old.status},
            "new": {"pcf_value": new.pcf_value, "pcf_unit": new.pcf_unit, "pcf_verified": new.pcf_verified,
                    "status": new.status},
        }  # fmt: skip
        told: set[int] = set()
        for watch in watches:
            # A change the buyer saw before it began watching is not news to it; one alert per buyer.
            if new.recorded_at < watch.since or watch.organisation_id in told:
                continue
            told.add(watch.organisation_id)
            buyer = party_service.viewer_for(
                session=session, organisation_id=watch.organisation_id, role="buyer"
            )
            kind: rules.AlertKind
            said: dict[str, Any]
            if offer is None or not offer_visibility.can_see(buyer, offer):
                # Out of the buyer's sight now (a draft, alliance-only, its supplier suspended): it hears
                # that the offer is gone, never what its supplier changed since.
                kind, said = "offer_withdrawn", {"offer_title": details["offer_title"]}
            else:
                kind, said = ("offer_withdrawn" if withdrawn else "offer_changed"), details
            rows.append(
                _alert(
                    organisation_id=watch.organisation_id,
                    kind=kind,
                    key=rules.change_key(offer_id=offer_id, version=new.version),
                    need_id=watch.need_id,
                    offer_id=offer_id,
                    details=said,
                )  # fmt: skip
            )
    return rows


def _needs_fitting_offers(session: Session, engine: Engine, need_ids: Sequence[int], found: Findings) -> None:
    today = datetime.now(TIME_ZONE).date()
    for need_id in need_ids:
        need = need_repository.get(session, need_id)
        if need is not None and need.status == "closed" and need.respond_by and need.respond_by < today:
            found.alerts.extend(_need_closed(session, need))
        if need is None or need.status != "open":
            continue
        matches = matching.match_need(
            session=session, engine=engine, principal=SYSTEM, need_id=need_id,
            refinement=matching.Refinement(), limit=rules.ALERTED_RANKS,
        )  # fmt: skip
        found.known.extend((need_id, m.offer.id) for m in matches.matches)
        if need.visibility != "vendors":  # a private need is its buyer's alone
            continue
        suppliers = repository.owners(session, model=Offer, ids=[m.offer.id for m in matches.matches])
        vendors = {
            supplier: party_service.viewer_for(session=session, organisation_id=supplier, role="vendor")
            for supplier in set(suppliers.values())
        }
        for match in matches.matches:
            supplier = suppliers.get(match.offer.id)
            # Only a supplier that may see the need is told of it (an admitted vendor, a shared need).
            if supplier is None or not need_visibility.can_see(vendors[supplier], need):
                continue
            found.alerts.append(
                _alert(
                    organisation_id=supplier,
                    kind="need_fits_offer",
                    key=rules.need_fit_key(need_id=need_id, offer_id=match.offer.id),
                    need_id=need_id,
                    offer_id=match.offer.id,
                    details={
                        "offer_title": match.offer.title,
                        "need_text": need.text[:200],
                        "buyer": need.owner.name,
                        "match_score": match.match_score,
                    },
                )  # fmt: skip
            )


def _need_closed(session: Session, need: Need) -> list[dict[str, Any]]:
    """Tell the suppliers told of a need (or asked about it) that it closed; only where they could see it
    while it was open: a private need's text never reaches a supplier, whatever inquiry named it."""
    if need.visibility != "vendors":
        return []
    told = repository.suppliers_told_of(session, need.id)
    alerts = []
    for supplier, offer_id in told.items():
        if not party_service.viewer_for(session=session, organisation_id=supplier, role="vendor").admitted:
            continue
        alerts.append(
            _alert(
                organisation_id=supplier,
                kind="need_closed",
                key=rules.closed_key(need_id=need.id),
                need_id=need.id,
                offer_id=offer_id,
                details={
                    "need_text": need.text[:200],
                    "buyer": need.owner.name,
                    "respond_by": need.respond_by.isoformat() if need.respond_by else None,
                },
            )  # fmt: skip
        )
    return alerts
