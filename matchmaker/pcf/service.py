"""Calculating footprints: a preview from a bill of materials, a calculation saved as the offer's draft
footprint ("calculated, not verified"), and the calculations a newer factor library would change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy.orm import Session

from matchmaker import verification
from matchmaker.auth import Principal
from matchmaker.db.models import FootprintCalculation, Offer
from matchmaker.errors import (
    MatchmakerError,
    NotFound,
    ValidationFailed,
    field_error,
    field_errors_from_pydantic,
)
from matchmaker.factors import repository as factor_repository
from matchmaker.offers import service as offer_service
from matchmaker.offers.schemas import OfferUpdate
from matchmaker.offers.service import FootprintOrigin
from matchmaker.pcf import repository
from matchmaker.pcf.bom import BillOfMaterials, OfferLine
from matchmaker.pcf.calculator import BomRefused, Calculation, Factor, LineProblem, OfferInput, calculate
from matchmaker.pcf.schemas import CalculationRead, Recalculation


def library_version(session: Session, wanted: str | None) -> str:
    """The library version a bill is counted with: the one it names, else the latest loaded."""
    if wanted is not None:
        if factor_repository.library(session, wanted) is None:
            raise NotFound(f"factor library {wanted} is not loaded", code="factors.unknown_version")
        return wanted
    latest = factor_repository.latest_version(session)
    if latest is None:
        raise NotFound("no factor library is loaded: run `matchmaker db upgrade`", code="factors.none_loaded")
    return latest


def _factors(session: Session, version: str) -> dict[str, Factor]:
    return {
        row.key: Factor(
            key=row.key, library_version=row.library_version, name=row.name, value=row.value, unit=row.unit,
            region=row.region, year=row.year, source=row.source, source_table=row.source_table,
            licence=row.licence,
        )
        for row in repository.factors(session, version)
    }  # fmt: skip


def _offers(
    session: Session, principal: Principal, bom: BillOfMaterials, *, calculated: int | None
) -> dict[int, OfferInput]:
    """The offers the bill's lines name that the caller may see, read together (one it may not see is left
    out: the calculator says it is not found, with its line)."""
    named = [line for line in bom.lines if isinstance(line, OfferLine)]
    problems = [
        LineProblem(number, "an offer cannot be an input of its own footprint", "pcf.cycle")
        for number, line in enumerate(bom.lines, start=1)
        if isinstance(line, OfferLine) and line.offer == calculated
    ]
    if problems:
        raise _refusal(BomRefused(problems))
    if not named:
        return {}
    now = datetime.now(UTC)
    visible = offer_service.visible_by_ids(
        session=session, principal=principal, offer_ids=sorted({line.offer for line in named})
    )
    return {offer_id: _input(offer, now=now) for offer_id, offer in visible.items()}


def _input(offer: Offer, *, now: datetime) -> OfferInput:
    ratings = (offer.dqr_technological, offer.dqr_temporal, offer.dqr_geographical)
    return OfferInput(
        id=offer.id,
        title=offer.title,
        supplier=offer.owner.name,
        pcf_value=offer.pcf_value,
        pcf_unit=offer.pcf_unit,
        verified=verification.of_offer(offer, now=now).status == "verified",
        dqr=None if None in ratings else ratings,  # type: ignore[arg-type]
    )


def _refusal(refused: BomRefused) -> ValidationFailed:
    return ValidationFailed(
        "the bill of materials has lines that cannot be counted",
        errors=[
            field_error(
                f"lines.{problem.line - 1}" if problem.line else "lines", problem.message, code=problem.code
            )
            for problem in refused.problems
        ],
        code="pcf.bom_invalid",
    )


def _calculate(
    session: Session,
    principal: Principal,
    bom: BillOfMaterials,
    *,
    factors: dict[str, Factor],
    calculated: int | None = None,
) -> Calculation:
    try:
        return calculate(bom, factors=factors, offers=_offers(session, principal, bom, calculated=calculated))
    except BomRefused as refused:
        raise _refusal(refused) from None


def preview(*, session: Session, principal: Principal, bom: BillOfMaterials) -> CalculationRead:
    """Count a bill without saving anything."""
    version = library_version(session, bom.library)
    calculation = _calculate(session, principal, bom, factors=_factors(session, version))
    return CalculationRead.of(calculation, library_version=version)


def save(
    *, session: Session, principal: Principal, offer: Offer, bom: BillOfMaterials, reason: str = "bom"
) -> FootprintCalculation:
    """Count a bill and write the result as the offer's footprint, calculated and not verified; a result
    with a gap is refused, naming its lines (a footprint is never partly zero)."""
    version = library_version(session, bom.library)
    calculation = _calculate(session, principal, bom, factors=_factors(session, version), calculated=offer.id)
    result = CalculationRead.of(calculation, library_version=version)
    if not result.complete:
        raise ValidationFailed(
            "the footprint cannot be saved while a line has no factor",
            errors=[
                field_error(f"lines.{gap.line - 1}", gap.gap or "", code="pcf.gap") for gap in result.gaps
            ],
            code="pcf.incomplete",
        )
    return _keep(session, principal, offer, bom, result, reason=reason)


def _keep(
    session: Session, principal: Principal, offer: Offer, bom: BillOfMaterials, result: CalculationRead, *,
    reason: str,
) -> FootprintCalculation:  # fmt: skip
    assert result.total is not None
    change = _footprint_change(result)
    calculation = FootprintCalculation(
        offer_id=offer.id,
        library_version=result.library_version,
        bom=bom.model_dump(mode="json", exclude_none=True),
        result=result.model_dump(mode="json"),
        total=result.total,
        unit=result.unit,
        reason=reason,
        created_by_id=None if principal.is_operator else principal.organisation_id,
    )
    repository.add(session, calculation)
    provenance = {"calculation": calculation.id, "library": result.library_version, "gwp": bom.gwp}
    origin = FootprintOrigin("calculated", provenance)
    offer_service.update(session=session, offer=offer, data=change, vouched=False, origin=origin)
    return calculation


def _footprint_change(result: CalculationRead) -> OfferUpdate:
    """The offer's footprint, primary share and ratings as the calculation states them (a footprint beyond
    what an offer may state is refused, as it would be typed)."""
    dqr = result.dqr
    share = result.primary_data_share
    try:
        return OfferUpdate(
            pcf_value=result.total,
            pcf_unit=result.unit,
            primary_data_share=None if share is None else min(100.0, share),
            dqr_technological=None if dqr is None else dqr.technological,
            dqr_temporal=None if dqr is None else dqr.temporal,
            dqr_geographical=None if dqr is None else dqr.geographical,
        )
    except ValidationError as error:
        raise ValidationFailed(
            "the calculated footprint cannot be stated on an offer",
            errors=field_errors_from_pydantic(error.errors()),
            code="pcf.not_stateable",
        ) from None


def calculations(*, session: Session, offer: Offer) -> Sequence[FootprintCalculation]:
    """An offer's calculations, newest first (the ones a newer library replaced too)."""
    return repository.of_offer(session, offer.id)


