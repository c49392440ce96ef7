"""Who may see what: the rules' three forms agree, and no endpoint or page shows what its caller may not see.

The expectations here are written plainly, apart from `matchmaker.visibility`: an offer is seen by the
operator, by its owner in any state, and by anyone else when it is published by an admitted supplier and
public or restricted to an alliance the viewer is an active member of; a need by the operator, its owner,
and admitted vendors when it is open and shared with vendors; the matches of either by its owner and the
operator.

Every offer and need carries a marker word in its text. A response may carry the marker of an object only
if its caller may see that object: the API's JSON and the pages' HTML are searched for every other marker.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.auth import Role
from matchmaker.db.models import Alliance, Membership, Need, Offer, Organisation
from matchmaker.matching.eligibility import Criteria
from matchmaker.matching.offer_table import OfferTable
from matchmaker.needs import visibility as need_visibility
from matchmaker.offers import visibility as offer_visibility
from matchmaker.pact.service import create_client
from matchmaker.parties import service as party_service
from matchmaker.visibility import EVERYONE, Viewer, holds
from tests.factories import Party, World, build_world, make_need, make_offer, make_party
from tests.web_support import sign_in

# --- the rules, written plainly --------------------------------------------------------------------------


def offer_seen(viewer: Viewer, offer: Offer) -> bool:
    if viewer.role == "operator" or offer.owner_id == viewer.organisation_id:
        return True
    return offer_matchable_by(viewer, offer)


def offer_matchable_by(viewer: Viewer, offer: Offer) -> bool:
    """What matching may rank for the viewer: published by an admitted supplier, and shared with it."""
    if offer.status != "published" or offer.owner.admission_status != "admitted":
        return False
    return (
        viewer.role == "operator"
        or offer.owner_id == viewer.organisation_id
        or offer.visibility == "public"
        or offer.visibility_alliance_id in viewer.alliance_ids
    )


def need_seen(viewer: Viewer, need: Need) -> bool:
    if viewer.role == "operator" or need.owner_id == viewer.organisation_id:
        return True
    return (
        viewer.role == "vendor" and viewer.admitted and need.status == "open" and need.visibility == "vendors"
    )


def matches_seen(viewer: Viewer, subject: Offer | Need) -> bool:
    return viewer.role == "operator" or subject.owner_id == viewer.organisation_id


# --- the three forms agree, on random platforms -----------------------------------------------------------

ADMISSIONS = ["admitted", "admitted", "pending", "suspended"]
KINDS: list[tuple[str, Role]] = [
    ("vendor", "vendor"),
    ("buyer", "buyer"),
    ("both", "vendor"),
    ("both", "buyer"),
]


def random_platform(session: Session, rng: random.Random) -> tuple[list[Viewer], list[Offer], list[Need]]:
    alliances = [Alliance(code=f"A{i}", name=f"Alliance {i}") for i in range(3)]
    session.add_all(alliances)
    session.flush()
    parties: list[tuple[Party, Role]] = []
    for i in range(8):
        kind, role = rng.choice(KINDS)
        admission = rng.choice(ADMISSIONS)
        party = make_party(session, name=f"Org {i}", kind=kind, role=role, admission=admission)
        parties.append((party, role))
        for alliance in rng.sample(alliances, rng.randint(0, 2)):
            status = rng.choice(["active", "active", "revoked"])
            session.add(
                Membership(organisation_id=party.organisation.id, alliance_id=alliance.id, status=status)
            )
    offers: list[Offer] = []
    needs: list[Need] = []
    for number in range(80):
        owner = rng.choice(parties)[0].organisation
        visibility = rng.choice(["public", "alliance", "alliance"])
        offers.append(
            make_offer(
                session,
                owner=owner,
                external_id=f"o{number}",
                status=rng.choice(["draft", "published", "published", "archived"]),
                visibility=visibility,
                visibility_alliance_id=rng.choice(alliances).id if visibility == "alliance" else None,
            )
        )
        needs.append(
            make_need(
                session,
                owner=owner,
                external_id=f"n{number}",
                status=rng.choice(["open", "open", "closed"]),
                visibility=rng.choice(["vendors", "private"]),
            )
        )
    session.commit()
    viewers = [EVERYONE] + [
        party_service.viewer_for(session=session, organisation_id=party.organisation.id, role=role)
        for party, role in parties
    ]
    return viewers, offers, needs


@pytest.mark.parametrize("seed", range(3))
def test_sql_object_and_table_forms_of_the_rules_agree(session: Session, seed: int) -> None:
    viewers, offers, needs = random_platform(session, random.Random(seed))
    table = OfferTable()
    table.sync(session)
    ids = table.column("id")
    for viewer in viewers:
        want_seen = {offer.id for offer in offers if offer_seen(viewer, offer)}
        assert set(session.scalars(select(Offer.id).where(offer_visibility.seen_where(viewer)))) == want_seen
        assert {offer.id for offer in offers if offer_visibility.can_see(viewer, offer)} == want_seen

        want_matched = {offer.id for offer in offers if offer_matchable_by(viewer, offer)}
        sql = set(session.scalars(select(Offer.id).where(offer_visibility.matched_where(viewer))))
        assert sql == want_matched, viewer
        assert {offer.id for offer in offers if offer_visibility.can_match(viewer, offer)} == want_matched
        everything_passes, nothing_fails = table.partition(Criteria(), viewer=viewer)
        assert set(ids[everything_passes].tolist()) == want_matched and not len(nothing_fails), viewer

        want_needs = {need.id for need in needs if need_seen(viewer, need)}
        assert set(session.scalars(select(Need.id).where(need_visibility.seen_where(viewer)))) == want_needs
        assert {need.id for need in needs if need_visibility.can_see(viewer, need)} == want_needs
        assert {need.id for need in needs if holds(need_visibility.SEEN, viewer, need)} == want_needs


# --- every endpoint and page that shows offers or needs ---------------------------------------------------

SEARCH_TEXT = "low-carbon steel rebar"


@dataclass
class Platform:
    world: World
    suspended_vendor: Party
    offers: dict[str, Offer]
    needs: dict[str, Need]
    parties: dict[str, Party]

    def marker(self, thing: Offer | Need) -> str:
        return f"zq{thing.external_id.replace('-', '')}zq"


@pytest.fixture
def platform(session: Session) -> Platform:
    """The shared world, plus a suspended supplier, an archived offer and a closed need; every object with
    a marker word in its text, and texts that match one another (so matches and searches show them)."""
    world = build_world(session)
    suspended = make_party(
        session, name="Suspended Steel", kind="vendor", role="vendor", admission="admitted"
    )
    offers = dict(world.offers)
    offers["suspended_public"] = make_offer(session, owner=suspended.organisation, external_id="x-public")
    offers["archived"] = make_offer(
        session, owner=world.member_vendor.organisation, external_id="m-archived", status="archived"
    )
    needs = dict(world.needs)
    needs["closed"] = make_need(
        session, owner=world.buyer.organisation, external_id="b-closed", status="closed"
    )
    session.flush()
    platform = Platform(
        world=world,
        suspended_vendor=suspended,
        offers=offers,
        needs=needs,
        parties={
            "operator": world.operator,
            "member_vendor": world.member_vendor,
            "other_vendor": world.other_vendor,
            "pending_vendor": world.pending_vendor,
            "buyer": world.buyer,
            "other_buyer": world.other_buyer,
        },
    )
    for offer in offers.values():
        offer.title = f"Low-carbon steel rebar {platform.marker(offer)}"
        offer.description = "low-carbon steel rebar, EAF route"
    for need in needs.values():
        need.text = f"Low-carbon steel rebar for a rail project {platform.marker(need)}"
    session.flush()
    # Suspended after its offer is listed, as happens in life.
    suspended.organisation.admission_status = "suspended"
    session.commit()
    return platform


def _viewer(session: Session, party: Party) -> Viewer:
    key_role: Role = {"operator": "operator", "vendor": "vendor", "buyer": "buyer"}[party.organisation.kind]
    return party_service.viewer_for(session=session, organisation_id=party.organisation.id, role=key_role)


def _leaks(platform: Platform, viewer: Viewer, text: str) -> list[str]:
    """Markers in a response of the objects the viewer may not see."""
    hidden = [o for o in platform.offers.values() if not offer_seen(viewer, o)]
    hidden += [n for n in platform.needs.values() if not need_seen(viewer, n)]
    return [platform.marker(thing) for thing in hidden if platform.marker(thing) in text]


def _ids(items: list[dict[str, object]], key: str = "id") -> set[int]:
    return {int(str(item[key])) for item in items}


VIEWERS = ["operator", "member_vendor", "other_vendor", "pending_vendor", "buyer", "other_buyer"]


@pytest.mark.parametrize("who", VIEWERS)
def test_no_api_response_shows_what_its_caller_may_not_see(
    client: TestClient, session: Session, platform: Platform, who: str
) -> None:
    party = platform.parties[who]
    viewer = _viewer(session, party)
    headers = {"Authorization": f"Bearer {party.key}"}
    offers, needs = platform.offers.values(), platform.needs.values()
    checked: list[str] = []

    def get(path: str, **kwargs: object) -> dict[str, object]:
        response = client.get(path, headers=headers, **kwargs)  # type: ignore[arg-type]
        assert response.status_code < 500, (path, response.text)
        assert not _leaks(platform, viewer, response.text), (path, _leaks(platform, viewer, response.text))
        checked.append(path)
        return {"status": response.status_code, "body": response.json() if response.content else None}

    listed = get("/offers", params={"per_page": 100})["body"]
    assert isinstance(listed, dict)
    assert _ids(listed["items"]) == {o.id for o in offers if offer_seen(viewer, o)}
    for offer in offers:
        assert get(f"/offers/{offer.id}")["status"] == (200 if offer_seen(viewer, offer) else 404)
        answer = get(f"/offers/{offer.id}/matches")
        assert answer["status"] == (200 if matches_seen(viewer, offer) else 404), offer.external_id
        if answer["status"] == 200:
            body = answer["body"]
            assert isinstance(body, dict)
            fitting = _ids([match["need"] for match in body["matches"]])
            assert fitting <= {n.id for n in needs if need_seen(viewer, n)}
            # How many open needs it weighed is itself something the caller may see.
            assert body["candidates"] == sum(
                1 for n in needs if n.status == "open" and need_seen(viewer, n)
            ), (offer.external_id, body["candidates"])

    listed = get("/needs", params={"per_page": 100})["body"]
    assert isinstance(listed, dict)
    assert _ids(listed["items"]) == {n.id for n in needs if need_seen(viewer, n)}
    for need in needs:
        assert get(f"/needs/{need.id}")["status"] == (200 if need_seen(viewer, need) else 404)
        answer = get(f"/needs/{need.id}/matches")
        assert answer["status"] == (200 if matches_seen(viewer, need) else 404), need.external_id
        if answer["status"] == 200:
            body = answer["body"]
            assert isinstance(body, dict)
            # Ranked as the need's buyer sees offers, whoever asks.
            buyer = party_service.viewer_for(session=session, organisation_id=need.owner_id, role="buyer")
            shown = _ids([m["offer"] for m in body["matches"]]) | _ids(
                [m["offer"] for m in body["near_misses"]]
            )
            assert shown and shown <= {o.id for o in offers if offer_matchable_by(buyer, o)}

    response = client.post("/search", headers=headers, json={"text": SEARCH_TEXT, "limit": 100})
    assert response.status_code == 200 and not _leaks(platform, viewer, response.text)
    body = response.json()
    shown = _ids([m["offer"] for m in body["matches"]]) | _ids([m["offer"] for m in body["near_misses"]])
    assert shown == {o.id for o in offers if offer_matchable_by(viewer, o)}

    response = client.post("/needs/search", headers=headers, json={"text": SEARCH_TEXT, "limit": 50})
    assert response.status_code == 200 and not _leaks(platform, viewer, response.text)
    found = _ids([item["need"] for item in response.json()["matches"]])
    assert found == {n.id for n in needs if n.status == "open" and need_seen(viewer, n)}

    # The PACT host lists the footprints of the offers matching may rank for the client's organisation.
    pact = create_client(session=session, organisation=party.organisation, label="visibility")
    session.commit()
    token = client.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(pact.client.client_id, pact.secret),
    ).json()["access_token"]
    response = client.get("/3/footprints", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and not _leaks(platform, viewer, response.text)
    names = {footprint["productNameCompany"] for footprint in response.json()["data"]}
    assert names == {o.title for o in offers if offer_matchable_by(viewer, o)}
    assert checked


PAGES = {
    "vendor": ["/ui/offers", "/ui/offers/{offer}", "/ui/find-needs?text=" + SEARCH_TEXT],
    "buyer": ["/ui/needs", "/ui/needs/{need}", "/ui/search?text=" + SEARCH_TEXT],
}


@pytest.mark.parametrize("who", VIEWERS)
def test_no_page_shows_what_its_reader_may_not_see(
    client: TestClient, session: Session, platform: Platform, who: str
) -> None:
    party = platform.parties[who]
    viewer = _viewer(session, party)
    browser = TestClient(client.app)
    assert sign_in(browser, party.key).status_code == 303
    templates = list(itertools.chain.from_iterable(PAGES.values()))
    pages = 0
    for template in templates:
        paths = {template}
        if "{offer}" in template:
            paths = {template.format(offer=o.id) for o in platform.offers.values()}
        if "{need}" in template:
            paths = {template.format(need=n.id) for n in platform.needs.values()}
        for path in sorted(paths):
            page = browser.get(path)
            assert page.status_code in (200, 403, 404), (path, page.status_code)
            assert not _leaks(platform, viewer, page.text), (path, _leaks(platform, viewer, page.text))
            match = re.search(r"/ui/(offers|needs)/(\d+)$", path)
            if match and page.status_code != 403:  # 403: a page for another role, whatever the id
                kind, number = match.groups()
                thing = (platform.offers if kind == "offers" else platform.needs).values()
                target = next(t for t in thing if t.id == int(number))
                seen = offer_seen(viewer, target) if isinstance(target, Offer) else need_seen(viewer, target)
                assert page.status_code == (200 if seen else 404), path
            pages += 1
    assert pages > 10


def test_a_vendor_never_gets_a_buyers_shortlist(client: TestClient, platform: Platform) -> None:
    """Defect 1: any admitted vendor got GET /needs/{id}/matches of another organisation's open need,
    ranked with the buyer's visibility (alliance-only offers the vendor may not see included)."""
    need = platform.needs["shared"]
    for party in (platform.world.member_vendor, platform.world.other_vendor, platform.world.other_buyer):
        answer = client.get(f"/needs/{need.id}/matches", headers={"Authorization": f"Bearer {party.key}"})
        assert answer.status_code == 404 and answer.headers["content-type"] == "application/problem+json"
    own = client.get(
        f"/needs/{need.id}/matches", headers={"Authorization": f"Bearer {platform.world.buyer.key}"}
    )
    assert platform.offers["alliance_only"].id in {m["offer"]["id"] for m in own.json()["matches"]}


def test_a_vendor_not_yet_admitted_learns_nothing_of_open_needs(
    client: TestClient, platform: Platform
) -> None:
    """Defect 7: a pending vendor's own offer's matches told how many open needs there are."""
    own = platform.offers["pending_public"]
    answer = client.get(
        f"/offers/{own.id}/matches", headers={"Authorization": f"Bearer {platform.world.pending_vendor.key}"}
    )
    assert answer.status_code == 200
    assert answer.json()["candidates"] == 0 and answer.json()["matches"] == []


def test_organisation_kinds_cover_the_viewers(session: Session, platform: Platform) -> None:
    """The table above reaches every role and admission it claims to."""
    kinds = {(p.organisation.kind, p.organisation.admission_status) for p in platform.parties.values()}
    assert {
        ("operator", "admitted"),
        ("vendor", "admitted"),
        ("vendor", "pending"),
        ("buyer", "admitted"),
    } <= kinds
    assert (
        session.get(Organisation, platform.suspended_vendor.organisation.id).admission_status == "suspended"
    )  # type: ignore[union-attr]
