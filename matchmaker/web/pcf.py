"""PCF accounting on the pages: a vendor builds its offer's bill of materials line by line (units checked
as typed, in the browser and again here), previews the footprint it gives and saves it as the offer's
calculated footprint; and uploads an LCA file to import its results. The rules are `pcf.service`'s and
`lca.service`'s."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from matchmaker.deps import SessionDep
from matchmaker.lca import service as lca_service
from matchmaker.offers import service as offer_service
from matchmaker.pcf import service
from matchmaker.pcf.bom import LINE_FAMILIES, BillOfMaterials, units_for
from matchmaker.pcf.schemas import CalculationRead
from matchmaker.routing import CheckedRoute
from matchmaker.schema_types import PathId
from matchmaker.units import DECLARED_UNITS
from matchmaker.web.deps import FormDep, ImportFormDep, VendorDep
from matchmaker.web.forms import FormErrors, attempt, build, page_translator, posted_file, text
from matchmaker.web.rendering import render

router = APIRouter(route_class=CheckedRoute)

# The field of a line that names what it is counted with, by kind.
REFERENCE_FIELD = {
    "offer": "offer",
    "factor": "factor",
    "electricity": "grid",
    "fuel": "fuel",
    "process": "gas",
    "transport": "mode",
}
LINE_INPUTS = ("kind", "ref", "year", "amount", "unit", "name", "stage")
# Rows the form shows at least; "add a line" adds more. One row past the bill's most is read, so that a
# longer bill is refused as the API refuses it rather than cut short.
EMPTY_ROWS = 6
MOST_ROWS = 501
CO_PRODUCT_ROWS = 3
_ROW = re.compile(r"^line-(\d{1,3})-kind$")


def units_by_kind() -> dict[str, list[str]]:
    """The units each kind of line is counted in, for the browser's check as the unit is typed."""
    return {kind: units_for(kind) for kind in LINE_FAMILIES}


def _rows(form: FormData) -> list[dict[str, str]]:
    numbers = sorted({int(match.group(1)) for name in form if (match := _ROW.match(name))})[:MOST_ROWS]
    rows = []
    for number in numbers:
        row = {field: text(form, f"line-{number}-{field}") or "" for field in LINE_INPUTS}
        if row["amount"] or row["ref"]:
            rows.append(row)
    return rows


def _co_products(form: FormData) -> list[dict[str, str]]:
    rows = []
    for number in range(CO_PRODUCT_ROWS):
        row = {
            field: text(form, f"co-{number}-{field}") or "" for field in ("name", "amount", "unit", "price")
        }
        if any(row.values()):
            rows.append(row)
    return rows


def _bill(form: FormData, rows: list[dict[str, str]], co_products: list[dict[str, str]]) -> dict[str, Any]:
    """The posted form as the API's bill of materials (text values; `build` reads them as numbers)."""
    lines = []
    for row in rows:
        kind = row["kind"]
        line: dict[str, Any] = {"kind": kind, "amount": row["amount"], "unit": row["unit"]}
        if kind in REFERENCE_FIELD and row["ref"]:
            line[REFERENCE_FIELD[kind]] = row["ref"]
        for field in ("name", "stage"):
            if row[field]:
                line[field] = row[field]
        if kind == "electricity":
            line["year"] = row["year"]
        lines.append(line)
    bill: dict[str, Any] = {
        "declared_unit": text(form, "declared_unit") or "",
        "output": {"amount": text(form, "output_amount") or "", "unit": text(form, "output_unit") or ""},
        "lines": lines,
        "co_products": [{key: value for key, value in row.items() if value} for row in co_products],
        "gwp": text(form, "gwp") or "ar6",
    }
    for field in ("allocation", "output_price", "region", "year", "library"):
        if value := text(form, field):
            bill[field] = value
    return bill


def _rows_of(bom: dict[str, Any]) -> list[dict[str, str]]:
    """A saved bill's lines as the form's rows."""
    rows = []
    for line in bom.get("lines", []):
        kind = str(line.get("kind", ""))
        rows.append(
            {
                "kind": kind,
                "ref": str(line.get(REFERENCE_FIELD.get(kind, ""), "")),
                "year": str(line.get("year", "")),
                "amount": f"{line.get('amount', '')}",
                "unit": str(line.get("unit", "")),
                "name": str(line.get("name", "")),
                "stage": str(line.get("stage", "")),
            }
        )
    return rows


def _line_problems(request: Request, error: FormErrors) -> list[dict[str, Any]]:
    """Each problem with the line it is on ("line 3: ..."), as a person counts lines, in the page's
    language where it has words for it (`english` when not)."""
    t = page_translator(request)
    problems = []
    for problem in error.problems:
        parts = problem.field.split(".")
        where = (
            f"{int(parts[1]) + 1}" if parts[0] == "lines" and len(parts) > 1 and parts[1].isdigit() else None
        )
        message = problem.message.in_language(t)
        problems.append(
            {
                "line": where,
                "field": None if where else problem.field,
                "text": message,
                "english": t.language == "en" or message == problem.message.english,
            }
        )
    if error.reason is not None and not problems:
        message = error.reason.in_language(t)
        problems.append(
            {
                "line": None,
                "field": None,
                "text": message,
                "english": t.language == "en" or message == error.reason.english,
            }
        )
    return problems


