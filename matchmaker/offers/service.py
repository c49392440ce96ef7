"""Offers: create, change, publish, archive, list; who may do what."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy.orm import Session

from matchmaker import verification
from matchmaker.alliances import repository as alliances
from matchmaker.alliances import service as alliance_service
from matchmaker.auth import Principal
from matchmaker.db.base import utcnow
from matchmaker.db.models import FootprintVersion, Offer, Organisation
from matchmaker.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ValidationFailed,
    field_error,
    field_errors_from_pydantic,
)
from matchmaker.exchange import DATA_QUALITY_FIELDS, OfferFields, OfferRecord
from matchmaker.footprints import stored_footprint
from matchmaker.offers import repository, visibility
from matchmaker.offers.repository import OfferFilters
from matchmaker.offers.schemas import OfferCreate, OfferRead, OfferUpdate
from matchmaker.pagination import PageRequest
from matchmaker.parties import service as party_service
from matchmaker.plausibility import service as plausibility
from matchmaker.verification import last_day

Outcome = Literal["created", "updated", "unchanged"]
# The columns an offer takes from its validated fields (the footprint is handled apart).
_PLAIN_FIELDS = (
    "title",
    "description",
    "language",
    "kind",
    "category",
    "region",
    "declared_unit",
    "pcf_verified",
    "standard",
    "certifications",
    *DATA_QUALITY_FIELDS,
)


def get_visible(*, session: Session, principal: Principal, offer_id: int) -> Offer:
    """Return an offer the caller may see, or 404 (also for what exists but is hidden)."""
    offer = repository.get(session, offer_id)
    if offer is None or not visibility.can_see(
        party_service.viewer_of(session=session, principal=principal), offer
    ):
        raise NotFound(f"offer {offer_id} not found")
    return offer


def visible_by_ids(*, session: Session, principal: Principal, offer_ids: Sequence[int]) -> dict[int, Offer]:
    """The offers among `offer_ids` the caller may see, by id (one it may not see is as absent)."""
    viewer = party_service.viewer_of(session=session, principal=principal)
    return {
        offer.id: offer
        for offer in repository.by_ids(session, list(offer_ids))
        if visibility.can_see(viewer, offer)
    }


def get_editable(*, session: Session, principal: Principal, offer_id: int, lock: bool = True) -> Offer:
    """Return an offer the caller may change: the operator, or a vendor key of the owner. With `lock`, its
    row is held until the transaction ends, so concurrent changes queue instead of failing."""
    offer = get_visible(session=session, principal=principal, offer_id=offer_id)
    if not (
        principal.is_operator or (principal.role == "vendor" and offer.owner_id == principal.organisation_id)
    ):
        raise Forbidden("only the supplier's vendor keys and the operator may change this offer")
    if lock and not repository.lock(session, offer):
        raise NotFound(f"offer {offer_id} not found")
    return offer


def list_visible(
    *, session: Session, principal: Principal, filters: OfferFilters, sort: str, page: PageRequest
) -> tuple[Sequence[Offer], int]:
    viewer = party_service.viewer_of(session=session, principal=principal)
    return repository.list_page(
        session,
        visibility=visibility.seen_where(viewer),
        filters=filters,
        sort=sort,
        page=page,
    )


# The most changes an offer's history shows.
HISTORY_SHOWN = 50


def history(*, session: Session, principal: Principal, offer: Offer) -> Sequence[FootprintVersion]:
    """Every change of the offer's footprint, unit, verification or status: who, when, and what it became
    (each row is the state from then on; the row below it is what it was before). Others than its vendor
    and the operator read only what was published: not its drafts, nor a footprint held for review."""
    editor = principal.is_operator or principal.organisation_id == offer.owner_id
    return repository.footprint_versions(session, offer.id, limit=HISTORY_SHOWN, published_only=not editor)


def to_read(*, session: Session, offers: Sequence[Offer]) -> list[OfferRead]:
    """Render offers with their suppliers' current alliance memberships and their verification now."""
    codes = alliances.active_codes_by_organisation(session, [offer.owner_id for offer in offers])
    now = utcnow()
    statuses = [verification.of_offer(offer, now=now).status for offer in offers]
    return [
        OfferRead.model_validate(
            {
                **{
                    column: getattr(offer, column)
                    for column in OfferRead.model_fields
                    if hasattr(offer, column)
                },
                "pcf_verified": status == "verified",
                "verification_status": status,
                "footprint_expired": verification.footprint_expired(offer, now=now),
                "supplier": offer.owner.name,
                "alliances": codes.get(offer.owner_id, []),
                "visibility_alliance": offer.visibility_alliance.code if offer.visibility_alliance else None,
            }
        )
        for offer, status in zip(offers, statuses, strict=True)
    ]


