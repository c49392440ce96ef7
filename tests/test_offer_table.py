"""The in-memory offer table decides the hard filters exactly as the database reading and `judge` do.

The oracle is the path matching took before the table: `repository.visible_offer_facts` (visibility,
publication and admission in SQL) and `eligibility.judge` on every offer. Random platforms and criteria are
compared, then the database changes under the table (offers edited, archived, re-published, suppliers
suspended, memberships revoked) and the comparison runs again after a sync.
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.db.models import Alliance, Membership, Offer, Organisation
from matchmaker.footprints import stored_footprint
from matchmaker.matching import repository
from matchmaker.matching.eligibility import Criteria, judge
from matchmaker.matching.offer_table import OfferTable
from matchmaker.matching.repository import offers_by_id
from matchmaker.parties import service as party_service
from matchmaker.visibility import EVERYONE
from tests.factories import make_offer, make_party

CATEGORIES = ["steel", "hydrogen", "cement", "aluminium"]
KINDS = ["product", "technology", "service"]
REGIONS = ["Shanghai", "Jiangsu", "Hebei", None]
FOOTPRINTS = [
    (0.62, "tCO2e/t"),
    (620.0, "kgCO2e/t"),
    (0.62, "kgCO2e/kg"),
    (1.3, "kgCO2e/kg"),
    (2.0, "kgCO2e/kg"),
    (0.05, "kgCO2e/kWh"),
    (-0.2, "tCO2e/t"),
    (None, None),
]
CEILINGS = [(None, None), (620.0, "kgCO2e/t"), (0.62, "tCO2e/t"), (2.0, "kgCO2e/kg"), (50.0, "gCO2e/kWh")]
CERTIFICATES = [[], ["ISO 14067"], ["ISO 14064-1", "中国氢能联盟低碳清洁氢认证"]]


def build_platform(session: Session, rng: random.Random) -> tuple[list[Organisation], list[Alliance]]:
    alliances = [Alliance(code=code, name=code) for code in ("CN100", "SHGSC", "H2CN")]
    session.add_all(alliances)
    session.flush()
    parties = []
    for number in range(7):
        admission = rng.choice(["admitted", "admitted", "admitted", "pending", "suspended"])
        kind = rng.choice(["vendor", "buyer", "both"])
        party = make_party(
            session, name=f"Org {number}", kind=kind, role="buyer" if kind == "buyer" else "vendor",
            admission=admission,
        )  # fmt: skip
        parties.append(party.organisation)
        for alliance in rng.sample(alliances, rng.randint(0, 2)):
            status = rng.choice(["active", "active", "revoked"])
            session.add(Membership(organisation_id=party.id, alliance_id=alliance.id, status=status))
    session.flush()
    for number in range(90):
        value, unit = rng.choice(FOOTPRINTS)
        alliance = rng.choice(alliances)
        make_offer(
            session,
            owner=rng.choice(parties),
            external_id=f"o-{number}",
            category=rng.choice(CATEGORIES),
            kind=rng.choice(KINDS),
            region=rng.choice(REGIONS),
            pcf_value=value,
            pcf_unit=unit,
            pcf_verified=rng.random() < 0.6,
            certifications=rng.choice(CERTIFICATES),
            status=rng.choice(["published", "published", "published", "draft", "archived"]),
            visibility=rng.choice(["public", "public", "alliance"]),
            visibility_alliance_id=alliance.id,
        )
    session.commit()
    return parties, alliances


def random_criteria(rng: random.Random) -> Criteria:
    max_pcf, max_pcf_unit = rng.choice(CEILINGS)
    return Criteria(
        max_pcf=max_pcf,
        max_pcf_unit=max_pcf_unit,
        require_verified=rng.random() < 0.4,
        alliance_only=rng.choice([None, None, "CN100", "SHGSC"]),
        categories=frozenset(rng.sample(CATEGORIES, rng.choice([0, 0, 1, 2]))),
        kinds=frozenset(rng.sample(KINDS, rng.choice([0, 0, 1]))),
        regions=frozenset(r for r in rng.sample(REGIONS, rng.choice([0, 0, 1, 2])) if r),
        certification=rng.choice([None, None, "iso 14067", "氢能"]),
    )


def assert_same_as_database(
    session: Session, table: OfferTable, organisations: list[Organisation], rng: random.Random, rounds: int
) -> None:
    for _ in range(rounds):
        criteria = random_criteria(rng)
        organisation = rng.choice([None, *[o.id for o in organisations]])
        viewer = (
            EVERYONE
            if organisation is None
            else party_service.viewer_for(session=session, organisation_id=organisation, role="buyer")
        )
        eligible_rows, failed_rows = table.partition(criteria, viewer=viewer)
        facts = repository.visible_offer_facts(session, viewer=viewer)
        want_eligible = {f.id for f in facts if judge(f, criteria).eligible}
        want_failed = {f.id for f in facts} - want_eligible
        ids = table.column("id")
        assert set(ids[eligible_rows].tolist()) == want_eligible, (criteria, viewer)
        assert set(ids[failed_rows].tolist()) == want_failed, (criteria, viewer)
        by_id = {f.id: f for f in facts}
        for row in [*eligible_rows.tolist(), *failed_rows.tolist()][:20]:
            assert table.facts(row) == by_id[int(ids[row])]  # what scoring and explanations read


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_table_selects_what_the_database_and_judge_select(session: Session, seed: int) -> None:
    rng = random.Random(seed)
    organisations, _ = build_platform(session, rng)
    table = OfferTable()
    table.sync(session)
    assert_same_as_database(session, table, organisations, rng, rounds=60)


def test_the_table_follows_the_database_after_a_sync(session: Session) -> None:
    rng = random.Random(7)
    organisations, alliances = build_platform(session, rng)
    table = OfferTable()
    table.sync(session)
    offers = list(session.scalars(select(Offer)))
    for offer in rng.sample(offers, 30):
        change = rng.choice(["status", "footprint", "visibility", "category"])
        if change == "status":
            offer.status = rng.choice(["published", "archived", "draft"])
        elif change == "footprint":
            pcf = stored_footprint(*rng.choice(FOOTPRINTS))
            offer.pcf_value, offer.pcf_unit = pcf.value, pcf.unit
            offer.pcf_verified = not offer.pcf_verified
        elif change == "visibility":
            offer.visibility = "alliance" if offer.visibility == "public" else "public"
            offer.visibility_alliance_id = rng.choice(alliances).id
        else:
            offer.category = rng.choice(CATEGORIES)
    for organisation in rng.sample(organisations, 3):
        organisation.admission_status = (
            "suspended" if organisation.admission_status == "admitted" else "admitted"
        )
    for membership in session.scalars(select(Membership)):
        if rng.random() < 0.4:
            membership.status = "revoked" if membership.status == "active" else "active"
    members = set(
        session.scalars(select(Membership.organisation_id).where(Membership.alliance_id == alliances[2].id))
    )
    newcomer = next(o for o in organisations if o.id not in members)
    session.add(Membership(organisation_id=newcomer.id, alliance_id=alliances[2].id, status="active"))
    session.commit()
    table.sync(session)
    assert_same_as_database(session, table, organisations, rng, rounds=60)


def test_a_footprint_equal_to_the_ceiling_in_another_unit_passes_and_a_hair_above_fails(
    session: Session,
) -> None:
    vendor = make_party(session, name="Rebar Co", kind="vendor", role="vendor").organisation
    at = make_offer(session, owner=vendor, external_id="at", pcf_value=0.62, pcf_unit="tCO2e/t")
    above = make_offer(session, owner=vendor, external_id="above", pcf_value=0.6200000001, pcf_unit="tCO2e/t")
    session.commit()
    table = OfferTable()
    table.sync(session)
    eligible, failed = table.partition(Criteria(max_pcf=620, max_pcf_unit="kgCO2e/t"), viewer=EVERYONE)
    ids = table.column("id")
    assert at.id in ids[eligible].tolist() and above.id in ids[failed].tolist()


def test_a_deleted_offer_is_forgotten_and_refresh_reads_what_changed_unseen(session: Session) -> None:
    vendor = make_party(session, name="Rebar Co", kind="vendor", role="vendor").organisation
    kept = make_offer(session, owner=vendor, external_id="kept")
    gone = make_offer(session, owner=vendor, external_id="gone")
    session.commit()
    table = OfferTable()
    table.sync(session)
    session.delete(gone)
    session.commit()
    table.refresh(session, [gone.id, kept.id])
    eligible, _ = table.partition(Criteria(), viewer=EVERYONE)
    assert table.column("id")[eligible].tolist() == [kept.id]


def test_stale_names_the_offers_changed_or_deleted_since_the_last_sync(session: Session) -> None:
    vendor = make_party(session, name="Rebar Co", kind="vendor", role="vendor").organisation
    same, edited, gone = (make_offer(session, owner=vendor, external_id=name) for name in ("a", "b", "c"))
    session.commit()
    table = OfferTable()
    table.sync(session)
    edited.title = "Low-carbon rebar, new grade"
    session.delete(gone)
    session.commit()
    asked = [same.id, edited.id, gone.id]
    assert table.stale(asked, versions=versions(session, asked)) == [edited.id, gone.id]
    table.refresh(session, [edited.id, gone.id])
    assert table.stale([same.id, edited.id], versions=versions(session, [same.id, edited.id])) == []


def versions(session: Session, ids: list[int]) -> dict[int, int]:
    """The versions the database holds, as matching reads them with the offers it shows."""
    return {identifier: offer.version for identifier, offer in offers_by_id(session, ids).items()}