def _page(
    request: Request, offer: Any, *, form: dict[str, Any], rows: list[dict[str, str]],
    co_products: list[dict[str, str]], result: CalculationRead | None = None,
    problems: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:  # fmt: skip
    shown_rows = rows + [dict.fromkeys(LINE_INPUTS, "") for _ in range(max(EMPTY_ROWS - len(rows), 2))]
    shown_co = co_products + [dict.fromkeys(("name", "amount", "unit", "price"), "")] * (
        CO_PRODUCT_ROWS - len(co_products)
    )
    context = {
        "offer": offer,
        "form": form,
        "rows": shown_rows,
        "co_products": shown_co,
        "result": result,
        "problems": problems or [],
        "kinds": list(REFERENCE_FIELD),
        "units_by_kind": units_by_kind(),
        "declared_units": list(DECLARED_UNITS),
    }
    return render(request, "vendor/calculate.html", context, status=status)


@router.get("/offers/{offer_id}/calculate")
def calculate_form(request: Request, session: SessionDep, user: VendorDep, offer_id: PathId) -> Response:
    """The bill of materials form, filled with the offer's last calculation when it has one."""
    offer = offer_service.get_editable(
        session=session, principal=user.principal, offer_id=offer_id, lock=False
    )
    saved = service.calculations(session=session, offer=offer)
    bom: dict[str, Any] = saved[0].bom if saved else {}
    output = bom.get("output", {})
    form = {
        "declared_unit": bom.get("declared_unit") or offer.declared_unit or "t",
        "output_amount": output.get("amount", 1),
        "output_unit": output.get("unit") or offer.declared_unit or "t",
        **{field: bom.get(field, "") for field in ("allocation", "output_price", "region", "year", "gwp")},
    }
    co_products = [
        {key: str(row.get(key, "")) for key in ("name", "amount", "unit", "price")}
        for row in bom.get("co_products", [])
    ]
    return _page(request, offer, form=form, rows=_rows_of(bom), co_products=co_products)


@router.post("/offers/{offer_id}/calculate")
def calculate(
    request: Request, session: SessionDep, user: VendorDep, form: FormDep, offer_id: PathId
) -> Response:
    """Preview the bill's footprint, or save it as the offer's (action=save)."""
    offer = offer_service.get_editable(session=session, principal=user.principal, offer_id=offer_id)
    rows, co_products = _rows(form), _co_products(form)
    entered = {
        field: text(form, field) or ""
        for field in ("declared_unit", "output_amount", "output_unit", "allocation", "output_price", "region",
                      "year", "gwp")
    }  # fmt: skip
    try:
        bom = build(BillOfMaterials, _bill(form, rows, co_products))
        if text(form, "action") == "save":
            attempt(
                lambda: service.save(session=session, principal=user.principal, offer=offer, bom=bom),
                session=session,
            )
            return RedirectResponse(f"/ui/offers/{offer_id}?done=calculated", status_code=303)
        result = attempt(lambda: service.preview(session=session, principal=user.principal, bom=bom))
    except FormErrors as error:
        problems = _line_problems(request, error)
        return _page(
            request, offer, form=entered, rows=rows, co_products=co_products, problems=problems,
            status=error.status,
        )  # fmt: skip
    return _page(request, offer, form=entered, rows=rows, co_products=co_products, result=result)


@router.get("/lca")
def lca_form(request: Request, user: VendorDep) -> Response:
    context = {"report": None, "problems": [], "declared_units": list(DECLARED_UNITS), "problem_key": None}
    return render(request, "vendor/lca_upload.html", context)


@router.post("/lca", dependencies=[ImportFormDep])
def lca_upload(request: Request, session: SessionDep, user: VendorDep, form: FormDep) -> Response:
    """Import an LCA file exactly as POST /imports/lca does: each data set imported or reported."""
    limit: int = request.app.state.settings.max_import_bytes
    posted = posted_file(form, "file", limit=limit)
    context: dict[str, Any] = {
        "report": None, "problems": [], "declared_units": list(DECLARED_UNITS), "problem_key": None
    }  # fmt: skip
    if posted is None or len(posted[0]) > limit:
        context["problem_key"] = "vendor.upload.no_file" if posted is None else "vendor.upload.too_large"
        context["limit"] = limit
        return render(request, "vendor/lca_upload.html", context, status=422 if posted is None else 413)
    body, filename = posted
    unit = text(form, "declared_unit")
    try:
        context["report"] = attempt(
            lambda: lca_service.import_file(
                session=session,
                principal=user.principal,
                name=filename[:200],
                body=body,
                declared_unit=unit if unit in DECLARED_UNITS else None,
                status="published" if text(form, "publish") else "draft",
            )  # fmt: skip
        )
    except FormErrors as error:
        context["problems"] = _line_problems(request, error)
        return render(request, "vendor/lca_upload.html", context, status=error.status)
    return render(request, "vendor/lca_upload.html", context)
