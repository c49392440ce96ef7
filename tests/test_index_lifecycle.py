"""The vector indexes over the life of the service: save, restart, crash, model change, other replicas.

The database is the source of truth. These tests start real apps (and engines) on a data directory under
tmp_path over the per-test rolled-back database, change the database behind their backs, and check that the
next start or the next request shows exactly what the database holds: nothing missing, nothing stale, no
ghost of a deleted or archived offer.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.app import create_app
from matchmaker.config import Settings
from matchmaker.db.models import Membership, Need, Offer, Organisation
from matchmaker.matching.engine import Engine, build_engine
from matchmaker.matching.indexer import Catalogue, Document, matchable_documents
from matchmaker.matching.lifecycle import IndexSaver, start_engine
from matchmaker.vectors import index as index_module
from matchmaker.vectors.index import IndexMismatch
from tests.factories import World, crash_next_put, make_need, make_offer

# Offers on distinct topics, so that each one's own query finds it first and no other query finds it.
REBAR: dict[str, Any] = {
    "external_id": "rebar",
    "title": "Scrap-based EAF rebar HRB400E",
    "description": "Reinforcing bar from 100% scrap melted in an electric arc furnace.",
    "kind": "product",
    "category": "steel",
    "region": "Jiangsu",
    "pcf_value": 0.62,
    "pcf_unit": "tCO2e/t",
    "pcf_verified": True,
    "status": "published",
}
COIL: dict[str, Any] = {
    **REBAR,
    "external_id": "coil",
    "title": "Hot-rolled steel coil from a hydrogen DRI route",
    "description": "Hot-rolled coil, 2-12 mm, from hydrogen direct reduced iron and an electric arc furnace.",
}
CEMENT: dict[str, Any] = {
    **REBAR,
    "external_id": "cement",
    "title": "低熟料矿渣水泥 P·S·A 42.5",
    "description": "矿渣掺量50%的低碳水泥，替代燃料煅烧熟料。",
    "category": "cement_concrete",
    "pcf_value": 0.42,
}
HYDROGEN: dict[str, Any] = {
    **REBAR,
    "external_id": "hydrogen",
    "title": "Green hydrogen from PEM electrolysis",
    "description": "Hydrogen from PEM electrolysers run on offshore wind power, delivered by tube trailer.",
    "category": "hydrogen",
    "pcf_value": 0.9,
    "pcf_unit": "kgCO2e/kg",
}
# What the coil becomes while the service is down, and the offer added meanwhile.
STORAGE_TEXT = {
    "title": "Grid-scale LFP battery energy storage system",
    "description": "Containerised lithium iron phosphate battery storage, 5 MWh per unit, for peak shaving.",
    "category": "energy_storage",
}
METHANOL_TEXT = {
    "title": "生物甲醇（林业废弃物气化制取）",
    "description": "以林业剩余物气化合成的生物甲醇，可用于船用燃料。",
    "category": "green_fuels",
}
QUERIES = {
    "rebar": "电炉短流程螺纹钢",
    "coil": "hot-rolled steel coil",
    "cement": "低碳矿渣水泥",
    "hydrogen": "PEM电解水制绿氢",
    "storage": "磷酸铁锂储能系统",
    "methanol": "bio-methanol from biomass gasification",
}


# --- helpers ---------------------------------------------------------------------------------------------


def data_settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, environment="test", index_save_interval=0)


@contextmanager
def running_app(
    data_dir: Path, session_factory: sessionmaker[Session]
) -> Iterator[tuple[TestClient, Engine]]:
    """A started app on the data directory; leaving the block stops it (which saves the index)."""
    app: FastAPI = create_app(data_settings(data_dir), session_factory=session_factory)
    with TestClient(app) as client:
        assert app.state.engine_start.wait(120), "the engine did not start"
        yield client, app.state.engine


def search_ids(client: TestClient, world: World, text: str) -> list[int]:
    """Offer ids a free-text search returns to the operator (who may see every published offer)."""
    response = client.post("/search", json={"text": text, "limit": 100}, headers=world.operator.headers)
    assert response.status_code == 200, response.text
    return [match["offer"]["id"] for match in response.json()["matches"]]


def search_scores(client: TestClient, world: World, text: str) -> list[tuple[int, float]]:
    response = client.post("/search", json={"text": text, "limit": 100}, headers=world.operator.headers)
    assert response.status_code == 200, response.text
    return [(m["offer"]["id"], m["score"]) for m in response.json()["matches"]]


def create_offer(client: TestClient, world: World, offer: dict[str, Any]) -> int:
    response = client.post("/offers", json=offer, headers=world.member_vendor.headers)
    assert response.status_code == 201, response.text
    identifier: int = response.json()["id"]
    return identifier


def assert_in_step(engine: Engine, session_factory: sessionmaker[Session]) -> None:
    """What `matchmaker index verify` checks: no missing, stale or ghost entry, for offers and needs."""
    with session_factory() as session:
        for catalogue in (engine.offers, engine.needs):
            drift = catalogue.drift(matchable_documents(session, catalogue.kind))
            assert drift.clean, (catalogue.kind, drift)
            wanted = {doc.id for doc in matchable_documents(session, catalogue.kind)}
            assert {int(i) for i in catalogue.index.ids()} == wanted
            assert set(catalogue.analyses) == wanted


def assert_embeds_current_text(engine: Engine, session: Session, offer_id: int) -> None:
    """The stored vector and terms of an offer are those of its current text in the database."""
    offer = session.get(Offer, offer_id)
    assert offer is not None
    analysis = engine.analyzer.analyze(f"{offer.title}\n{offer.description}".strip())
    expected = engine.embedder.encode_documents([analysis.bridged])[0]
    np.testing.assert_allclose(engine.offers.vector(offer_id), expected, atol=1e-5)
    assert engine.offers.analyses[offer_id].lexical_terms == analysis.lexical_terms
    assert engine.offers.versions[offer_id] == offer.version


def term_frequencies(catalogue: Catalogue) -> tuple[int, Counter[str]]:
    """The term statistics, once checked that the rows each term lists are those whose analyses have it."""
    inverted: dict[str, set[int]] = {}
    for identifier, analysis in catalogue.analyses.items():
        for term in analysis.lexical_terms:
            inverted.setdefault(term, set()).add(identifier)
    assert {term: set(rows) for term, rows in catalogue.statistics.postings.items()} == inverted
    return catalogue.statistics.documents, +catalogue.statistics.frequency


def index_dir(data_dir: Path, kind: str = "offers") -> Path:
    return data_dir / "index" / kind


# --- restart after changes made while the service was down -----------------------------------------------


def test_restart_picks_up_every_change_made_while_stopped(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with running_app(data_dir, session_factory) as (client, _):
        ids = {
            offer["external_id"]: create_offer(client, world, offer)
            for offer in (REBAR, COIL, CEMENT, HYDROGEN)
        }
        for key in ("rebar", "coil", "cement", "hydrogen"):
            assert search_ids(client, world, QUERIES[key])[0] == ids[key], key
    saved = json.loads((index_dir(data_dir) / "entries.json").read_text())
    assert set(ids.values()) <= {int(key) for key in saved}
    assert (index_dir(data_dir) / "manifest.json").is_file()

    # The service is down: another process (or a crash before the next save) leaves these changes.
    with session_factory() as session:
        methanol = make_offer(
            session, owner=world.member_vendor.organisation, external_id="methanol", **METHANOL_TEXT
        )
        coil = session.get(Offer, ids["coil"])
        assert coil is not None
        for column, value in STORAGE_TEXT.items():
            setattr(coil, column, value)
        cement = session.get(Offer, ids["cement"])
        session.delete(cement)
        hydrogen = session.get(Offer, ids["hydrogen"])
        assert hydrogen is not None
        hydrogen.status = "archived"
        session.commit()
        assert coil.version == 2
        methanol_id = methanol.id

    with running_app(data_dir, session_factory) as (client, engine):
        assert search_ids(client, world, QUERIES["methanol"])[0] == methanol_id
        assert search_ids(client, world, QUERIES["storage"])[0] == ids["coil"]
        assert ids["coil"] not in search_ids(client, world, QUERIES["coil"])
        assert search_ids(client, world, QUERIES["rebar"])[0] == ids["rebar"]
        for gone, query in ((ids["cement"], QUERIES["cement"]), (ids["hydrogen"], QUERIES["hydrogen"])):
            response = client.post(
                "/search", json={"text": query, "limit": 100}, headers=world.operator.headers
            )
            body = response.json()
            assert gone not in [m["offer"]["id"] for m in body["matches"]]
            assert gone not in [n["offer"]["id"] for n in body["near_misses"]]
            assert gone not in {int(i) for i in engine.offers.index.ids()}
            assert gone not in engine.offers.versions
        archived = client.get(f"/offers/{ids['hydrogen']}/matches", headers=world.operator.headers)
        assert archived.status_code == 200 and archived.json()["matches"] == []
        assert_in_step(engine, session_factory)
        with session_factory() as session:
            assert_embeds_current_text(engine, session, ids["coil"])
            assert_embeds_current_text(engine, session, methanol_id)
    # The stop saved the reconciled index: the saved entries are exactly the published offers.
    with session_factory() as session:
        published = {doc.id: doc.version for doc in matchable_documents(session, "offers")}
    saved = json.loads((index_dir(data_dir) / "entries.json").read_text())
    assert {int(key): entry[0] for key, entry in saved.items()} == published


def test_restart_gives_the_same_results_as_a_fresh_build(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with running_app(tmp_path / "a", session_factory) as (client, _):
        for offer in (REBAR, COIL, CEMENT, HYDROGEN):
            create_offer(client, world, offer)
        before = {query: search_scores(client, world, query) for query in QUERIES.values()}
    with running_app(tmp_path / "a", session_factory) as (client, engine):
        restarted = {query: search_scores(client, world, query) for query in QUERIES.values()}
        restarted_terms = term_frequencies(engine.offers)
    with running_app(tmp_path / "fresh", session_factory) as (client, engine):
        fresh = {query: search_scores(client, world, query) for query in QUERIES.values()}
        fresh_terms = term_frequencies(engine.offers)
    for query in QUERIES.values():
        assert (
            [i for i, _ in restarted[query]] == [i for i, _ in before[query]] == [i for i, _ in fresh[query]]
        )
        assert [s for _, s in restarted[query]] == pytest.approx([s for _, s in fresh[query]], abs=1e-4)
    assert restarted_terms == fresh_terms


def test_reused_id_of_an_offer_deleted_while_stopped_is_embedded_anew(
    world: World,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    database_url: str,
    request: pytest.FixtureRequest,
) -> None:
    data_dir = tmp_path / "data"
    with running_app(data_dir, session_factory) as (client, _):
        cement_id = create_offer(client, world, CEMENT)  # the newest offer: the highest id
    with session_factory() as session:
        session.delete(session.get(Offer, cement_id))
        session.commit()
        methanol = make_offer(
            session, owner=world.member_vendor.organisation, external_id="methanol", **METHANOL_TEXT
        )
        session.commit()
        methanol_id = methanol.id

    with running_app(data_dir, session_factory) as (client, engine):
        # The new offer is found by its own text, not by the deleted offer's.
        assert methanol_id not in search_ids(client, world, QUERIES["cement"])
        assert search_ids(client, world, QUERIES["methanol"])[:1] == [methanol_id]
        with session_factory() as session:
            assert_embeds_current_text(engine, session, methanol_id)


# --- a saved index built otherwise refuses to load -------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("offers", {"model": {"name": "another-model"}}),
        ("offers", {"model": {"version": "0.0.1"}}),
        ("needs", {"model": {"dim": 384}}),
        ("offers", {"pipeline": "0123456789abcdef"}),
    ],
    ids=["model-name", "model-version", "dimension", "glossary"],
)
def test_an_index_built_otherwise_refuses_to_load(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path, kind: str, change: dict[str, Any]
) -> None:
    settings = data_settings(tmp_path / "data")
    start_engine(settings, session_factory)  # builds and saves both indexes
    manifest_path = index_dir(settings.data_dir, kind) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for key, value in change.items():
        manifest[key] = {**manifest[key], **value} if isinstance(value, dict) else value
    manifest_path.write_text(json.dumps(manifest))

    with pytest.raises(IndexMismatch, match="matchmaker index rebuild"):
        start_engine(settings, session_factory)
    # The app refuses to start the same way, rather than serve results from the wrong vectors.
    app = create_app(settings, session_factory=session_factory)
    with pytest.raises(IndexMismatch, match="matchmaker index rebuild"), TestClient(app):
        pass

    # The remedy the message names: rebuild (as `matchmaker index rebuild` does), then start.
    engine = build_engine(model=settings.model, data_dir=settings.data_dir)
    with session_factory() as session:
        for catalogue in (engine.offers, engine.needs):
            catalogue.rebuild(session)
            catalogue.save()
    restarted = start_engine(settings, session_factory)
    assert_in_step(restarted, session_factory)


# --- a crash between the two files of a save -------------------------------------------------------------


def test_a_crash_before_the_entries_were_written_re_embeds(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with running_app(data_dir, session_factory) as (client, _):
        ids = {offer["external_id"]: create_offer(client, world, offer) for offer in (REBAR, COIL, CEMENT)}
        before = {query: search_scores(client, world, query) for query in QUERIES.values()}
    (index_dir(data_dir) / "entries.json").unlink()

    with running_app(data_dir, session_factory) as (client, engine):
        after = {query: search_scores(client, world, query) for query in QUERIES.values()}
        assert_in_step(engine, session_factory)
        with session_factory() as session:
            for identifier in ids.values():
                assert_embeds_current_text(engine, session, identifier)
    for query in QUERIES.values():
        assert [i for i, _ in after[query]] == [i for i, _ in before[query]]
        assert [s for _, s in after[query]] == pytest.approx([s for _, s in before[query]], abs=1e-4)
    assert (index_dir(data_dir) / "entries.json").is_file()


def test_entries_older_than_the_vectors_are_reconciled(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with running_app(data_dir, session_factory) as (client, _):
        ids = {offer["external_id"]: create_offer(client, world, offer) for offer in (REBAR, COIL, CEMENT)}
    old_entries = (index_dir(data_dir) / "entries.json").read_bytes()

    with running_app(data_dir, session_factory) as (client, _):
        # (Added before the deletion, so that SQLite does not give it the deleted offer's id.)
        ids["hydrogen"] = create_offer(client, world, HYDROGEN)
        changed = client.patch(
            f"/offers/{ids['coil']}", json=STORAGE_TEXT, headers=world.member_vendor.headers
        )
        assert changed.status_code == 200, changed.text
        assert (
            client.delete(f"/offers/{ids['cement']}", headers=world.member_vendor.headers).status_code == 204
        )
    # A crash after the vectors were saved and before the entries were: the entries are the older ones.
    (index_dir(data_dir) / "entries.json").write_bytes(old_entries)

    with running_app(data_dir, session_factory) as (client, engine):
        assert search_ids(client, world, QUERIES["storage"])[0] == ids["coil"]
        assert ids["coil"] not in search_ids(client, world, QUERIES["coil"])
        assert search_ids(client, world, QUERIES["hydrogen"])[0] == ids["hydrogen"]
        assert ids["cement"] not in search_ids(client, world, QUERIES["cement"])
        assert ids["cement"] not in {int(i) for i in engine.offers.index.ids()}
        assert_in_step(engine, session_factory)
        with session_factory() as session:
            for key in ("rebar", "coil", "hydrogen"):
                assert_embeds_current_text(engine, session, ids[key])
        recovered_terms = term_frequencies(engine.offers)
        recovered = {query: search_scores(client, world, query) for query in QUERIES.values()}
    with running_app(tmp_path / "fresh", session_factory) as (client, engine):
        assert term_frequencies(engine.offers) == recovered_terms
        fresh = {query: search_scores(client, world, query) for query in QUERIES.values()}
    for query in QUERIES.values():
        assert [i for i, _ in recovered[query]] == [i for i, _ in fresh[query]]
        assert [s for _, s in recovered[query]] == pytest.approx([s for _, s in fresh[query]], abs=1e-4)


def test_vectors_saved_without_a_manifest_are_rebuilt(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """A crash before the first manifest was written: there is no saved index yet, so it is built."""
    data_dir = tmp_path / "data"
    with running_app(data_dir, session_factory) as (client, _):
        rebar = create_offer(client, world, REBAR)
    (index_dir(data_dir) / "manifest.json").unlink()
    (index_dir(data_dir) / "entries.json").unlink()

    with running_app(data_dir, session_factory) as (client, engine):
        assert search_ids(client, world, QUERIES["rebar"])[0] == rebar
        assert_in_step(engine, session_factory)


# --- changes made by another replica while this one runs ------------------------------------------------


def test_changes_committed_by_another_replica_show_in_the_next_request(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with running_app(tmp_path / "data", session_factory) as (client, engine):
        need = client.post(
            "/needs",
            json={
                "text": "采购绿氢用于氢冶金，碳足迹不高于2 kgCO2e/kg",
                "max_pcf": 2,
                "max_pcf_unit": "kgCO2e/kg",
            },
            headers=world.buyer.headers,
        )
        assert need.status_code == 201, need.text
        need_id = need.json()["id"]

        def matched() -> list[int]:
            response = client.get(f"/needs/{need_id}/matches", headers=world.buyer.headers)
            assert response.status_code == 200, response.text
            return [m["offer"]["id"] for m in response.json()["matches"]]

        assert matched() == []
        # Another replica publishes an offer: it commits straight to the database, this app's index
        # knows nothing of it until it looks.
        with session_factory() as replica:
            offer = make_offer(
                replica,
                owner=world.other_vendor.organisation,
                external_id="replica-h2",
                title=HYDROGEN["title"],
                description=HYDROGEN["description"],
                category="hydrogen",
                pcf_value=0.9,
                pcf_unit="kgCO2e/kg",
            )
            replica.commit()
            offer_id = offer.id
        assert offer_id not in engine.offers.versions
        assert matched()[:1] == [offer_id]  # first; the world's steel offers follow it (hydrogen metallurgy)
        assert engine.offers.versions[offer_id] == 1

        # It changes the offer's text: the next request matches the new text.
        with session_factory() as replica:
            row = replica.get(Offer, offer_id)
            assert row is not None
            for column, value in STORAGE_TEXT.items():
                setattr(row, column, value)
            replica.commit()
        assert offer_id not in matched()
        assert search_ids(client, world, QUERIES["storage"])[0] == offer_id
        with session_factory() as session:
            assert_embeds_current_text(engine, session, offer_id)

        # It archives it: gone from results and from the index.
        with session_factory() as replica:
            row = replica.get(Offer, offer_id)
            assert row is not None
            row.status = "archived"
            replica.commit()
        assert offer_id not in search_ids(client, world, QUERIES["storage"])
        assert offer_id not in engine.offers.versions


def test_an_offer_replaced_by_another_replica_is_matched_by_its_own_text(
    world: World,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    database_url: str,
    request: pytest.FixtureRequest,
) -> None:
    with running_app(tmp_path / "data", session_factory) as (client, engine):
        cement_id = create_offer(client, world, CEMENT)  # the newest offer: the highest id
        with session_factory() as replica:
            replica.delete(replica.get(Offer, cement_id))
            replica.commit()
            methanol = make_offer(
                replica, owner=world.other_vendor.organisation, external_id="methanol", **METHANOL_TEXT
            )
            replica.commit()
            methanol_id = methanol.id

        assert methanol_id not in search_ids(client, world, QUERIES["cement"])
        assert search_ids(client, world, QUERIES["methanol"])[:1] == [methanol_id]
        with session_factory() as session:
            assert_embeds_current_text(engine, session, methanol_id)


def test_a_need_posted_by_another_replica_reaches_the_vendor_view(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with running_app(tmp_path / "data", session_factory) as (client, engine):
        offer_id = create_offer(client, world, REBAR)
        with session_factory() as replica:
            need = make_need(
                replica,
                owner=world.buyer.organisation,
                external_id="replica-need",
                text="采购电炉短流程螺纹钢，用于地铁项目",
                max_pcf=0.8,
                max_pcf_unit="kgCO2e/kg",
            )
            replica.commit()
            need_id = need.id
        assert need_id not in engine.needs.versions

        response = client.get(f"/offers/{offer_id}/matches", headers=world.member_vendor.headers)

        assert response.status_code == 200, response.text
        assert need_id in [m["need"]["id"] for m in response.json()["matches"]]
        assert need_id in engine.needs.versions


def test_an_offer_deleted_by_another_replica_is_never_returned(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with running_app(tmp_path / "data", session_factory) as (client, engine):
        rebar = create_offer(client, world, REBAR)
        assert search_ids(client, world, QUERIES["rebar"])[0] == rebar
        with session_factory() as replica:
            replica.delete(replica.get(Offer, rebar))
            replica.commit()
        # The vector is still there (a sync cannot see a deleted row), but results come from the database.
        assert rebar not in search_ids(client, world, QUERIES["rebar"])
    # The next start drops it.
    with running_app(tmp_path / "data", session_factory) as (client, engine):
        assert rebar not in engine.offers.versions
        assert_in_step(engine, session_factory)


def test_closed_and_deleted_needs_leave_the_needs_index(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with running_app(data_dir, session_factory) as (client, engine):
        shared = world.needs["shared"].id
        assert shared in engine.needs.versions
        closed = client.patch(f"/needs/{shared}", json={"status": "closed"}, headers=world.buyer.headers)
        assert closed.status_code == 200, closed.text
        assert shared not in engine.needs.versions
    with session_factory() as session:
        session.delete(session.get(Need, world.needs["other_shared"].id))
        session.commit()
    with running_app(data_dir, session_factory) as (client, engine):
        assert shared not in engine.needs.versions
        assert world.needs["other_shared"].id not in engine.needs.versions
        assert_in_step(engine, session_factory)


def test_without_a_data_dir_nothing_is_saved(world: World, session_factory: sessionmaker[Session]) -> None:
    engine = build_engine(model="use", data_dir=None)
    with session_factory() as session:
        engine.start(session)
        published = list(session.scalars(select(Offer.id).where(Offer.status == "published")))
    assert sorted(engine.offers.versions) == sorted(published)
    engine.save()  # a no-op without a directory


def test_index_files_survive_copying_to_another_data_dir(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """A saved index is self-contained: a copy (a backup restored elsewhere) loads without re-embedding."""
    with running_app(tmp_path / "a", session_factory) as (client, _):
        create_offer(client, world, REBAR)
    shutil.copytree(tmp_path / "a" / "index", tmp_path / "b" / "index")
    engine = build_engine(model="use", data_dir=tmp_path / "b")
    with session_factory() as session:
        drifts = engine.start(session)
    assert all(drift.clean for drift in drifts.values()), drifts


def test_a_supplier_suspended_or_a_membership_revoked_by_another_replica_applies_at_the_next_request(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with running_app(tmp_path / "data", session_factory) as (client, engine):
        rebar = create_offer(client, world, REBAR)  # the member vendor's

        def found(**filters: Any) -> list[int]:
            body = {"text": QUERIES["rebar"], "limit": 100, **filters}
            response = client.post("/search", json=body, headers=world.buyer.headers)
            assert response.status_code == 200, response.text
            return [match["offer"]["id"] for match in response.json()["matches"]]

        assert rebar in found(alliance_only="CN100")
        with session_factory() as replica:
            membership = replica.scalars(
                select(Membership).where(Membership.organisation_id == world.member_vendor.id)
            ).one()
            membership.status = "revoked"
            replica.commit()
        assert rebar not in found(alliance_only="CN100")
        assert rebar in found()
        with session_factory() as replica:
            supplier = replica.get(Organisation, world.member_vendor.id)
            assert supplier is not None
            supplier.admission_status = "suspended"
            replica.commit()
        assert rebar not in found()


def post_hydrogen_need(client: TestClient, world: World) -> int:
    need = client.post(
        "/needs",
        json={"text": "Green hydrogen for our DRI plant, at most 2 kgCO2e/kg", "max_pcf": 2,
              "max_pcf_unit": "kgCO2e/kg"},
        headers=world.buyer.headers,
    )  # fmt: skip
    assert need.status_code == 201, need.text
    need_id: int = need.json()["id"]
    return need_id


def publish_hydrogen(client: TestClient, world: World, external_id: str) -> int:
    body = {key: HYDROGEN[key] for key in ("title", "description", "kind", "category", "region")}
    created = client.post(
        "/offers",
        json={**body, "external_id": external_id, "pcf_value": 0.9, "pcf_unit": "kgCO2e/kg",
              "status": "published"},
        headers=world.other_vendor.headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    offer_id: int = created.json()["id"]
    return offer_id


def matched_ids(client: TestClient, world: World, need_id: int) -> list[int]:
    response = client.get(f"/needs/{need_id}/matches", headers=world.buyer.headers)
    assert response.status_code == 200, response.text
    return [m["offer"]["id"] for m in response.json()["matches"]]


def test_a_write_through_one_replica_is_matched_by_the_other_on_its_next_request(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """Two apps, each with its own engine and data directory, over one database: what one writes, the
    other's next request matches, and what one archives, the other's next request no longer shows."""
    with (
        running_app(tmp_path / "a", session_factory) as (writer, _),
        running_app(tmp_path / "b", session_factory) as (reader, reader_engine),
    ):
        need_id = post_hydrogen_need(reader, world)
        assert matched_ids(reader, world, need_id) == []
        offer_id = publish_hydrogen(writer, world, "h2-a")
        assert offer_id not in reader_engine.offers.versions  # the reader has not looked yet
        assert matched_ids(reader, world, need_id) == [offer_id]

        archived = writer.patch(
            f"/offers/{offer_id}", json={"status": "archived"}, headers=world.other_vendor.headers
        )
        assert archived.status_code == 200, archived.text
        assert matched_ids(reader, world, need_id) == []
        assert offer_id not in reader_engine.offers.versions


def test_a_write_whose_embedding_fails_still_answers_and_is_matched_next_time(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database is the truth: the index failing after the commit is no 500, and the next request
    applies the change the failed catch-up left in the feed."""
    with running_app(tmp_path / "data", session_factory) as (client, engine):
        need_id = post_hydrogen_need(client, world)
        crash_next_put(engine.offers, monkeypatch, keep=0)
        offer_id = publish_hydrogen(client, world, "h2-x")
        assert matched_ids(client, world, need_id) == [offer_id]


