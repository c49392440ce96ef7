"""Needs: post, change, close, list; who may see and change which."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from matchmaker.alliances import service as alliance_service
from matchmaker.auth import Principal
from matchmaker.db.models import Need, Organisation
from matchmaker.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ValidationFailed,
    field_error,
    field_errors_from_pydantic,
)
from matchmaker.exchange import NeedFields, NeedRecord
from matchmaker.footprints import stored_footprint
from matchmaker.needs import repository, visibility
from matchmaker.needs.repository import NeedFilters
from matchmaker.needs.schemas import (
    DetectedConstraints,
    NeedCreate,
    NeedRead,
    NeedSaved,
    NeedUpdate,
    NeedWarning,
)
from matchmaker.offers.service import Outcome
from matchmaker.pagination import PageRequest
from matchmaker.parties import service as party_service
from matchmaker.regions import code_of, english_name
from matchmaker.units import Footprint, UnitError
from matchmaker.written_constraints import WrittenConstraints, read_constraints

_PLAIN_FIELDS = (
    "text", "language", "category", "require_verified", "region_preference", "quantity", "quantity_unit",
    "delivery_from", "delivery_until", "respond_by", "require_third_party", "min_primary_share",
    "expired_footprints",
)  # fmt: skip


def get_visible(*, session: Session, principal: Principal, need_id: int) -> Need:
    """Return a need the caller may see, or 404 (also for what exists but is hidden)."""
    need = repository.get(session, need_id)
    if need is None or not visibility.can_see(
        party_service.viewer_of(session=session, principal=principal), need
    ):
        raise NotFound(f"need {need_id} not found")
    return need


def get_editable(*, session: Session, principal: Principal, need_id: int, lock: bool = True) -> Need:
    """Return a need the caller may change: the operator, or a buyer key of the owner. With `lock`, its
    row is held until the transaction ends, so concurrent changes queue instead of failing."""
    need = get_visible(session=session, principal=principal, need_id=need_id)
    if not (
        principal.is_operator or (principal.role == "buyer" and need.owner_id == principal.organisation_id)
    ):
        raise Forbidden("only the buyer's keys and the operator may change this need")
    if lock and not repository.lock(session, need):
        raise NotFound(f"need {need_id} not found")
    return need


def list_visible(
    *, session: Session, principal: Principal, filters: NeedFilters, sort: str, page: PageRequest
) -> tuple[Sequence[Need], int]:
    viewer = party_service.viewer_of(session=session, principal=principal)
    return repository.list_page(
        session, visibility=visibility.seen_where(viewer), filters=filters, sort=sort, page=page
    )


def to_read(need: Need) -> NeedRead:
    return NeedRead.model_validate(
        {
            **{column: getattr(need, column) for column in NeedRead.model_fields if hasattr(need, column)},
            "buyer": need.owner.name,
            "alliance_only": need.alliance_only.code if need.alliance_only else None,
        }
    )


def _same_ceiling(value: Any, unit: Any, *, written_value: float, written_unit: str) -> bool:
    if value is None or unit is None:
        return False
    try:
        stated, written = Footprint.parse(value, unit), Footprint.parse(written_value, written_unit)
    except (UnitError, ArithmeticError, ValueError):
        return False
    return stated.family == written.family and stated.canonical_value == written.canonical_value


def unstated(
    *, written: WrittenConstraints, fields: Mapping[str, Any]
) -> tuple[DetectedConstraints | None, list[NeedWarning]]:
    """The constraints `written` holds that the need's `fields` do not state (or state otherwise)."""
    detected: dict[str, Any] = {}
    warnings: list[NeedWarning] = []
    ceiling = written.ceiling
    if ceiling and not _same_ceiling(
        fields.get("max_pcf"),
        fields.get("max_pcf_unit"),
        written_value=ceiling.value,
        written_unit=ceiling.unit,
    ):
        detected.update(max_pcf=ceiling.value, max_pcf_unit=ceiling.unit)
        stated = fields.get("max_pcf")
        now = "none is set" if stated is None else f"it is {float(stated):g} {fields.get('max_pcf_unit')}"
        warnings.append(
            NeedWarning(
                code="need.text_states_ceiling",
                field="max_pcf",
                message=f"the text states a footprint ceiling of {ceiling.value:g} {ceiling.unit} but {now}; "
                "it is not applied until you set max_pcf and max_pcf_unit",
            )
        )
    if written.require_verified and not fields.get("require_verified"):
        detected["require_verified"] = True
        warnings.append(
            NeedWarning(
                code="need.text_states_verified_only",
                field="require_verified",
                message="the text asks for third-party verified footprints but require_verified is false; "
                "unverified offers still match until you set it",
            )
        )
    if written.alliance and written.alliance != fields.get("alliance_only"):
        detected["alliance_only"] = written.alliance
        warnings.append(
            NeedWarning(
                code="need.text_states_alliance",
                field="alliance_only",
                message=f"the text names the alliance {written.alliance} but alliance_only "
                f"is {fields.get('alliance_only') or 'not set'}; it is not applied until you set it",
            )
        )
    region, preference = written.region, fields.get("region_preference")
    if region and region != code_of(preference):
        detected["region_preference"] = region
        warnings.append(
            NeedWarning(
                code="need.text_states_region",
                field="region_preference",
                message=f"the text prefers suppliers in {english_name(region)} but region_preference "
                f"is {english_name(preference) or 'not set'}; it is not applied until you set it",
            )
        )
    return (DetectedConstraints(**detected) if detected else None), warnings


