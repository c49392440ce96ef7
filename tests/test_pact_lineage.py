"""A PACT footprint id names one PCF: a changed PCF is a new footprint that names those it replaced
(`precedingPfIds`), and those stay retrievable by id as they were, `Deprecated`. Over HTTP through the app
(its own footprint cache), on the migrated database, as tests/test_pact_host.py does."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from matchmaker.db.models import Offer, Organisation
from matchmaker.footprints import stored_footprint
from matchmaker.pact import repository
from matchmaker.pact.mapping import footprints_of_offer, offer_record_of_footprint
from matchmaker.pact.model import ListResponse, SingleResponse, validate_footprint
from matchmaker.pact.service import create_client
from tests.factories import Party, World, make_offer
from tests.test_pact_host import NIL_UUID, Credentials, footprint_of, footprints, token_for
from tests.test_pact_mapping import STEEL_COIL, _offer_of_record

ISSUER = "lineage.example"


@pytest.fixture
def member(client: TestClient, session: Session, world: World) -> dict[str, str]:
    """Request headers of a PACT client of a CN100 buyer: it may see the alliance-only offer."""
    new = create_client(session=session, organisation=world.buyer.organisation, label="member")
    session.commit()
    return token_for(client, Credentials(new.client.client_id, new.secret))


@pytest.fixture
def outsider(client: TestClient, session: Session, world: World) -> dict[str, str]:
    new = create_client(session=session, organisation=world.other_buyer.organisation, label="outsider")
    session.commit()
    return token_for(client, Credentials(new.client.client_id, new.secret))


def edit(client: TestClient, party: Party, offer: Offer, **values: Any) -> None:
    response = client.patch(f"/offers/{offer.id}", json=values, headers=party.headers)
    assert response.status_code == 200, response.text


def current(client: TestClient, headers: dict[str, str], title: str) -> dict[str, Any]:
    """The footprint an offer serves now: the one Active footprint of its product."""
    (found,) = [
        fp for fp in footprints(client, headers, status="Active") if fp["productNameCompany"] == title
    ]
    return found


def of_product(client: TestClient, headers: dict[str, str], product_ids: list[str]) -> list[dict[str, Any]]:
    return [fp for fp in footprints(client, headers) if fp["productIds"] == product_ids]


def first_id(client: TestClient, world: World, external_id: str) -> str:
    """The id footprints had before they had a history, which the first PCF keeps."""
    issuer = client.app.state.settings.pact_issuer  # type: ignore[attr-defined]
    name = f"urn:pact:{issuer}:offer:{world.member_vendor.id}:{external_id}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


# --- over HTTP -------------------------------------------------------------------------------------------


def test_each_new_pcf_is_a_new_footprint_naming_those_it_replaced(
    client: TestClient, world: World, member: dict[str, str]
) -> None:
    offer = world.offers["public"]
    first = current(client, member, "Offer m-public")
    assert first["id"] == first_id(client, world, "m-public") and "precedingPfIds" not in first

    edit(client, world.member_vendor, offer, pcf_value=0.4)
    second = current(client, member, "Offer m-public")
    edit(client, world.member_vendor, offer, pcf_value=0.3)
    third = current(client, member, "Offer m-public")

    assert len({first["id"], second["id"], third["id"]}) == 3
    assert second["precedingPfIds"] == [first["id"]]
    assert third["precedingPfIds"] == [second["id"], first["id"]]  # the latest first
    assert third["pcf"]["pcfExcludingBiogenicUptake"] == "0.3" and third["status"] == "Active"
    assert footprint_of(client, member, third["id"]) == third

    # The replaced ones, by id: as they were served, each with its own value and predecessors, deprecated.
    assert footprint_of(client, member, first["id"]) == {**first, "status": "Deprecated"}
    old = footprint_of(client, member, second["id"])
    assert old == {**second, "status": "Deprecated"}
    assert old["pcf"]["pcfExcludingBiogenicUptake"] == "0.4" and old["precedingPfIds"] == [first["id"]]

    # ListFootprints SHOULD include deprecated footprints unless `status` asks for active ones only.
    listed = of_product(client, member, third["productIds"])
    assert [(fp["id"], fp["status"]) for fp in listed] == [
        (third["id"], "Active"), (second["id"], "Deprecated"), (first["id"], "Deprecated"),
    ]  # fmt: skip
    deprecated = footprints(client, member, status="Deprecated")
    assert {fp["id"] for fp in deprecated} == {first["id"], second["id"]}

    # Every footprint served validates, and so do the bodies that carry them.
    response = client.get("/3/footprints", headers=member)
    ListResponse.model_validate(response.json())
    for footprint in response.json()["data"]:
        validate_footprint(footprint)
        single = client.get(f"/3/footprints/{footprint['id']}", headers=member)
        assert SingleResponse.model_validate(single.json()).data.id == footprint["id"]


def test_a_change_of_verification_status_or_title_alone_keeps_the_footprint(
    client: TestClient, world: World, member: dict[str, str]
) -> None:
    offer = world.offers["public"]
    first = current(client, member, "Offer m-public")
    edit(client, world.operator, offer, pcf_verified=True, pcf_valid_until="2030-06-30")
    edit(client, world.operator, offer, status="archived")
    assert of_product(client, member, first["productIds"]) == []  # an archived offer serves nothing
    edit(client, world.operator, offer, status="published")
    edit(client, world.member_vendor, offer, title="Rebar, renamed")
    after = current(client, member, "Rebar, renamed")
    assert after["id"] == first["id"] and "precedingPfIds" not in after
    assert of_product(client, member, first["productIds"]) == [after]


def test_an_unknown_id_is_404(client: TestClient, world: World, member: dict[str, str]) -> None:
    offer = world.offers["public"]
    edit(client, world.member_vendor, offer, pcf_value=0.4)
    issuer = client.app.state.settings.pact_issuer  # type: ignore[attr-defined]
    # An id a later version would take is no footprint until that version states a PCF.
    future = uuid.uuid5(
        uuid.NAMESPACE_URL, f"urn:pact:{issuer}:offer:{world.member_vendor.id}:m-public:pcf:{offer.id}:99"
    )
    for footprint_id in (NIL_UUID, str(uuid.uuid4()), str(future)):
        response = client.get(f"/3/footprints/{footprint_id}", headers=member)
        assert response.status_code == 404 and response.json()["code"] == "NotFound"


def test_replaced_footprints_are_refused_as_the_current_one_is(
    client: TestClient, world: World, member: dict[str, str], outsider: dict[str, str]
) -> None:
    """Who may not see the offer gets none of its footprints: the answer for an old id is the current
    id's (PACT v3's AccessDenied for a footprint not shared with the caller); none once unpublished."""
    offer = world.offers["alliance_only"]
    first = current(client, member, "Offer m-cn100")
    edit(client, world.member_vendor, offer, pcf_value=0.45)
    now = current(client, member, "Offer m-cn100")
    assert footprint_of(client, member, first["id"])["status"] == "Deprecated"
    for footprint_id in (first["id"], now["id"]):
        denied = client.get(f"/3/footprints/{footprint_id}", headers=outsider)
        assert denied.status_code == 403 and denied.json() == {
            "code": "AccessDenied", "message": "this footprint is not shared with your organisation",
        }  # fmt: skip
    assert not {first["id"], now["id"]} & {fp["id"] for fp in footprints(client, outsider)}

    edit(client, world.member_vendor, offer, status="archived")
    for headers in (member, outsider):
        for footprint_id in (first["id"], now["id"]):
            gone = client.get(f"/3/footprints/{footprint_id}", headers=headers)
            assert gone.status_code == 404 and gone.json()["code"] == "NotFound"


@pytest.fixture
def history_reads(connection: Connection) -> Iterator[list[int]]:
    """For each query of footprint histories the app makes, how many offers it asks for."""
    reads: list[int] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "FROM footprint_versions" in statement and statement.lstrip().upper().startswith("SELECT"):
            reads.append(len(parameters))

    event.listen(connection, "before_cursor_execute", note)
    yield reads
    event.remove(connection, "before_cursor_execute", note)


def test_histories_are_read_once_for_the_offers_the_cache_lacks(
    client: TestClient, world: World, member: dict[str, str], history_reads: list[int]
) -> None:
    cache = client.app.state.pact_footprints  # type: ignore[attr-defined]
    cache.clear()
    assert len(footprints(client, member)) == 3
    assert history_reads == [3]  # one query for the three offers
    history_reads.clear()
    footprints(client, member)
    footprint_of(client, member, current(client, member, "Offer m-public")["id"])
    assert history_reads == []  # all cached: none
    edit(client, world.member_vendor, world.offers["public"], pcf_value=0.4)
    history_reads.clear()
    assert len(footprints(client, member)) == 4  # the new one and the one it replaced
    assert history_reads == [1]  # the changed offer's only: its key changed with its version


# --- the mapping, on histories written by the ORM ---------------------------------------------------------


def restate(session: Session, offer: Offer, value: float, unit: str, **values: Any) -> None:
    stated = stored_footprint(value, unit)
    offer.pcf_value, offer.pcf_unit = stated.value, stated.unit
    offer.pcf_family, offer.pcf_canonical = stated.family, stated.canonical
    for name, value_ in values.items():
        setattr(offer, name, value_)
    session.flush()


def mapped(session: Session, offer: Offer) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    history = repository.footprint_histories(session, [offer.id])[offer.id]
    served = footprints_of_offer(offer, issuer=ISSUER, history=history)
    for footprint in served.all():
        validate_footprint(footprint)
    return served.current, list(served.replaced)


@pytest.fixture
def vendor(session: Session) -> Organisation:
    organisation = Organisation(name="Lineage Steel", kind="vendor", admission_status="admitted")
    session.add(organisation)
    session.flush()
    return organisation


def test_a_pulled_footprint_changed_here_twice(session: Session, vendor: Organisation) -> None:
    pulled = offer_record_of_footprint(copy.deepcopy(STEEL_COIL)).record
    offer = _offer_of_record(session, vendor, pulled)
    unit = offer.pcf_unit
    assert unit is not None
    restate(session, offer, 0.7, unit)
    described, _ = mapped(session, offer)
    restate(session, offer, 0.6, unit)
    now, replaced = mapped(session, offer)
    assert described is not None and now is not None
    urn = f"urn:pact:{ISSUER}:offer:{vendor.id}:{offer.external_id}"
    # The first PCF described here has the id it had before histories, and succeeds the pulled one.
    assert described["id"] == str(uuid.uuid5(uuid.NAMESPACE_URL, urn))
    assert described["precedingPfIds"] == [STEEL_COIL["id"]]
    assert now["precedingPfIds"] == [described["id"], STEEL_COIL["id"]]
    # The pulled footprint is served as it came, deprecated.
    assert replaced == [{**described, "status": "Deprecated"}, {**STEEL_COIL, "status": "Deprecated"}]

    # Back to the pulled value: the pulled footprint again, under its own id, the described ones replaced.
    restate(session, offer, float(pulled["pcf_value"]), unit)
    back, replaced = mapped(session, offer)
    assert back is not None and back["id"] == STEEL_COIL["id"] and back["status"] == "Active"
    assert [fp["id"] for fp in replaced] == [now["id"], described["id"]]


def test_a_pcf_never_published_was_never_shared(session: Session, vendor: Organisation) -> None:
    offer = make_offer(session, owner=vendor, external_id="d-1", status="draft", pcf_value=0.9)
    restate(session, offer, 0.8, "tCO2e/t")
    restate(session, offer, 0.7, "tCO2e/t", status="published")
    now, replaced = mapped(session, offer)
    assert now is not None and replaced == [] and "precedingPfIds" not in now
    urn = f"urn:pact:{ISSUER}:offer:{vendor.id}:d-1"
    assert now["id"] == str(uuid.uuid5(uuid.NAMESPACE_URL, urn))


def test_the_same_pcf_in_another_unit_is_the_same_footprint(session: Session, vendor: Organisation) -> None:
    offer = make_offer(session, owner=vendor, external_id="u-1", pcf_value=0.62, pcf_unit="tCO2e/t")
    before, _ = mapped(session, offer)
    restate(session, offer, 620, "kgCO2e/t")
    after, replaced = mapped(session, offer)
    assert before is not None and after is not None
    assert after["id"] == before["id"] and replaced == []
    restate(session, offer, 0.63, "tCO2e/t")
    changed, replaced = mapped(session, offer)
    assert changed is not None and changed["precedingPfIds"] == [before["id"]]
    assert [fp["pcf"]["pcfExcludingBiogenicUptake"] for fp in replaced] == ["0.62"]
