"""The writer embeds what it changes and stores the vectors in the same transaction, so that another replica
(or the next start without a saved index) reads them instead of embedding: no request waits for the model.

Two real apps on their own data directories share the per-test database, as two replicas would.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.db.models import Offer, StoredVector
from matchmaker.matching.engine import Engine
from matchmaker.matching.indexer import Document
from matchmaker.matching.stored_vectors import Stored, embedding_digest, read_stored
from matchmaker.matching.vector_writer import IN_TRANSACTION_AT_MOST
from tests.factories import World
from tests.test_index_lifecycle import HYDROGEN, running_app

IMPORTED = {
    "kind": "product",
    "category": "hydrogen",
    "supplier": "H2 Co",
    "description": "Hydrogen from PEM electrolysers run on wind power.",
    "pcf_value": 1.2,
    "pcf_unit": "kgCO2e/kg",
    "status": "published",
}
HYDROGEN_NEED = {
    "text": "采购绿氢用于氢冶金，碳足迹不高于2 kgCO2e/kg",
    "max_pcf": 2,
    "max_pcf_unit": "kgCO2e/kg",
}


def stored_row(session_factory: sessionmaker[Session], kind: str, row_id: int) -> StoredVector | None:
    with session_factory() as session:
        return session.get(StoredVector, (kind, row_id))


def post(client: TestClient, path: str, body: dict[str, object], headers: dict[str, str]) -> int:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    identifier: int = response.json()["id"]
    return identifier


def test_another_replica_matches_a_written_offer_without_embedding_it(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with (
        running_app(tmp_path / "writer", session_factory) as (writer, writer_engine),
        running_app(tmp_path / "reader", session_factory) as (reader, reader_engine),
    ):
        offer_body = {k: v for k, v in HYDROGEN.items() if k != "external_id"}
        offer_id = post(writer, "/offers", offer_body, world.member_vendor.headers)
        need_id = post(writer, "/needs", HYDROGEN_NEED, world.buyer.headers)

        # Stored in the writer's transaction: the digest names the model and the very text embedded.
        with session_factory() as session:
            stored = read_stored(session, kind="offers", ids=[offer_id])[offer_id]
        analysis = writer_engine.offers.analyses[offer_id]
        assert stored.digest == embedding_digest(writer_engine.embedder.identity, analysis.bridged)
        np.testing.assert_array_equal(stored.vector, writer_engine.offers.vector(offer_id))
        assert stored_row(session_factory, "needs", need_id) is not None

        embedded_before = reader_engine.offers.embedded + reader_engine.needs.embedded
        response = reader.get(f"/needs/{need_id}/matches", headers=world.buyer.headers)
        assert response.status_code == 200, response.text
        assert [match["offer"]["id"] for match in response.json()["matches"]][:1] == [offer_id]
        # The reader's request took both vectors from the database, and they are the writer's own.
        assert reader_engine.offers.embedded + reader_engine.needs.embedded == embedded_before
        np.testing.assert_array_equal(reader_engine.offers.vector(offer_id), stored.vector)


def test_an_edit_that_keeps_the_text_embeds_nothing_and_archiving_forgets_the_vector(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with running_app(tmp_path / "data", session_factory) as (client, engine):
        offer_id = post(
            client,
            "/offers",
            {k: v for k, v in HYDROGEN.items() if k != "external_id"},
            world.member_vendor.headers,
        )
        before = stored_row(session_factory, "offers", offer_id)
        assert before is not None
        embedded = engine.offers.embedded

        headers = world.member_vendor.headers
        changed = client.patch(f"/offers/{offer_id}", json={"pcf_value": 0.7}, headers=headers)
        assert changed.status_code == 200, changed.text
        assert engine.offers.versions[offer_id] == 2
        assert engine.offers.embedded == embedded  # the footprint changed, not the text
        after = stored_row(session_factory, "offers", offer_id)
        assert after is not None and after.digest == before.digest

        renamed = client.patch(
            f"/offers/{offer_id}",
            json={"title": "Green hydrogen from alkaline electrolysis"},
            headers=headers,
        )
        assert renamed.status_code == 200, renamed.text
        assert engine.offers.embedded == embedded + 1  # once, by the writer; the catch-up read it
        renamed_row = stored_row(session_factory, "offers", offer_id)
        assert renamed_row is not None and renamed_row.digest != before.digest

        archived = client.patch(f"/offers/{offer_id}", json={"status": "archived"}, headers=headers)
        assert archived.status_code == 200, archived.text
        assert stored_row(session_factory, "offers", offer_id) is None
        with session_factory() as session:
            assert session.scalar(select(Offer.status).where(Offer.id == offer_id)) == "archived"


@pytest.mark.parametrize("stored_as", ["another text", "another model", "a wrong length"])
def test_a_stored_vector_is_taken_only_for_the_very_text_and_model(
    stored_as: str, client: TestClient, world: World
) -> None:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    catalogue = engine.offers
    document = Document(id=10_001, version=1, text="Green hydrogen from PEM electrolysis")
    analysis = catalogue.analyse(document.text)
    identity = engine.embedder.identity
    exact = Stored(embedding_digest(identity, analysis.bridged), np.full(identity.dim, 0.5, dtype=np.float32))
    wrong = {
        "another text": Stored(embedding_digest(identity, "Grey hydrogen"), exact.vector),
        "another model": Stored(
            embedding_digest(type(identity)(identity.name, "0.0", identity.dim), analysis.bridged),
            exact.vector,
        ),
        "a wrong length": Stored(exact.digest, exact.vector[:-1]),
    }[stored_as]

    taken, fresh = catalogue.vectors_for(
        [document], analyses=[analysis], stored=lambda ids: {document.id: exact}
    )
    np.testing.assert_array_equal(taken[0], exact.vector)
    assert fresh == {}

    embedded, fresh = catalogue.vectors_for(
        [document], analyses=[analysis], stored=lambda ids: {document.id: wrong}
    )
    assert list(fresh) == [document.id] and fresh[document.id].digest == exact.digest
    np.testing.assert_allclose(
        embedded[0], engine.embedder.encode_documents([analysis.bridged])[0], atol=1e-6
    )


def test_a_bulk_write_is_embedded_after_its_commit_and_stored_for_the_others(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    """An import of more rows than a transaction embeds itself (`IN_TRANSACTION_AT_MOST`): the writer's
    catch-up embeds them after the commit, outside the write lock, and stores what it embedded."""
    lines = [
        {**IMPORTED, "id": f"bulk-{number}", "title": f"Green hydrogen, lot {number}"}
        for number in range(IN_TRANSACTION_AT_MOST + 8)
    ]
    response = client.post(
        "/imports/offers",
        content="\n".join(json.dumps(line) for line in lines),
        headers={**world.operator.headers, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == len(lines)
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    with session_factory() as session:
        ids = list(session.scalars(select(Offer.id).where(Offer.external_id.like("bulk-%"))))
        stored = read_stored(session, kind="offers", ids=ids)
    assert len(ids) == len(lines) and set(stored) == set(ids)
    for identifier in ids:
        np.testing.assert_array_equal(stored[identifier].vector, engine.offers.vector(identifier))


def test_a_write_whose_vectors_cannot_be_stored_still_commits(
    client: TestClient, world: World, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the model failed")

    # Only the writer's hook fails; the catch-up after the commit embeds as a reader would.
    monkeypatch.setattr("matchmaker.matching.vector_writer.store", broken)
    offer_id = post(
        client,
        "/offers",
        {k: v for k, v in HYDROGEN.items() if k != "external_id"},
        world.member_vendor.headers,
    )
    with session_factory() as session:
        assert session.get(Offer, offer_id) is not None
    assert offer_id in engine.offers.versions
    stored = stored_row(session_factory, "offers", offer_id)  # stored after the commit instead
    assert stored is not None
    np.testing.assert_array_equal(np.frombuffer(stored.vector, dtype="<f4"), engine.offers.vector(offer_id))


def test_a_start_stores_the_vectors_nobody_stored(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """Rows written without vectors (before vectors were stored, or by SQL by hand: the world's offers are
    written straight to the database) are stored by the first start that embeds them; the next start
    without a saved index embeds none of them."""
    with session_factory() as session:
        published = set(session.scalars(select(Offer.id).where(Offer.status == "published")))
        assert published and not read_stored(session, kind="offers", ids=sorted(published))
    with running_app(tmp_path / "first", session_factory) as (_, first):
        assert first.offers.embedded >= len(published)
    with session_factory() as session:
        assert set(read_stored(session, kind="offers", ids=sorted(published))) == published
    with running_app(tmp_path / "second", session_factory) as (_, second):
        assert set(second.offers.versions) >= published
        assert second.offers.embedded == 0