def detect(
    *, session: Session, text: str, fields: Mapping[str, Any], alliances: Sequence[str] | None = None
) -> tuple[DetectedConstraints | None, list[NeedWarning]]:
    """What a need's text states that its fields do not: for the buyer to confirm, never applied.

    `alliances` are the known codes, when the caller has them (an import reads them once)."""
    known = alliance_service.known_codes(session=session) if alliances is None else alliances
    return unstated(written=read_constraints(text, alliances=known), fields=fields)


def to_saved(*, session: Session, need: Need) -> NeedSaved:
    """The need as read, with the constraints its text states that its fields do not."""
    read = to_read(need)
    detected, warnings = detect(session=session, text=need.text, fields=read.model_dump())
    return NeedSaved(**read.model_dump(), detected=detected, warnings=warnings)


def _alliance_id(session: Session, code: str | None, *, create: bool) -> int | None:
    if code is None:
        return None
    if create:
        return alliance_service.ensure(session=session, code=code).id
    return alliance_service.existing_id(session=session, code=code, field="alliance_only")


def _assign(session: Session, need: Need, values: dict[str, Any], *, create_alliance: bool) -> None:
    ceiling = stored_footprint(values.get("max_pcf"), values.get("max_pcf_unit"))
    baseline = stored_footprint(values.get("baseline_pcf"), values.get("baseline_pcf_unit"))
    columns: dict[str, Any] = {field: values.get(field) for field in _PLAIN_FIELDS}
    columns.update(
        max_pcf=ceiling.value,
        max_pcf_unit=ceiling.unit,
        max_pcf_family=ceiling.family,
        max_pcf_canonical=ceiling.canonical,
        baseline_pcf=baseline.value,
        baseline_pcf_unit=baseline.unit,
        alliance_only_id=_alliance_id(session, values.get("alliance_only"), create=create_alliance),
    )
    for column, value in columns.items():
        if getattr(need, column) != value:
            setattr(need, column, value)


def create(*, session: Session, principal: Principal, data: NeedCreate) -> Need:
    """Post a need owned by the caller (or, for the operator, by the named buyer)."""
    owner = party_service.resolve_owner(
        session=session, principal=principal, owner_id=data.owner_id, role="buyer", noun="needs"
    )
    external_id = data.external_id or uuid.uuid4().hex
    if repository.get_by_external_id(session, owner_id=owner.id, external_id=external_id):
        raise Conflict(
            f"{owner.name} already has a need with external_id {external_id!r}",
            code="need.external_id_taken",
            values={"owner": owner.name, "external_id": external_id},
        )
    need = Need(owner_id=owner.id, external_id=external_id, status=data.status, visibility=data.visibility)
    _assign(session, need, data.model_dump(), create_alliance=False)
    repository.add(session, need)
    return need


def update(*, session: Session, need: Need, data: NeedUpdate) -> Need:
    """Apply a partial change, validating the merged need as a whole."""
    changes = data.model_dump(exclude_unset=True)
    current: dict[str, Any] = {
        field: getattr(need, field)
        for field in (*_PLAIN_FIELDS, "max_pcf", "max_pcf_unit", "baseline_pcf", "baseline_pcf_unit")
    }
    current["alliance_only"] = need.alliance_only.code if need.alliance_only else None
    merged = {**current, **{k: v for k, v in changes.items() if k in NeedFields.model_fields}}
    try:
        fields = NeedFields.model_validate(merged)
    except ValidationError as error:
        raise ValidationFailed(
            "the changed need is not valid",
            errors=field_errors_from_pydantic(error.errors()),
            code="need.invalid",
        ) from None
    for required in ("status", "visibility", "require_verified", "require_third_party", "expired_footprints"):
        if required in changes and changes[required] is None:
            raise ValidationFailed(
                f"{required} cannot be null",
                errors=[field_error(required, "cannot be null", code="field.null", field=required)],
                code="field.null",
                values={"field": required},
            )
    _assign(session, need, fields.model_dump(), create_alliance=False)
    for column in ("status", "visibility"):
        if column in changes:
            setattr(need, column, changes[column])
    session.flush()
    return need


def delete(*, session: Session, need: Need) -> None:
    repository.delete(session, need)


def upsert_record(
    *, session: Session, owner: Organisation, record: NeedRecord, create_alliances: bool
) -> tuple[Need, Outcome]:
    """Create or update the owner's need with the record's id; an identical record changes nothing.

    Only the operator's import may create an alliance that the record names; anyone else's must exist.
    """
    need = repository.get_by_external_id(session, owner_id=owner.id, external_id=record.id)
    if need is not None and not repository.lock(session, need):
        need = None  # deleted since it was read: the record makes it again
    is_new = need is None
    if need is None:
        need = Need(owner_id=owner.id, external_id=record.id)
    _assign(session, need, record.model_dump(), create_alliance=create_alliances)
    for column, value in (("status", record.status), ("visibility", record.visibility)):
        if getattr(need, column) != value:
            setattr(need, column, value)
    if is_new:
        repository.add(session, need)
        return need, "created"
    changed = session.is_modified(need)
    session.flush()
    return need, "updated" if changed else "unchanged"


def own_open(*, session: Session, principal: Principal) -> Sequence[Need]:
    """The caller's organisation's open needs, newest first."""
    return repository.open_needs_of(session, principal.organisation_id)


def close_overdue(*, session: Session, today: date) -> list[int]:
    """Close the open needs whose last day for offers has passed (each a change in the feed: the suppliers
    told of it are told it closed); their ids."""
    closed = []
    for need in repository.overdue(session, today=today):
        need.status = "closed"
        closed.append(need.id)
    session.flush()
    return closed
