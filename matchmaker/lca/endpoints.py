"""HTTP endpoint of the LCA import: the same service as `matchmaker import lca`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from matchmaker.deps import PrincipalDep, SessionDep, UploadDep
from matchmaker.errors import problem_responses
from matchmaker.exchange import DeclaredUnitText
from matchmaker.lca import service
from matchmaker.lca.schemas import LcaImportReport
from matchmaker.routing import CheckedRoute

router = APIRouter(
    route_class=CheckedRoute,
    prefix="/imports",
    tags=["imports"],
    responses=problem_responses(400, 401, 403, 413, 422),
)

LCA_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "an openLCA JSON-LD zip (olca-schema v1 or v2), an ILCD zip, or one ILCD (ILCD+EPD) "
        "process data set",
        "content": {
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
            "application/xml": {"schema": {"type": "string"}},
        },
    }
}


@router.post("/lca", response_model=LcaImportReport, openapi_extra=LCA_BODY)
def import_lca(
    session: SessionDep,
    principal: PrincipalDep,
    body: UploadDep,
    name: Annotated[str, Query(max_length=200, description="the file's name, kept as provenance")] = "upload",
    supplier: Annotated[
        str | None, Query(max_length=200, description="operator only: the supplier the products are for")
    ] = None,
    declared_unit: Annotated[
        DeclaredUnitText | None,
        Query(description="the reference flow's unit when the file does not hold the flow's data set"),
    ] = None,
    status: Annotated[Literal["draft", "published"], Query()] = "draft",
) -> LcaImportReport:
    """Import each product's climate-change result as an offer's footprint (an LCA result, not verified),
    with its provenance; each data set that cannot be read is reported while the others import."""
    return service.import_file(
        session=session, principal=principal, name=name, body=body, supplier=supplier,
        declared_unit=declared_unit, status=status,
    )  # fmt: skip