def _visibility_alliance_id(session: Session, visibility: str, code: str | None) -> int | None:
    if visibility == "public":
        return None
    if not code:
        code = "offer.visibility_alliance_missing"
        raise ValidationFailed(
            "visibility 'alliance' needs visibility_alliance",
            errors=[field_error("visibility_alliance", "required when visibility is 'alliance'", code=code)],
            code=code,
        )
    return alliance_service.existing_id(session=session, code=code, field="visibility_alliance")


@dataclass(frozen=True, slots=True)
class FootprintOrigin:
    """A footprint not stated by hand: "calculated" from a bill of materials, or "lca", an LCA tool's result;
    `provenance` says which calculation, or which data set of which file."""

    kind: Literal["calculated", "lca"]
    provenance: dict[str, Any]


def _assign(
    offer: Offer, values: dict[str, Any], *, vouched: bool, origin: FootprintOrigin | None = None
) -> None:
    """Set an offer's columns from validated values; unchanged values leave the row clean.

    `vouched`: the operator writes it (its API calls, its imports, its PACT pulls), whose word that the
    footprint is verified counts; a vendor's does not (`_verification_columns`). `origin`: the footprint
    written comes from the calculator or an LCA import, and is not verified by being written, whoever writes
    it; a footprint stated by hand afterwards is the writer's own again."""
    footprint = stored_footprint(values.get("pcf_value"), values.get("pcf_unit"))
    columns: dict[str, Any] = {field: values.get(field) for field in _PLAIN_FIELDS}
    columns.update(
        pcf_value=footprint.value,
        pcf_unit=footprint.unit,
        pcf_family=footprint.family,
        pcf_canonical=footprint.canonical,
        description=values.get("description") or "",
        certifications=list(values.get("certifications") or []),
    )
    stated = (footprint.value, footprint.unit)
    if origin is not None:
        columns.update(pcf_origin=origin.kind, pcf_provenance=origin.provenance)
        # The same LCA data set imported again is no new claim: a verification it earned stays.
        again = (offer.pcf_value, offer.pcf_unit) == stated and offer.pcf_provenance == origin.provenance
        if again and origin.kind == "lca" == offer.pcf_origin:
            columns.update({column: getattr(offer, column) for column in NOT_VERIFIED})
        else:
            columns.update(NOT_VERIFIED)
    elif (offer.pcf_value, offer.pcf_unit) != stated:
        columns.update(_verification_columns(offer, values, stated, vouched=vouched))
        columns.update(pcf_origin=None, pcf_provenance=None)
    elif offer.pcf_origin == "calculated" and not offer.pcf_verified:
        # Nobody's word verifies a calculation by writing it again, the operator's included: a verifier's
        # accepted evidence does (`evidence.service.review`).
        columns.update(NOT_VERIFIED)
    else:
        columns.update(_verification_columns(offer, values, stated, vouched=vouched))
    columns.update(_validity_columns(offer, values, stated, vouched=vouched))
    for column, value in columns.items():
        if getattr(offer, column) != value:
            setattr(offer, column, value)


NOT_VERIFIED: dict[str, Any] = {
    "pcf_verified": False, "verification_source": None, "verified_by": None, "verified_until": None,
    "verification_party": None,
}  # fmt: skip


