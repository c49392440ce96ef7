"""HTTP endpoints of PCF accounting: a bill of materials counted (a preview, or saved as an offer's
calculated footprint), an offer's calculations, and what a newer factor library would change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from matchmaker.deps import PrincipalDep, SessionDep
from matchmaker.errors import problem_responses
from matchmaker.offers import service as offer_service
from matchmaker.pcf import service
from matchmaker.pcf.bom import BillOfMaterials
from matchmaker.pcf.schemas import CalculationRead, Recalculation, RecalculationRequest, SavedCalculationRead
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import PathId

router = APIRouter(
    route_class=CheckedRoute, tags=["PCF accounting"], responses=problem_responses(401, 404, 422)
)


@router.post("/pcf/calculate", response_model=CalculationRead)
def calculate(session: SessionDep, principal: PrincipalDep, bom: BillOfMaterials) -> CalculationRead:
    """Count a bill of materials with the factor library; nothing is saved. A line without a factor makes
    the result incomplete (`total` null, the line in `gaps`), never zero."""
    return service.preview(session=session, principal=principal, bom=bom)


@router.post(
    "/offers/{offer_id}/calculations",
    response_model=SavedCalculationRead,
    status_code=201,
    responses=problem_responses(403),
)
def save_calculation(
    session: SessionDep, principal: PrincipalDep, offer_id: PathId, bom: BillOfMaterials
) -> SavedCalculationRead:
    """Count a bill and write the result as the offer's footprint: calculated, not verified (its
    verification, if it had one, ends). Refused while a line has no factor."""
    offer = offer_service.get_editable(session=session, principal=principal, offer_id=offer_id)
    calculation = service.save(session=session, principal=principal, offer=offer, bom=bom)
    return SavedCalculationRead.model_validate(calculation)


@router.get(
    "/offers/{offer_id}/calculations",
    response_model=list[SavedCalculationRead],
    responses=problem_responses(403),
)
def offer_calculations(
    session: SessionDep, principal: PrincipalDep, offer_id: PathId
) -> list[SavedCalculationRead]:
    """The offer's calculations, newest first, with their bills (its supplier's and the operator's only)."""
    offer = offer_service.get_editable(session=session, principal=principal, offer_id=offer_id, lock=False)
    return [
        SavedCalculationRead.model_validate(row) for row in service.calculations(session=session, offer=offer)
    ]


@router.get("/pcf/recalculations", response_model=list[Recalculation])
def pending_recalculations(
    session: SessionDep,
    principal: PrincipalDep,
    version: Annotated[str, Query(max_length=32, description="a factor library version")],
) -> list[Recalculation]:
    """The calculated footprints (yours; all of them for the operator) that library `version` would change,
    old and new; nothing is written."""
    return service.pending(session=session, principal=principal, version=version)


@router.post("/pcf/recalculations", response_model=list[Recalculation])
def recalculate(
    session: SessionDep, principal: PrincipalDep, body: RecalculationRequest
) -> list[Recalculation]:
    """Calculate again with library `version` the footprints it changes, and write them; the earlier
    calculations stay in each offer's history. One the newer library leaves with a gap is listed,
    unchanged."""
    return service.recalculate(session=session, principal=principal, version=body.version)