def test_a_save_in_progress_does_not_hold_up_changes_or_matching(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing a large index's files takes seconds; the catalogue's changes (which every match's sync
    waits for) go on meanwhile, and the files written are whole."""
    engine = build_engine(model="use", data_dir=tmp_path)
    catalogue = engine.offers
    catalogue.put([Document(id=1, version=1, text="green hydrogen from electrolysis")])
    writing, release = threading.Event(), threading.Event()
    write = index_module._atomic_write_bytes

    def slow_write(path: Path, data: bytes) -> None:
        writing.set()
        release.wait(timeout=30)
        write(path, data)

    monkeypatch.setattr(index_module, "_atomic_write_bytes", slow_write)
    saver = threading.Thread(target=catalogue.save)
    saver.start()
    assert writing.wait(timeout=30)
    changer = threading.Thread(
        target=catalogue.put, args=([Document(id=2, version=1, text="hot-rolled steel coil")],)
    )
    changer.start()
    changer.join(timeout=10)
    finished_while_saving = not changer.is_alive()
    release.set()
    saver.join(timeout=30)
    changer.join(timeout=30)
    assert finished_while_saving and catalogue.dirty  # saved without id 2: saved again next time

    reloaded = build_engine(model="use", data_dir=tmp_path).offers
    assert reloaded.load() and set(reloaded.versions) == {1}


def test_one_worker_of_a_data_directory_saves_the_index_for_all(tmp_path: Path) -> None:
    """Workers of one server share the saved files: one saves them (each save writes every vector), and
    when it exits another takes over."""
    engines = [build_engine(model="use", data_dir=tmp_path) for _ in range(2)]
    for engine in engines:
        engine.offers.put([Document(1, 1, "Green hydrogen from PEM electrolysis")])
        assert engine.offers.dirty
    savers = [IndexSaver(engine, interval=0.05) for engine in engines]
    first, second = savers
    first.start()
    wait_for(lambda: not engines[0].offers.dirty)
    second.start()
    try:
        wait_for((index_dir(tmp_path) / "manifest.json").is_file)  # written after the entries were copied
        threading.Event().wait(0.5)  # ten of the second's intervals
        assert engines[1].offers.dirty, "a second worker saved the same files"
        first.stop(save=False)
        wait_for(lambda: not engines[1].offers.dirty)  # the first exited: the second saves from now on
    finally:
        first.stop(save=False)
        second.stop(save=False)


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