def _owned_by(principal: Principal) -> int | None:
    return None if principal.is_operator else principal.organisation_id


def pending(*, session: Session, principal: Principal, version: str) -> list[Recalculation]:
    """The calculated footprints (the caller's, or all for the operator) made with an older library that
    `version` would change, with their old and new totals; nothing is written."""
    return [change for change, _ in _recalculated(session, principal, version)]


def recalculate(*, session: Session, principal: Principal, version: str) -> list[Recalculation]:
    """Calculate again with library `version` every calculated footprint it changes and write the new ones;
    the old calculations stay in the history. One that cannot be calculated again (a gap in the newer
    library, an input offer gone) is listed with why, and left as it was."""
    changes = _recalculated(session, principal, version)
    for _, redone in changes:
        if redone is not None:
            _keep(session, principal, *redone, reason="recalculation")
    return [change for change, _ in changes]


def _changed_keys(older: dict[str, Factor], newer: dict[str, Factor]) -> set[str]:
    """The factors of the older version that the newer one states otherwise, or no longer states."""
    return {
        key
        for key, factor in older.items()
        if key not in newer or (newer[key].value, newer[key].unit) != (factor.value, factor.unit)
    }


Redone = tuple[Offer, BillOfMaterials, CalculationRead]


def _recalculated(
    session: Session, principal: Principal, version: str
) -> list[tuple[Recalculation, Redone | None]]:
    """Each calculation made with an older version whose cited factors `version` states otherwise,
    calculated again: the change, and what to write (None: it cannot be calculated again)."""
    version = library_version(session, version)
    factors = _factors(session, version)
    changed_since: dict[str, set[str]] = {}  # by the older version: the keys the newer one states otherwise
    changes: list[tuple[Recalculation, Redone | None]] = []
    for previous in repository.latest_of_calculated_offers(session, _owned_by(principal)):
        if previous.library_version >= version:
            continue  # made with this version or a newer one (versions sort as their names)
        if previous.library_version not in changed_since:  # each older version read once
            changed_since[previous.library_version] = _changed_keys(
                _factors(session, previous.library_version), factors
            )
        cited = {factor["key"] for factor in previous.result.get("factors", [])}
        if not cited & changed_since[previous.library_version]:
            continue  # none of its factors changed: the newer library gives the same footprint
        change = Recalculation(
            offer_id=previous.offer_id,
            title=previous.offer.title,
            unit=previous.unit,
            old_total=previous.total,
            old_library_version=previous.library_version,
            new_total=None,
            gaps=[],
        )
        # The inputs are read as the offer's supplier sees them, whoever asks (the operator sees more).
        supplier = Principal(organisation_id=previous.offer.owner_id, role="vendor", key_id=0)
        try:
            bom = BillOfMaterials.model_validate({**previous.bom, "library": version})
            calculation = _calculate(session, supplier, bom, factors=factors, calculated=previous.offer_id)
        except ValidationFailed as refused:
            change.gaps = [entry["message"] for entry in refused.errors] or [refused.detail]
            changes.append((change, None))
            continue
        except (MatchmakerError, ValidationError) as error:
            change.gaps = [str(error)]
            changes.append((change, None))
            continue
        result = CalculationRead.of(calculation, library_version=version)
        if result.total == previous.total:
            continue
        change.new_total = result.total
        change.gaps = [gap.gap or "" for gap in result.gaps]
        changes.append((change, (previous.offer, bom, result) if result.complete else None))
    return changes
