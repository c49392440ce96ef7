"""Builders for test data: organisations with keys, alliances, offers and needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.orm import Session

from matchmaker.auth import Role
from matchmaker.db.models import Alliance, Membership, Need, Offer, Organisation
from matchmaker.footprints import stored_footprint
from matchmaker.matching.indexer import Catalogue, Document
from matchmaker.parties.service import issue_key
from matchmaker.regions import code_of
from matchmaker.verification import footprint_validity


@dataclass
class Party:
    organisation: Organisation
    key: str

    @property
    def id(self) -> int:
        return self.organisation.id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass
class World:
    """A small platform: the operator, two vendors (one a CN100 member), two buyers, a pending vendor."""

    operator: Party
    member_vendor: Party
    other_vendor: Party
    pending_vendor: Party
    buyer: Party
    other_buyer: Party
    alliance: Alliance
    offers: dict[str, Offer] = field(default_factory=dict)
    needs: dict[str, Need] = field(default_factory=dict)


def make_party(session: Session, *, name: str, kind: str, role: Role, admission: str = "admitted") -> Party:
    organisation = Organisation(name=name, kind=kind, admission_status=admission, region="CN-SH")
    session.add(organisation)
    session.flush()
    _, key = issue_key(session=session, organisation=organisation, role=role)
    return Party(organisation=organisation, key=key)


def make_offer(session: Session, *, owner: Organisation, external_id: str, **values: Any) -> Offer:
    pcf = stored_footprint(values.pop("pcf_value", 0.5), values.pop("pcf_unit", "tCO2e/t"))
    defaults: dict[str, Any] = {
        "title": f"Offer {external_id}",
        "description": "low-carbon steel",
        "language": "en",
        "kind": "product",
        "category": "steel",
        "region": "CN-JS",
        "status": "published",
        "visibility": "public",
        "pcf_verified": True,
        "standard": "ISO 14067",
        "certifications": [],
        "attributes": {},
    }
    if "region" in values:  # stored by its code, as the services store it
        values["region"] = code_of(values["region"])
    offer = Offer(
        owner_id=owner.id,
        external_id=external_id,
        pcf_value=pcf.value,
        pcf_unit=pcf.unit,
        pcf_family=pcf.family,
        pcf_canonical=pcf.canonical,
        declared_unit=pcf.unit.split("/")[1] if pcf.unit else None,
        # As the service dates a footprint stated now (`verification.footprint_validity`).
        footprint_valid_until=footprint_validity(None) if pcf.value is not None else None,
        **{**defaults, **values},
    )
    session.add(offer)
    session.flush()
    return offer


def make_need(session: Session, *, owner: Organisation, external_id: str, **values: Any) -> Need:
    ceiling = stored_footprint(values.pop("max_pcf", None), values.pop("max_pcf_unit", None))
    defaults: dict[str, Any] = {
        "text": f"Need {external_id}: low-carbon rebar",
        "language": "en",
        "category": "steel",
        "require_verified": False,
        "status": "open",
        "visibility": "vendors",
    }
    if "region_preference" in values:
        values["region_preference"] = code_of(values["region_preference"])
    need = Need(
        owner_id=owner.id,
        external_id=external_id,
        max_pcf=ceiling.value,
        max_pcf_unit=ceiling.unit,
        max_pcf_family=ceiling.family,
        max_pcf_canonical=ceiling.canonical,
        **{**defaults, **values},
    )
    session.add(need)
    session.flush()
    return need


def build_world(session: Session) -> World:
    operator = make_party(session, name="Platform", kind="operator", role="operator")
    member_vendor = make_party(session, name="Member Steel", kind="vendor", role="vendor")
    other_vendor = make_party(session, name="Outsider Steel", kind="vendor", role="vendor")
    pending_vendor = make_party(
        session, name="Pending Steel", kind="vendor", role="vendor", admission="pending"
    )
    buyer = make_party(session, name="Rail Buyer", kind="buyer", role="buyer")
    other_buyer = make_party(session, name="Ship Buyer", kind="buyer", role="buyer")
    alliance = Alliance(code="CN100", name="CN100", admin_organisation_id=None)
    session.add(alliance)
    session.flush()
    session.add(Membership(organisation_id=member_vendor.id, alliance_id=alliance.id, status="active"))
    session.add(Membership(organisation_id=buyer.id, alliance_id=alliance.id, status="active"))
    world = World(
        operator=operator,
        member_vendor=member_vendor,
        other_vendor=other_vendor,
        pending_vendor=pending_vendor,
        buyer=buyer,
        other_buyer=other_buyer,
        alliance=alliance,
    )
    world.offers["public"] = make_offer(session, owner=member_vendor.organisation, external_id="m-public")
    world.offers["draft"] = make_offer(
        session, owner=member_vendor.organisation, external_id="m-draft", status="draft"
    )
    world.offers["alliance_only"] = make_offer(
        session,
        owner=member_vendor.organisation,
        external_id="m-cn100",
        visibility="alliance",
        visibility_alliance_id=alliance.id,
    )
    world.offers["other_public"] = make_offer(
        session, owner=other_vendor.organisation, external_id="o-public"
    )
    world.offers["pending_public"] = make_offer(
        session, owner=pending_vendor.organisation, external_id="p-public"
    )
    world.needs["shared"] = make_need(session, owner=buyer.organisation, external_id="b-shared")
    world.needs["private"] = make_need(
        session, owner=buyer.organisation, external_id="b-private", visibility="private"
    )
    world.needs["other_shared"] = make_need(session, owner=other_buyer.organisation, external_id="s-shared")
    return world


def crash_next_put(catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch, *, keep: int) -> None:
    """The catalogue's next `put` embeds its first `keep` documents and then dies; later ones work."""
    put = catalogue.put

    def crash(documents: list[Document], *args: object, **kwargs: object) -> None:
        monkeypatch.setattr(catalogue, "put", put)
        put(documents[:keep])
        raise RuntimeError("killed while embedding")

    monkeypatch.setattr(catalogue, "put", crash)
