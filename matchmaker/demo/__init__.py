"""The demo dataset: invented suppliers, offers and needs, loaded by `matchmaker demo`."""

from __future__ import annotations

import json
from importlib import resources

from rich.console import Console
from sqlalchemy.orm import Session

from matchmaker.alliances import service as alliance_service
from matchmaker.auth import Principal, Role
from matchmaker.imports import service as import_service
from matchmaker.imports.readers import read_jsonl
from matchmaker.parties import service as party_service

OPERATOR_NAME = "Matchmaker Platform Operator"
ALLIANCE_NAMES = {
    "CN100": "CN100 chain-leader alliance (链主企业联盟)",
    "YRD-LCA": "Yangtze River Delta Low-Carbon Alliance (长三角低碳联盟)",
}


def demo_file(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def load_demo(*, session: Session, progress_console: Console | None = None) -> dict[str, tuple[str, str]]:
    """Import the demo offers and needs (idempotent) and issue fresh operator, buyer and vendor keys."""
    operator, _ = party_service.ensure(
        session=session, name=OPERATOR_NAME, kind="operator", region="CN-SH", admitted=True
    )
    principal = Principal(organisation_id=operator.id, role="operator", key_id=0)
    offers_text, needs_text = demo_file("offers.jsonl"), demo_file("needs.jsonl")
    for kind, text in (("offers", offers_text), ("needs", needs_text)):
        importer = import_service.import_offers if kind == "offers" else import_service.import_needs
        report = importer(session=session, principal=principal, records=read_jsonl(text))
        if progress_console:
            progress_console.print(
                f"demo {kind}: {report.created} created, {report.updated} updated, "
                f"{report.unchanged} unchanged, {report.failed} failed"
            )
    for code, name in ALLIANCE_NAMES.items():
        alliance = alliance_service.ensure(session=session, code=code)
        alliance.name = name
    first_offer = json.loads(offers_text.splitlines()[0])
    first_need = json.loads(needs_text.splitlines()[0])
    keys: dict[str, tuple[str, str]] = {}
    roles: tuple[tuple[Role, str], ...] = (
        ("operator", OPERATOR_NAME),
        ("buyer", first_need["buyer"]),
        ("vendor", first_offer["supplier"]),
    )
    for role, name in roles:
        organisation, _ = party_service.ensure(
            session=session, name=name, kind=role, region=None, admitted=True
        )
        _, plaintext = party_service.issue_key(
            session=session, organisation=organisation, role=role, label="demo"
        )
        keys[role] = (name, plaintext)
    session.flush()
    return keys
