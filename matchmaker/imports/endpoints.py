"""HTTP endpoints for bulk import; the same service as `matchmaker import`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query

from matchmaker.deps import OperatorDep, PrincipalDep, SessionDep, UploadDep
from matchmaker.errors import problem_responses
from matchmaker.imports import service
from matchmaker.imports.carbon_catalogue import read_catalogue
from matchmaker.imports.decoding import decode_upload
from matchmaker.imports.readers import FileFormat, detect_format, read_upload
from matchmaker.imports.schemas import ImportReport
from matchmaker.routing import CheckedRoute
from matchmaker.spreadsheets import XLSX_MEDIA_TYPE

router = APIRouter(
    route_class=CheckedRoute,
    prefix="/imports",
    tags=["imports"],
    responses=problem_responses(400, 401, 403, 404, 413, 422),
)

_TEXT_BODY = {"schema": {"type": "string"}}
FILE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "JSON Lines (one exchange-format object per line), or CSV or an Excel workbook "
        "(.xlsx, its first sheet) with the same columns",
        "content": {
            "application/x-ndjson": _TEXT_BODY,
            "text/csv": _TEXT_BODY,
            "text/plain": _TEXT_BODY,
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
CATALOGUE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the Carbon Catalogue's product_level.csv",
        "content": {"text/csv": _TEXT_BODY},
    }
}
FormatQuery = Annotated[
    FileFormat | None,
    Query(
        description="jsonl, csv or xlsx; by default from the Content-Type (text/csv is CSV, Excel's is xlsx)"
    ),
]


def _format(explicit: FileFormat | None, content_type: str | None) -> FileFormat:
    return explicit or detect_format(None, content_type)


@router.post("/offers", response_model=ImportReport, openapi_extra=FILE_BODY)
def import_offers(
    session: SessionDep,
    principal: PrincipalDep,
    body: UploadDep,
    format: FormatQuery = None,
    content_type: Annotated[str | None, Header()] = None,
) -> ImportReport:
    """Import offers; each bad line is reported with its number while the good lines import."""
    records = read_upload(body, _format(format, content_type))
    return service.import_offers(session=session, principal=principal, records=records)


@router.post("/needs", response_model=ImportReport, openapi_extra=FILE_BODY)
def import_needs(
    session: SessionDep,
    principal: PrincipalDep,
    body: UploadDep,
    format: FormatQuery = None,
    content_type: Annotated[str | None, Header()] = None,
) -> ImportReport:
    """Import needs; each bad line is reported with its number while the good lines import."""
    records = read_upload(body, _format(format, content_type))
    return service.import_needs(session=session, principal=principal, records=records)


@router.post("/carbon-catalogue", response_model=ImportReport, openapi_extra=CATALOGUE_BODY)
def import_carbon_catalogue(session: SessionDep, operator: OperatorDep, body: UploadDep) -> ImportReport:
    """Load the Carbon Catalogue's products as published offers of their companies (operator)."""
    return service.import_offers(
        session=session, principal=operator, records=read_catalogue(decode_upload(body))
    )
