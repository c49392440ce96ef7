"""Import offers and needs record by record: each good record lands, each bad one is reported."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from matchmaker.alliances import service as alliance_service
from matchmaker.auth import Principal
from matchmaker.clean_text import bad_character, first_bad_text, shown
from matchmaker.db.models import Organisation
from matchmaker.db.races import lost_race
from matchmaker.errors import Forbidden, MatchmakerError, field_errors_from_pydantic
from matchmaker.exchange import NeedRecord, OfferRecord
from matchmaker.imports.readers import RawRecord
from matchmaker.imports.schemas import ImportReport, LineError
from matchmaker.needs import service as need_service
from matchmaker.offers import service as offer_service
from matchmaker.offers.service import Outcome
from matchmaker.parties import service as party_service

Progress = Callable[[int], None]


class LineRejected(Exception):
    """A line that cannot be taken (unreadable, invalid, or for example its supplier is not a supplier).

    The message is English; `code` and `values`, or per-field `fields`, name the reason for the pages."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        values: Mapping[str, Any] | None = None,
        fields: Sequence[dict[str, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.values = dict(values or {})
        self.fields = list(fields)


def describe_validation_error(error: ValidationError) -> str:
    """One line naming each bad field and why."""
    parts = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "record"
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{field}: {message}")
    return "; ".join(parts)


def _run(
    *,
    session: Session,
    report: ImportReport,
    records: Iterable[RawRecord],
    model: type[BaseModel],
    apply: Callable[[Any], Outcome],
    progress: Progress | None,
) -> ImportReport:
    for raw in records:
        report.total += 1
        found_id = raw.data.get("id")
        # The report repeats the id: only one that can itself be sent back.
        record_id = found_id if isinstance(found_id, str) and bad_character(found_id) is None else None
        try:
            if raw.error:
                raise LineRejected(raw.error, code=raw.code, values=raw.values)
            bad = first_bad_text(raw.data)
            if bad is not None:
                raise LineRejected(
                    f"{bad.dotted}: {bad.message}",
                    code="import.text_unstorable",
                    values={"field": bad.dotted, "reason": bad.reason},
                )
            try:
                record = model.model_validate(raw.data)
            except ValidationError as error:
                fields = field_errors_from_pydantic(error.errors())
                raise LineRejected(describe_validation_error(error), fields=fields) from None
            # A savepoint per record: a failure undoes that record alone.
            with session.begin_nested():
                outcome = apply(record)
        except (LineRejected, MatchmakerError) as error:
            fields = error.fields if isinstance(error, LineRejected) else error.errors
            report.reject(
                LineError(
                    line=raw.line,
                    id=record_id,
                    message=shown(str(error)),
                    code=error.code,
                    values=error.values,
                    fields=fields,
                )
            )
        except SQLAlchemyError as error:
            if lost_race(error):
                raise  # lost to a concurrent transaction: the whole import runs again (retries.py)
            reason = str(getattr(error, "orig", None) or error).splitlines()[0]
            message, code = f"database refused it: {reason}", "import.database_refused"
            report.reject(
                LineError(line=raw.line, id=record_id, message=message, code=code, values={"reason": reason})
            )
        else:
            setattr(report, outcome, getattr(report, outcome) + 1)
        if progress:
            progress(1)
    return report


def import_offers(
    *,
    session: Session,
    principal: Principal,
    records: Iterable[RawRecord],
    progress: Progress | None = None,
) -> ImportReport:
    """Upsert offers by (supplier, id). The operator's import creates admitted suppliers and their
    alliance memberships; a vendor's import lists offers as its own and cannot declare memberships."""
    if principal.role not in ("operator", "vendor"):
        raise Forbidden("only vendors and the operator may import offers")
    report = ImportReport(kind="offers")
    ignored_alliance_lines = 0

    def apply(record: OfferRecord) -> Outcome:
        nonlocal ignored_alliance_lines
        if principal.is_operator:
            owner = _supplier(session, record)
            for code in record.alliance:
                alliance = alliance_service.ensure(session=session, code=code)
                alliance_service.ensure_membership(
                    session=session, alliance=alliance, organisation_id=owner.id
                )
        else:
            owner = party_service.get_own(session=session, principal=principal)
            ignored_alliance_lines += bool(record.alliance)
        _, outcome = offer_service.upsert_record(
            session=session, owner=owner, record=record, create_alliances=principal.is_operator
        )
        return outcome

    _run(session=session, report=report, records=records, model=OfferRecord, apply=apply, progress=progress)
    if ignored_alliance_lines:
        report.warn(
            f"{ignored_alliance_lines} record(s) name alliances: memberships are granted by the operator or "
            "the alliance's admin, so the 'alliance' field was ignored",
            code="import.alliances_ignored",
            count=ignored_alliance_lines,
        )
    return report


def _supplier(session: Session, record: OfferRecord) -> Organisation:
    owner, _ = party_service.ensure(
        session=session, name=record.supplier, kind="vendor", region=record.region, admitted=True
    )
    if owner.kind not in party_service.SUPPLIER_KINDS:
        raise LineRejected(
            f"organisation {record.supplier!r} is a {owner.kind}, not a supplier",
            code="import.not_a_supplier",
            values={"name": record.supplier, "kind": owner.kind},
        )
    return owner


def import_needs(
    *,
    session: Session,
    principal: Principal,
    records: Iterable[RawRecord],
    progress: Progress | None = None,
) -> ImportReport:
    """Upsert needs by (buyer, id). The operator's import creates admitted buyers; a buyer's are its own."""
    if principal.role not in ("operator", "buyer"):
        raise Forbidden("only buyers and the operator may import needs")
    report = ImportReport(kind="needs")
    alliances = alliance_service.known_codes(session=session)
    unconfirmed: list[str] = []

    def apply(record: NeedRecord) -> Outcome:
        if principal.is_operator:
            owner, _ = party_service.ensure(
                session=session, name=record.buyer, kind="buyer", region=None, admitted=True
            )
            if owner.kind not in party_service.BUYER_KINDS:
                raise LineRejected(
                    f"organisation {record.buyer!r} is a {owner.kind}, not a buyer",
                    code="import.not_a_buyer",
                    values={"name": record.buyer, "kind": owner.kind},
                )
        else:
            owner = party_service.get_own(session=session, principal=principal)
        _, outcome = need_service.upsert_record(
            session=session, owner=owner, record=record, create_alliances=principal.is_operator
        )
        fields = record.model_dump()
        if need_service.detect(session=session, text=record.text, fields=fields, alliances=alliances)[0]:
            unconfirmed.append(record.id)
        return outcome

    _run(session=session, report=report, records=records, model=NeedRecord, apply=apply, progress=progress)
    if unconfirmed:
        # Never applied on import: the buyer confirms them on the need's page or with a change.
        ids = ", ".join(unconfirmed[:10]) + (", …" if len(unconfirmed) > 10 else "")
        report.warn(
            f"{len(unconfirmed)} need(s) state constraints in their text that their fields do not "
            f"(a ceiling, verified-only, an alliance or a region); they were not applied: {ids}",
            code="import.text_constraints_unset",
            count=len(unconfirmed),
            ids=ids,
        )
    return report
