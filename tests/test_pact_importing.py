"""Footprints imported as offers: replacements, deprecation, and numbers no arithmetic can hold."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.auth import Principal
from matchmaker.db.models import Offer
from matchmaker.pact.importing import import_footprints
from tests.test_pact_mapping import STEEL_COIL, fixture

OPERATOR = Principal(organisation_id=0, role="operator", key_id=0)
NEWER_ID = "5e0c2a9e-7b4d-4e2a-9c1f-5a6b7c8d9e03"


def status_of(session: Session, external_id: str) -> str | None:
    return session.scalar(select(Offer.status).where(Offer.external_id == external_id))


def test_a_newer_footprint_replaces_the_one_it_names(session: Session) -> None:
    import_footprints(session=session, principal=OPERATOR, footprints=[STEEL_COIL])
    newer = fixture(
        STEEL_COIL, id=NEWER_ID, precedingPfIds=[STEEL_COIL["id"]], pcf__pcfExcludingBiogenicUptake="0.7"
    )
    report = import_footprints(session=session, principal=OPERATOR, footprints=[newer])
    assert report.created == 1 and status_of(session, STEEL_COIL["id"]) == "archived"
    assert status_of(session, NEWER_ID) == "published"


def test_a_replacement_that_fails_leaves_the_older_offer_alone(session: Session) -> None:
    import_footprints(session=session, principal=OPERATOR, footprints=[STEEL_COIL])
    broken = fixture(
        STEEL_COIL, id=NEWER_ID, precedingPfIds=[STEEL_COIL["id"]], productNameCompany="x" * 5000
    )
    report = import_footprints(session=session, principal=OPERATOR, footprints=[broken])
    assert report.failed == 1 and report.errors[0].line == 1
    assert status_of(session, STEEL_COIL["id"]) == "published" and not report.warnings


def test_a_deprecated_footprint_archives_its_offer_and_a_huge_number_is_one_bad_line(
    session: Session,
) -> None:
    huge = fixture(STEEL_COIL, id=NEWER_ID, pcf__pcfExcludingBiogenicUptake="1e999999999")
    report = import_footprints(
        session=session, principal=OPERATOR, footprints=[fixture(STEEL_COIL, status="Deprecated"), huge]
    )
    assert report.created == 1 and status_of(session, STEEL_COIL["id"]) == "archived"
    assert (
        report.failed == 1
        and report.errors[0].line == 2
        and "pcfExcludingBiogenicUptake" in report.errors[0].message
    )