def _verification_columns(
    offer: Offer, values: dict[str, Any], footprint: tuple[float | None, str | None], *, vouched: bool
) -> dict[str, Any]:
    """Whether the footprint is verified after this write (`matchmaker.verification`).

    The operator's word counts: verified, until the end of `pcf_valid_until` when given. A vendor may keep
    a verification it has (accepted evidence) or give it up, but not claim one: ticking "verified" alone
    leaves the footprint self-declared, and changing the footprint or its standard ends its verification
    (the evidence spoke for the old ones)."""
    claimed = bool(values.get("pcf_verified")) and footprint[0] is not None
    unchanged = (offer.pcf_value, offer.pcf_unit) == footprint
    if vouched:
        if not claimed:
            return NOT_VERIFIED
        valid_until = values.get("pcf_valid_until")
        # The exchange format's `pcf_verified` has always meant third-party verified.
        party = values.get("verification_party") or "third"
        # Without a stated end, PACT's default validity: three years.
        until = verification.footprint_validity(valid_until)
        if (
            offer.pcf_verified
            and unchanged
            and offer.verification_party == party
            and (valid_until is None or offer.verified_until == until)
        ):
            return {}  # as it was (an archive, a title, the same line imported again): its end stays
        return {
            "pcf_verified": True,
            "verification_source": "operator",
            "verified_by": None,
            "verified_until": until,
            "verification_party": party,
        }
    # The standard is part of what was verified: a vendor's new one ends the verification too.
    if offer.pcf_verified and claimed and unchanged and values.get("standard") == offer.standard:
        return {}
    return NOT_VERIFIED


def _validity_columns(
    offer: Offer, values: dict[str, Any], footprint: tuple[float | None, str | None], *, vouched: bool
) -> dict[str, Any]:
    """When the footprint stops being valid (`verification.footprint_validity`): set when it is stated or
    changes, from the operator's stated end (a PACT pull's validityPeriodEnd, an import's
    `pcf_valid_until`) or PACT's default; kept while it stays as it is."""
    if footprint[0] is None:
        return {"footprint_valid_until": None}
    stated = values.get("pcf_valid_until") if vouched else None
    if stated is None and (offer.pcf_value, offer.pcf_unit) == footprint and offer.footprint_valid_until:
        return {}
    return {"footprint_valid_until": verification.footprint_validity(stated)}


def _readable_id(session: Session, *, owner_id: int, title: str) -> str:
    """An own id a person can read and type for an offer created without one: its title's Latin words, or
    "offer" for a title in Chinese, and six hex digits ("low-carbon-rebar-hrb400e-3f2a9c")."""
    latin = unicodedata.normalize("NFKD", title).lower()
    words = re.sub(r"[^a-z0-9]+", "-", latin).strip("-")[:40].strip("-")
    for _ in range(8):  # six hex digits: a clash is one in sixteen million, eight in a row never happens
        candidate = f"{words or 'offer'}-{uuid.uuid4().hex[:6]}"
        if repository.get_by_external_id(session, owner_id=owner_id, external_id=candidate) is None:
            return candidate
    return uuid.uuid4().hex


def create(*, session: Session, principal: Principal, data: OfferCreate) -> Offer:
    """Create an offer owned by the caller (or, for the operator, by the named supplier)."""
    owner = party_service.resolve_owner(
        session=session, principal=principal, owner_id=data.owner_id, role="vendor", noun="offers"
    )
    external_id = data.external_id or _readable_id(session, owner_id=owner.id, title=data.title)
    if repository.get_by_external_id(session, owner_id=owner.id, external_id=external_id):
        raise Conflict(
            f"{owner.name} already has an offer with external_id {external_id!r}",
            code="offer.external_id_taken",
            values={"owner": owner.name, "external_id": external_id},
        )
    offer = Offer(
        owner_id=owner.id,
        external_id=external_id,
        status=data.status,
        visibility=data.visibility,
        visibility_alliance_id=_visibility_alliance_id(session, data.visibility, data.visibility_alliance),
        attributes=data.attributes,
    )
    _assign(offer, data.model_dump(), vouched=principal.is_operator)
    plausibility.after_write(session, offer, vouched=principal.is_operator)
    repository.add(session, offer)
    return offer


