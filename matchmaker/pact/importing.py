"""Footprints pulled from a PACT host (or read from PACT JSON files) become offers of their companies.

Each footprint goes through the same import as a line of an exchange-format file, so it is upserted by
(supplier, footprint id) and a bad one is reported by its position while the rest land. A Deprecated
footprint archives its offer; one whose `precedingPfIds` names older footprints archives their offers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.auth import Principal
from matchmaker.clean_text import loads
from matchmaker.db.models import Offer, Organisation
from matchmaker.imports import service as imports
from matchmaker.imports.readers import RawRecord
from matchmaker.imports.schemas import ImportReport
from matchmaker.offers import service as offer_service
from matchmaker.offers.schemas import OfferUpdate
from matchmaker.pact.mapping import FootprintError, offer_record_of_footprint

Progress = Callable[[int], None]


class FileUnreadable(ValueError):
    """A PACT file that is not JSON (nor JSON Lines) holding footprints."""


def footprints_in_file(text: str) -> list[Any]:
    """The footprints of a PACT JSON file: one footprint, a list, or a response `{"data": ...}`; also JSON
    Lines with one footprint per line."""
    try:
        document = loads(text)
    except ValueError:
        try:
            return [loads(line) for line in text.splitlines() if line.strip()]
        except ValueError as error:
            raise FileUnreadable(f"not JSON or JSON Lines: {error}") from None
    if isinstance(document, dict) and "data" in document:
        document = document["data"]
    return document if isinstance(document, list) else [document]


def import_footprints(
    *, session: Session, principal: Principal, footprints: Iterable[Any], supplier: str | None = None,
    infer_category: Callable[[str], str | None] = lambda _: None, progress: Progress | None = None,
) -> ImportReport:  # fmt: skip
    """Upsert an offer per footprint; report each footprint that cannot become one by its position."""
    replaced: list[tuple[int, str, list[str]]] = []  # (position, supplier, older footprint ids)

    def records() -> Iterator[RawRecord]:
        for position, footprint in enumerate(footprints, start=1):
            if not isinstance(footprint, dict):
                yield RawRecord(line=position, data={}, error="not a footprint object")
                continue
            try:
                pulled = offer_record_of_footprint(
                    footprint, supplier=supplier, infer_category=infer_category
                )
            except FootprintError as error:
                found_id = footprint.get("id")
                yield RawRecord(
                    line=position,
                    data={"id": found_id} if isinstance(found_id, str) else {},
                    error=str(error),
                )
                continue
            if pulled.preceding_ids:
                replaced.append((position, str(pulled.record["supplier"]), pulled.preceding_ids))
            yield RawRecord(line=position, data=pulled.record)

    report = imports.import_offers(session=session, principal=principal, records=records(), progress=progress)
    refused = {error.line for error in report.errors}
    # An older footprint is retired only when the one replacing it was taken.
    archived = sum(
        _archive(session, supplier_name, ids)
        for position, supplier_name, ids in replaced
        if position not in refused
    )
    if archived:
        report.warnings.append(
            f"{archived} offer(s) archived: newer footprints replace them (precedingPfIds)"
        )
    return report


def _archive(session: Session, supplier: str, footprint_ids: list[str]) -> int:
    """Archive the supplier's offers listed under these (older) footprint ids."""
    older = session.scalars(
        select(Offer)
        .join(Organisation, Offer.owner_id == Organisation.id)
        .where(
            Organisation.name == supplier, Offer.external_id.in_(footprint_ids), Offer.status != "archived"
        )
    ).all()
    for offer in older:
        offer_service.update(session=session, offer=offer, data=OfferUpdate(status="archived"), vouched=True)
    return len(older)
