"""Import offers and needs record by record: each good record lands, each bad one is reported."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from matchmaker.alliances import service as alliance_service
from matchmaker.auth import Principal
from matchmaker.clean_text import bad_character, first_bad_text, shown
from matchmaker.db.models import Alliance, Organisation
from matchmaker.db.races import lost_race
from matchmaker.errors import Forbidden, MatchmakerError, field_errors_from_pydantic
from matchmaker.exchange import NeedRecord, OfferRecord
from matchmaker.imports.readers import RawRecord
from matchmaker.imports.schemas import ImportReport, LineError
from matchmaker.needs import service as need_service
from matchmaker.offers import repository as offer_repository
from matchmaker.offers import service as offer_service
from matchmaker.offers.service import Outcome
from matchmaker.parties import service as party_service
from matchmaker.plausibility.repository import HELD

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


# Records written together, in one savepoint (new rows in one INSERT): a batch that fails is written again
# record by record, each in a savepoint of its own, so that a bad line is reported alone and the rest land.
BATCH = 500


@dataclass(frozen=True, slots=True)
class _Checked:
    """A line that was read and validated, waiting to be written."""

    line: int
    record_id: str | None
    record: Any


class _Writer(Protocol):
    def write(self, records: Sequence[Any]) -> list[Outcome]:
        """Write the records (flushing is left to the caller); their outcomes, in order."""

    def forget(self) -> None:
        """Drop what it remembers of rows: a savepoint that rolled back may have undone them."""

    def landed(self, records: Sequence[Any]) -> None:
        """Note records that were written for good (for the report's warnings)."""


def _run(
    *,
    session: Session,
    report: ImportReport,
    records: Iterable[RawRecord],
    model: type[BaseModel],
    writer: _Writer,
    progress: Progress | None,
) -> ImportReport:
    for raws in _batches(records, BATCH):
        errors: list[LineError] = []
        checked: list[_Checked] = []
        for raw in raws:
            try:
                checked.append(_check(raw, model))
            except LineRejected as error:
                errors.append(_line_error(raw.line, _record_id(raw), error))
        outcomes = _write_together(session, writer, checked)
        if outcomes is None:
            outcomes = []
            for item in checked:
                try:
                    with session.begin_nested():  # a failure undoes this record alone
                        outcomes.extend(writer.write([item.record]))
                except (LineRejected, MatchmakerError, SQLAlchemyError) as error:
                    writer.forget()
                    errors.append(_refusal(item, error))
                else:
                    writer.landed([item.record])
        report.total += len(raws)
        for outcome in outcomes:
            setattr(report, outcome, getattr(report, outcome) + 1)
        for line_error in sorted(errors, key=lambda found: found.line):
            report.reject(line_error)
        if progress:
            progress(len(raws))
    return report


def _batches(records: Iterable[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    batch: list[RawRecord] = []
    for raw in records:
        batch.append(raw)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _record_id(raw: RawRecord) -> str | None:
    """The line's id, when it can itself be sent back in the report."""
    found = raw.data.get("id")
    return found if isinstance(found, str) and bad_character(found) is None else None


def _check(raw: RawRecord, model: type[BaseModel]) -> _Checked:
    """The line validated, or `LineRejected` saying why not."""
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
    return _Checked(line=raw.line, record_id=_record_id(raw), record=record)


def _write_together(session: Session, writer: _Writer, checked: list[_Checked]) -> list[Outcome] | None:
    """Write the records in one savepoint; None when one of them is refused (and nothing was written)."""
    if not checked:
        return []
    try:
        with session.begin_nested():
            outcomes = writer.write([item.record for item in checked])
            session.flush()
    except (LineRejected, MatchmakerError, SQLAlchemyError) as error:
        if isinstance(error, SQLAlchemyError) and lost_race(error):
            raise  # lost to a concurrent transaction: the whole import runs again (retries.py)
        writer.forget()
        return None
    writer.landed([item.record for item in checked])
    return outcomes


def _line_error(line: int, record_id: str | None, error: LineRejected | MatchmakerError) -> LineError:
    fields = error.fields if isinstance(error, LineRejected) else error.errors
    return LineError(
        line=line,
        id=record_id,
        message=shown(str(error)),
        code=error.code,
        values=error.values,
        fields=fields,
    )


def _refusal(item: _Checked, error: LineRejected | MatchmakerError | SQLAlchemyError) -> LineError:
    """The report's line for a record its writing refused."""
    if not isinstance(error, SQLAlchemyError):
        return _line_error(item.line, item.record_id, error)
    if lost_race(error):
        raise error  # lost to a concurrent transaction: the whole import runs again (retries.py)
    reason = str(getattr(error, "orig", None) or error).splitlines()[0]
    return LineError(
        line=item.line,
        id=item.record_id,
        message=f"database refused it: {reason}",
        code="import.database_refused",
        values={"reason": reason},
    )


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
    writer = _OfferWriter(session, principal)
    _run(session=session, report=report, records=records, model=OfferRecord, writer=writer, progress=progress)
    if writer.ignored_alliance_lines:
        report.warn(
            f"{writer.ignored_alliance_lines} record(s) name alliances: memberships are granted by the "
            "operator or the alliance's admin, so the 'alliance' field was ignored",
            code="import.alliances_ignored",
            count=writer.ignored_alliance_lines,
        )
    if writer.held:
        shown = _listed(writer.held)
        report.warn(
            f"{len(writer.held)} offer(s) are held for the operator's plausibility review, their footprints "
            f"being far below similar products': {shown}",
            code="import.held",
            count=len(writer.held),
            ids=shown,
        )
    return report


# The most line ids a warning names.
MOST_IDS_SHOWN = 10


def _listed(ids: Sequence[str]) -> str:
    return ", ".join(ids[:MOST_IDS_SHOWN]) + (", …" if len(ids) > MOST_IDS_SHOWN else "")


class _OfferWriter:
    """Writes a batch of offer records: the owners (suppliers, their alliances and memberships) one by one,
    remembered from batch to batch, then the batch's offers looked up in one query and written in one
    flush."""

    def __init__(self, session: Session, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.ignored_alliance_lines = 0
        self.held: list[str] = []  # the ids of the offers held for the plausibility review
        self.forget()

    def forget(self) -> None:
        self._own: Organisation | None = None
        self._suppliers: dict[str, Organisation] = {}
        self._alliances: dict[str, Alliance] = {}
        self._members: set[tuple[int, int]] = set()

    def landed(self, records: Sequence[OfferRecord]) -> None:
        if not self.principal.is_operator:
            self.ignored_alliance_lines += sum(bool(record.alliance) for record in records)

    def write(self, records: Sequence[OfferRecord]) -> list[Outcome]:
        owners = [self._owner(record) for record in records]
        known = offer_repository.by_external_ids(
            self.session, [(owner.id, record.id) for owner, record in zip(owners, records, strict=True)]
        )
        written = [
            offer_service.upsert_record(
                session=self.session,
                owner=owner,
                record=record,
                by_operator=self.principal.is_operator,
                known=known,
            )
            for owner, record in zip(owners, records, strict=True)
        ]
        self.held += [offer.external_id for offer, _ in written if offer.status == HELD]
        return [outcome for _, outcome in written]

    def _owner(self, record: OfferRecord) -> Organisation:
        if not self.principal.is_operator:
            if self._own is None:
                self._own = party_service.get_own(session=self.session, principal=self.principal)
            return self._own
        owner = self._suppliers.get(record.supplier)
        if owner is None or (owner.region is None and record.region):  # `ensure` may have more to say
            owner = self._suppliers[record.supplier] = _supplier(self.session, record)
        for code in record.alliance:
            alliance = self._alliances.get(code)
            if alliance is None:
                alliance = self._alliances[code] = alliance_service.ensure(session=self.session, code=code)
            if (alliance.id, owner.id) not in self._members:
                alliance_service.ensure_membership(
                    session=self.session, alliance=alliance, organisation_id=owner.id
                )
                self._members.add((alliance.id, owner.id))
        return owner


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
    writer = _NeedWriter(session, principal)
    _run(session=session, report=report, records=records, model=NeedRecord, writer=writer, progress=progress)
    unconfirmed = writer.unconfirmed
    if unconfirmed:
        # Never applied on import: the buyer confirms them on the need's page or with a change.
        ids = _listed(unconfirmed)
        report.warn(
            f"{len(unconfirmed)} need(s) state constraints in their text that their fields do not "
            f"(a ceiling, verified-only, an alliance or a region); they were not applied: {ids}",
            code="import.text_constraints_unset",
            count=len(unconfirmed),
            ids=ids,
        )
    return report


class _NeedWriter:
    """Writes need records one by one (needs come in hundreds, not millions), and notes those whose text
    states constraints their fields do not."""

    def __init__(self, session: Session, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.alliances = alliance_service.known_codes(session=session)
        self.unconfirmed: list[str] = []

    def forget(self) -> None:
        pass  # nothing is remembered between records

    def landed(self, records: Sequence[NeedRecord]) -> None:
        for record in records:
            detected, _ = need_service.detect(
                session=self.session, text=record.text, fields=record.model_dump(), alliances=self.alliances
            )
            if detected:
                self.unconfirmed.append(record.id)

    def write(self, records: Sequence[NeedRecord]) -> list[Outcome]:
        return [self._write(record) for record in records]

    def _write(self, record: NeedRecord) -> Outcome:
        if self.principal.is_operator:
            owner, _ = party_service.ensure(
                session=self.session, name=record.buyer, kind="buyer", region=None, admitted=True
            )
            if owner.kind not in party_service.BUYER_KINDS:
                raise LineRejected(
                    f"organisation {record.buyer!r} is a {owner.kind}, not a buyer",
                    code="import.not_a_buyer",
                    values={"name": record.buyer, "kind": owner.kind},
                )
        else:
            owner = party_service.get_own(session=self.session, principal=self.principal)
        _, outcome = need_service.upsert_record(
            session=self.session, owner=owner, record=record, create_alliances=self.principal.is_operator
        )
        return outcome