def update(
    *, session: Session, offer: Offer, data: OfferUpdate, vouched: bool, origin: FootprintOrigin | None = None
) -> Offer:
    """Apply a partial change, validating the merged offer as a whole; `vouched` and `origin` as for
    `_assign`."""
    changes = data.model_dump(exclude_unset=True)
    current = {field: getattr(offer, field) for field in (*_PLAIN_FIELDS, "pcf_value", "pcf_unit")}
    current["pcf_valid_until"] = last_day(offer.verified_until)
    current["verification_party"] = offer.verification_party
    if "pcf_unit" in changes and "declared_unit" not in changes:
        current["declared_unit"] = None  # derive it again from the new unit
    merged = {**current, **{k: v for k, v in changes.items() if k in OfferFields.model_fields}}
    try:
        fields = OfferFields.model_validate(merged)
    except ValidationError as error:
        errors = field_errors_from_pydantic(error.errors())
        raise ValidationFailed(
            "the changed offer is not valid", errors=errors, code="offer.invalid"
        ) from None
    for required in ("status", "visibility"):
        if required in changes and changes[required] is None:
            raise ValidationFailed(
                f"{required} cannot be null",
                errors=[field_error(required, "cannot be null", code="field.null", field=required)],
                code="field.null",
                values={"field": required},
            )
    _assign(offer, fields.model_dump(), vouched=vouched, origin=origin)
    if "status" in changes:
        offer.status = changes["status"]
    if "visibility" in changes or "visibility_alliance" in changes:
        visibility = changes.get("visibility") or offer.visibility
        code = changes.get("visibility_alliance")
        if code is None and "visibility_alliance" not in changes and offer.visibility_alliance is not None:
            code = offer.visibility_alliance.code
        offer.visibility = visibility
        offer.visibility_alliance_id = _visibility_alliance_id(session, visibility, code)
    if "attributes" in changes and changes["attributes"] is not None:
        offer.attributes = changes["attributes"]
    plausibility.after_write(session, offer, vouched=vouched)
    session.flush()
    return offer


def delete(*, session: Session, offer: Offer) -> None:
    repository.delete(session, offer)


def upsert_record(
    *, session: Session, owner: Organisation, record: OfferRecord, by_operator: bool,
    known: dict[tuple[int, str], Offer] | None = None, origin: FootprintOrigin | None = None,
) -> tuple[Offer, Outcome]:  # fmt: skip
    """Create or update the owner's offer with the record's id; an identical record changes nothing.

    Only the operator's import may create an alliance that the record names (anyone else's must exist), and
    only its `pcf_verified: true` counts (the operator vouches for the file; `_verification_columns`).

    `known`: the offers of a batch of records, by (owner id, external id), looked up together beforehand
    (`repository.by_external_ids`): the offer is taken from it (and a new one added to it), and the row is
    left for the batch's one flush instead of being written at once.
    """
    visibility_alliance_id = None
    if record.visibility == "alliance" and record.visibility_alliance:
        if by_operator:
            visibility_alliance_id = alliance_service.ensure(
                session=session, code=record.visibility_alliance
            ).id
        else:
            visibility_alliance_id = _visibility_alliance_id(session, "alliance", record.visibility_alliance)
    key = (owner.id, record.id)
    if known is None:
        offer = repository.get_by_external_id(session, owner_id=owner.id, external_id=record.id)
    else:
        offer = known.get(key)
    if offer is not None and offer.id is None:
        session.flush()  # made by an earlier record of this batch: written, so that a change shows as one
    elif offer is not None and not repository.lock(session, offer):
        offer = None  # deleted since it was read: the record makes it again
    is_new = offer is None
    if offer is None:
        offer = Offer(owner_id=owner.id, external_id=record.id)
        if known is not None:
            known[key] = offer
    _assign(offer, record.model_dump(), vouched=by_operator, origin=origin)
    for column, value in (
        ("status", record.status),
        ("visibility", record.visibility),
        ("visibility_alliance_id", visibility_alliance_id),
        ("attributes", record.attributes),
    ):
        if getattr(offer, column) != value:
            setattr(offer, column, value)
    plausibility.after_write(session, offer, vouched=by_operator)
    if is_new:
        session.add(offer)
    changed = session.is_modified(offer)  # asked before a flush, which makes every row clean
    if known is None:
        session.flush()  # written at once; a batch is flushed once, by its caller
    return offer, "created" if is_new else "updated" if changed else "unchanged"
