"""Organisations, admission and API keys: the rules, without HTTP."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy.orm import Session

from matchmaker.alliances import repository as alliances
from matchmaker.auth import Principal, Role, generate_key, secret_matches, split_key
from matchmaker.db.base import utcnow
from matchmaker.db.models import ApiKey, Document, Organisation
from matchmaker.documents import service as document_service
from matchmaker.documents.store import DocumentStore
from matchmaker.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed, field_error
from matchmaker.pagination import PageRequest
from matchmaker.parties import repository
from matchmaker.parties.schemas import REGISTRATION_FIELDS, OrganisationCreate, OrganisationUpdate
from matchmaker.visibility import Viewer
from matchmaker.web_sessions import service as web_session_service

# Which organisation kinds may hold a key of each role.
KINDS_FOR_ROLE: dict[str, set[str]] = {
    "operator": {"operator"},
    "vendor": {"vendor", "both"},
    "buyer": {"buyer", "both"},
}
SUPPLIER_KINDS = {"vendor", "both"}
BUYER_KINDS = {"buyer", "both"}


def resolve_owner(
    *, session: Session, principal: Principal, owner_id: int | None, role: Role, noun: str
) -> Organisation:
    """Who owns a new offer or need: the caller's organisation for `role`, or the one the operator names.

    `role` is the role that creates the thing (vendor for offers, buyer for needs); `noun` names it in errors.
    """
    if principal.role == role:
        if owner_id not in (None, principal.organisation_id):
            raise Forbidden(f"a {role} creates {noun} only for its own organisation")
        owner_id = principal.organisation_id
    elif principal.is_operator:
        if owner_id is None:
            raise ValidationFailed(
                f"the operator must name the {role}",
                errors=[field_error("owner_id", "required", code="owner.missing", role=role)],
                code="owner.missing",
                values={"role": role},
            )
    else:
        raise Forbidden(f"only {role}s and the operator may create {noun}")
    owner = repository.get(session, owner_id)
    kinds = KINDS_FOR_ROLE[role]
    if owner is None or owner.kind not in kinds:
        allowed = " or ".join(sorted(kinds))
        values = {"id": str(owner_id), "role": role, "allowed": allowed}
        raise ValidationFailed(
            f"organisation {owner_id} is not a {role}",
            errors=[
                field_error(
                    "owner_id",
                    f"must be an organisation of kind {allowed}",
                    code="owner.wrong_kind",
                    **values,
                )
            ],
            code="owner.wrong_kind",
            values=values,
        )
    return owner


def authenticate(*, session: Session, plaintext: str) -> Principal:
    """Return the principal behind an API key, or raise Unauthorized / Forbidden."""
    parts = split_key(plaintext)
    key = repository.get_key_by_prefix(session, parts[0]) if parts else None
    if parts is None or key is None or not secret_matches(parts[1], key.secret_hash):
        raise Unauthorized("invalid API key")
    return _principal_of(key)


def principal_for_key(*, session: Session, key_id: int) -> Principal:
    """The principal behind a key already authenticated once (a web session holds its id): the key must
    still be live and its organisation not suspended, as for every API call."""
    key = repository.get_key(session, key_id)
    if key is None:
        raise Unauthorized("this API key no longer exists")
    return _principal_of(key)


def _principal_of(key: ApiKey) -> Principal:
    if key.revoked_at is not None:
        raise Unauthorized("this API key has been revoked")
    if key.organisation.admission_status == "suspended":
        raise Forbidden(f"organisation {key.organisation.name!r} is suspended")
    return Principal(organisation_id=key.organisation_id, role=key.role, key_id=key.id)  # type: ignore[arg-type]


def viewer_of(*, session: Session, principal: Principal) -> Viewer:
    """The caller as the visibility rules see it."""
    return viewer_for(session=session, organisation_id=principal.organisation_id, role=principal.role)


def viewer_for(*, session: Session, organisation_id: int, role: Role) -> Viewer:
    """An organisation acting in a role, as the visibility rules see it (a buyer's view of its own need)."""
    organisation = repository.get(session, organisation_id)
    if organisation is None:  # deleted under its key: sees only what is its own, which is nothing
        return Viewer(organisation_id=organisation_id, role=role, admitted=False, alliance_ids=frozenset())
    return viewers_for(session=session, organisations=[organisation], role=role)[organisation_id]


def viewers_for(*, session: Session, organisations: Sequence[Organisation], role: Role) -> dict[int, Viewer]:
    """Organisations acting in one role, as the visibility rules see them, by id (one query)."""
    alliance_ids = alliances.active_alliance_ids_by_organisation(session, [o.id for o in organisations])
    return {
        organisation.id: Viewer(
            organisation_id=organisation.id,
            role=role,
            admitted=organisation.admission_status == "admitted",
            alliance_ids=frozenset(alliance_ids[organisation.id]),
        )
        for organisation in organisations
    }


def get_visible(*, session: Session, principal: Principal, organisation_id: int) -> Organisation:
    """Return an organisation the caller may see (the operator sees all, others only their own)."""
    organisation = repository.get(session, organisation_id)
    if organisation is None or not (principal.is_operator or principal.organisation_id == organisation_id):
        raise NotFound(f"organisation {organisation_id} not found")
    return organisation


def get_own(*, session: Session, principal: Principal) -> Organisation:
    organisation = repository.get(session, principal.organisation_id)
    if organisation is None:  # the key's organisation was deleted under it
        raise Unauthorized("the organisation of this key no longer exists")
    return organisation


def suppliers(*, session: Session) -> Sequence[Organisation]:
    """Organisations an offer may belong to, for the operator choosing one (the service checks again)."""
    return repository.of_kinds(session, SUPPLIER_KINDS)


def list_visible(
    *,
    session: Session,
    principal: Principal,
    kind: str | None,
    admission_status: str | None,
    region: str | None,
    sort: str,
    page: PageRequest,
    name_contains: str | None = None,
    kinds: Collection[str] = (),
    not_member_of: int | None = None,
) -> tuple[Sequence[Organisation], int]:
    return repository.list_page(
        session,
        only_id=None if principal.is_operator else principal.organisation_id,
        kind=kind,
        admission_status=admission_status,
        region=region,
        sort=sort,
        page=page,
        name_contains=name_contains,
        kinds=kinds,
        not_member_of=not_member_of,
    )


def create(*, session: Session, data: OrganisationCreate) -> Organisation:
    """Create an organisation; names and unified social credit codes are unique."""
    if repository.get_by_name(session, data.name) is not None:
        raise Conflict(
            f"an organisation named {data.name!r} already exists",
            code="organisation.name_taken",
            values={"name": data.name},
        )
    fields = {name: value or None for name, value in data.model_dump().items()}
    _check_reason(data.admission_status, fields)
    _check_credit_code_free(session, fields.get("credit_code"), organisation_id=None, by_operator=True)
    return repository.add(session, Organisation(**fields))


def update(
    *, session: Session, organisation: Organisation, data: OrganisationUpdate, by_operator: bool
) -> Organisation:
    """Change an organisation: anything, by the operator; its registration only, by the organisation itself.

    Admission moves as `ADMISSION_MOVES` allows, and a rejection says why. A rejected organisation that
    corrects its registration is pending again, for the operator to look at once more.
    """
    # A blank text field clears it: forms send "" for a field left empty.
    changes = {name: value or None for name, value in data.model_dump(exclude_unset=True).items()}
    if not by_operator:
        _check_own_change(organisation, changes.keys())
    new_name = changes.get("name")
    if new_name and new_name != organisation.name and repository.get_by_name(session, new_name) is not None:
        raise Conflict(
            f"an organisation named {changes['name']!r} already exists",
            code="organisation.name_taken",
            values={"name": changes["name"]},
        )
    for field in ("name", "kind", "admission_status"):
        if field in changes and changes[field] is None:
            raise ValidationFailed(
                f"{field} cannot be null",
                errors=[field_error(field, "cannot be null", code="field.null", field=field)],
                code="field.null",
                values={"field": field},
            )
    if "admission_status" in changes or "admission_reason" in changes:
        status = str(changes.get("admission_status") or organisation.admission_status)
        _check_admission_move(organisation, status)
        _check_reason(status, changes)
    _check_credit_code_free(
        session, changes.get("credit_code"), organisation_id=organisation.id, by_operator=by_operator
    )
    corrected = any(getattr(organisation, field) != value for field, value in changes.items())
    for field, value in changes.items():
        setattr(organisation, field, value)
    if not by_operator and corrected:
        resubmit_if_rejected(organisation)
    if changes.get("admission_status") == "suspended":
        # Its pages stop at once, and stay signed out if it is admitted again.
        web_session_service.end_for_organisation(session=session, organisation_id=organisation.id)
    session.flush()
    return organisation


def attach_licence(
    *,
    session: Session,
    store: DocumentStore,
    organisation: Organisation,
    content: bytes,
    filename: str | None,
    limit: int,
    by_operator: bool,
) -> Organisation:
    """Keep the organisation's business licence (a PDF or an image), replacing the one it had."""
    if not by_operator:
        _check_own_change(organisation, {"licence"})
    document = document_service.accept(
        session=session,
        store=store,
        owner_id=organisation.id,
        content=content,
        filename=filename,
        limit=limit,
    )
    organisation.licence = document
    if not by_operator:
        resubmit_if_rejected(organisation)
    session.flush()
    return organisation


def licence_of(*, session: Session, store: DocumentStore, organisation: Organisation) -> Document:
    """The organisation's business licence on file (the caller may see the organisation)."""
    if organisation.licence_document_id is None:
        raise NotFound(f"organisation {organisation.id} has no licence on file")
    return document_service.get(session=session, store=store, document_id=organisation.licence_document_id)


def resubmit_if_rejected(organisation: Organisation) -> None:
    """An applicant's correction after a rejection asks the operator to look again. The reason stays, for
    both sides to read what was asked while it is reviewed again."""
    if organisation.admission_status == "rejected":
        organisation.admission_status = "pending"


# Where the operator may move an organisation's admission from where it stands: a rejection answers an
# application; admitting and suspending are open from anywhere (a rejected applicant may be locked out).
ADMISSION_MOVES: dict[str, frozenset[str]] = {
    "pending": frozenset({"admitted", "rejected", "suspended"}),
    "admitted": frozenset({"suspended"}),
    "rejected": frozenset({"admitted", "rejected", "suspended", "pending"}),
    "suspended": frozenset({"admitted"}),
}
# The admission statuses that carry the operator's reason.
WITH_REASON = frozenset({"rejected", "suspended"})


def _check_admission_move(organisation: Organisation, status: str) -> None:
    """The operator's own organisation stays admitted; any other moves where `ADMISSION_MOVES` allows."""
    current = organisation.admission_status
    if status == current and status != "rejected":
        return
    if organisation.kind == "operator":
        raise Forbidden("the platform operator's own organisation stays admitted")
    if status not in ADMISSION_MOVES[current]:
        values = {"current": current, "status": status}
        raise Conflict(
            f"an organisation that is {current} cannot be {status}", code="admission.move", values=values
        )


def _check_reason(status: str, fields: dict[str, Any]) -> None:
    """A rejection says why; a reason goes only with a rejection or a suspension, and a new status
    starts without the reason of the one before."""
    reason = fields.get("admission_reason")
    if status == "rejected" and not reason:
        raise ValidationFailed(
            "a rejection needs a reason the applicant can act on",
            errors=[field_error("admission_reason", "required to reject", code="admission.reason_missing")],
            code="admission.reason_missing",
        )
    if reason and status not in WITH_REASON:
        raise ValidationFailed(
            "a reason goes with a rejection or a suspension",
            errors=[
                field_error(
                    "admission_reason", "only with rejected or suspended", code="admission.reason_alone"
                )
            ],
            code="admission.reason_alone",
        )
    fields.setdefault("admission_reason", None)


def _check_own_change(organisation: Organisation, fields: Collection[str]) -> None:
    """What an organisation may change about itself: its registration; once admitted, its contact only
    (its credit code and licence were what the operator admitted it on)."""
    refused = sorted(set(fields) - REGISTRATION_FIELDS - {"licence"})
    if refused:
        raise Forbidden(f"only the platform operator may change {', '.join(refused)}")
    if {"credit_code", "licence"} & set(fields) and organisation.admission_status not in (
        "pending",
        "rejected",
    ):
        raise Forbidden(
            "once admitted, an organisation's credit code and licence are changed by the platform operator"
        )


def _check_credit_code_free(
    session: Session, credit_code: object, *, organisation_id: int | None, by_operator: bool
) -> None:
    if not credit_code:
        return
    holder = repository.get_by_credit_code(session, str(credit_code))
    if holder is not None and holder.id != organisation_id:
        # Only the operator learns who holds it: anyone else could otherwise ask who is on the platform.
        to_whom = f", to {holder.name!r}" if by_operator else ""
        raise Conflict(
            f"unified social credit code {credit_code} is already registered{to_whom}",
            code="organisation.credit_code_taken",
            values={"credit_code": str(credit_code)},
        )


def ensure(
    *, session: Session, name: str, kind: str, region: str | None, admitted: bool
) -> tuple[Organisation, bool]:
    """Find an organisation by name or create it; widen buyer/vendor to both when it plays both parts.

    Returns the organisation and whether anything about it changed.
    """
    organisation = repository.get_by_name(session, name)
    if organisation is None:
        organisation = Organisation(
            name=name, kind=kind, region=region, admission_status="admitted" if admitted else "pending"
        )
        return repository.add(session, organisation), True
    changed = False
    if organisation.kind != kind and organisation.kind in {"buyer", "vendor"} and kind in {"buyer", "vendor"}:
        organisation.kind = "both"
        changed = True
    if organisation.region is None and region:
        organisation.region = region
        changed = True
    return organisation, changed


def issue_key(
    *, session: Session, organisation: Organisation, role: Role, label: str | None = None
) -> tuple[ApiKey, str]:
    """Create a key for an organisation; return the row and the plaintext (shown once)."""
    if organisation.kind not in KINDS_FOR_ROLE[role]:
        allowed = " or ".join(sorted(KINDS_FOR_ROLE[role]))
        values = {"name": organisation.name, "kind": organisation.kind, "role": role, "allowed": allowed}
        raise ValidationFailed(
            f"organisation {organisation.name!r} is a {organisation.kind}; a {role} key needs kind {allowed}",
            errors=[
                field_error(
                    "role",
                    f"a {role} key needs an organisation of kind {allowed}",
                    code="key.wrong_kind",
                    **values,
                )
            ],
            code="key.wrong_kind",
            values=values,
        )
    new = generate_key()
    key = ApiKey(
        organisation_id=organisation.id,
        role=role,
        prefix=new.prefix,
        secret_hash=new.secret_hash,
        label=label,
    )
    return repository.add_key(session, key), new.plaintext


def list_keys(*, session: Session, organisation: Organisation) -> Sequence[ApiKey]:
    return repository.list_keys(session, organisation.id)


def revoke_key(*, session: Session, organisation: Organisation, key_id: int) -> ApiKey:
    """Revoke a key of the organisation; revoking twice is harmless."""
    key = repository.get_key(session, key_id)
    if key is None or key.organisation_id != organisation.id:
        raise NotFound(f"key {key_id} not found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        web_session_service.end_for_key(session=session, key_id=key.id)
        session.flush()
    return key
