"""An LCA file imported as offers: each product it holds becomes (or updates) one offer of its supplier, with
the footprint per the declared unit of its reference flow, marked as an LCA result and not verified, and
where it came from (file, data set UUID and version, indicator, modules). A data set that cannot be read
is reported with the reason; the others are imported."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from matchmaker.auth import Principal
from matchmaker.clean_text import shown
from matchmaker.db.models import Organisation
from matchmaker.errors import Forbidden, MatchmakerError, ValidationFailed
from matchmaker.exchange import OfferRecord
from matchmaker.imports.service import describe_validation_error
from matchmaker.lca import ilcd, openlca
from matchmaker.lca.products import LcaProduct, ProductUnreadable, plain
from matchmaker.lca.schemas import DataSetOutcome, LcaImportReport
from matchmaker.offers import service as offer_service
from matchmaker.offers.service import FootprintOrigin
from matchmaker.parties import service as party_service

# A zip may hold at most this many entries and this many bytes unpacked (a small file that unpacks to
# gigabytes is refused before anything is read).
MOST_ENTRIES = 50_000
MOST_UNPACKED_BYTES = 500 * 1024 * 1024


def _refused(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code)


def products_in(
    name: str, body: bytes, *, declared_unit: str | None
) -> tuple[str | None, Iterator[tuple[str, LcaProduct | ProductUnreadable]]]:
    """The file's format and its products (or why each could not be read), by where they are in it."""
    if zipfile.is_zipfile(io.BytesIO(body)):
        try:
            archive = zipfile.ZipFile(io.BytesIO(body))
        except (
            zipfile.BadZipFile,
            ValueError,
            RuntimeError,
            NotImplementedError,
            OSError,
            EOFError,
        ) as error:
            raise _refused(f"{name}: not a readable zip: {error}", "lca.bad_zip") from None
        entries = archive.infolist()
        if len(entries) > MOST_ENTRIES or sum(entry.file_size for entry in entries) > MOST_UNPACKED_BYTES:
            raise _refused(f"{name}: the zip unpacks to more than this service reads", "lca.zip_too_large")
        if openlca.is_openlca(archive):
            return f"openlca-jsonld-v{openlca.version_of(archive)}", openlca.read(archive)
        if any("/processes/" in f"/{entry.filename.lower()}" for entry in entries):
            return "ilcd", ilcd.read_zip(archive, declared_unit=declared_unit)
        raise _refused(f"{name}: neither an openLCA JSON-LD zip nor an ILCD zip", "lca.unknown_zip")
    if body.lstrip()[:1] == b"<":
        try:
            product: LcaProduct | ProductUnreadable = ilcd.product_of(
                ilcd.parse(body), flows={}, declared_unit=declared_unit
            )
        except ProductUnreadable as problem:
            product = problem
        except ArithmeticError as error:
            product = ProductUnreadable(f"a number cannot be read: {error!r}")
        return "ilcd", iter([(name, product)])
    raise _refused(
        f"{name}: not an LCA file (an openLCA JSON-LD zip, an ILCD zip or an ILCD XML data set)",
        "lca.unknown_format",
    )


def import_file(
    *, session: Session, principal: Principal, name: str, body: bytes, supplier: str | None = None,
    declared_unit: str | None = None, status: str = "draft",
    infer_category: Callable[[str], str | None] = lambda _: None,
) -> LcaImportReport:  # fmt: skip
    """Upsert an offer per product of the file (the operator files them under `supplier` or the data set's
    owner; a vendor, under itself); report each data set."""
    if principal.role not in ("vendor", "operator"):
        raise Forbidden("only suppliers' vendor keys and the operator import LCA results")
    source_format, products = products_in(name, body, declared_unit=declared_unit)
    report = LcaImportReport(file=name, format=source_format, data_sets=[])
    for path, product in products:
        if isinstance(product, ProductUnreadable):
            report.data_sets.append(
                DataSetOutcome(path=shown(path), outcome="failed", message=shown(str(product)))
            )
            continue
        report.data_sets.append(
            _import_one(
                session, principal, product, path=path, file=name, supplier=supplier, status=status,
                infer_category=infer_category,
            )
        )  # fmt: skip
    if not report.data_sets:
        report.warnings.append(
            "the file holds no product with a climate-change result (an EPD, a result, or a process with "
            "LCIA results): an inventory-only export has no footprint to import"
        )
    return report


def _import_one(
    session: Session, principal: Principal, product: LcaProduct, *, path: str, file: str,
    supplier: str | None, status: str, infer_category: Callable[[str], str | None],
) -> DataSetOutcome:  # fmt: skip
    value, unit = product.per_declared_unit
    # What the report echoes of the file is shown with its bad characters escaped (a lone surrogate in a
    # name is the data set's problem, reported, not the response's).
    outcome = DataSetOutcome(
        path=shown(path),
        outcome="failed",
        name=shown(product.name),
        dataset_uuid=shown(product.uuid),
        pcf_value=value,
        pcf_unit=unit,
    )
    try:
        with session.begin_nested():
            owner = _owner(session, principal, supplier or product.owner)
            text = f"{product.name}. {product.indicator}"
            record = OfferRecord.model_validate(
                {
                    "id": f"lca:{product.uuid}",
                    "supplier": owner.name,
                    "title": product.name[:500],
                    "description": _description(product, file),
                    "kind": "product",
                    "category": infer_category(text) or "other",
                    "pcf_value": value,
                    "pcf_unit": unit,
                    "standard": "EN 15804" if product.source_format == "ilcd+epd" else None,
                    "status": status,
                }
            )
            offer, written = offer_service.upsert_record(
                session=session, owner=owner, record=record, by_operator=principal.is_operator,
                origin=FootprintOrigin("lca", _provenance(product, path=path, file=file)),
            )  # fmt: skip
    except ValidationError as error:
        outcome.message = shown(describe_validation_error(error))
        return outcome
    except (MatchmakerError, SQLAlchemyError) as error:
        outcome.message = (
            shown(error.detail) if isinstance(error, MatchmakerError) else "the database refused it"
        )
        return outcome
    outcome.outcome, outcome.offer_id = written, offer.id
    return outcome


def _owner(session: Session, principal: Principal, supplier: str | None) -> Organisation:
    if not principal.is_operator:
        return party_service.get_own(session=session, principal=principal)
    if not supplier:
        raise ValidationFailed(
            "the data set names no owner: say which supplier it is for (--supplier)", code="lca.no_supplier"
        )
    owner, _ = party_service.ensure(
        session=session, name=supplier[:200], kind="vendor", region=None, admitted=True
    )
    return owner


def _description(product: LcaProduct, file: str) -> str:
    scope = f", {product.scope}" if product.scope else ""
    method = f" ({product.method})" if product.method else ""
    return (
        f"{product.indicator}{method}{scope}: {plain(product.gwp_kg)} kg CO2e per "
        f"{plain(product.amount)} {product.unit}. Imported from {file} ({product.source_format})."
    )


def _provenance(product: LcaProduct, *, path: str, file: str) -> dict[str, Any]:
    version = f" version {product.version}" if product.version else ""
    return {
        "file": file,
        "path": path,
        "format": product.source_format,
        "entity": product.entity,
        "dataset_uuid": product.uuid,
        "dataset_version": product.version,
        "indicator": product.indicator,
        "method": product.method,
        "scope": product.scope,
        "reference_flow": f"{plain(product.amount)} {product.unit}",
        "modules": product.modules,
        "summary": (
            f"{product.source_format} {product.entity} {product.uuid}{version} in {file}, {product.indicator}"
        ),
    }
