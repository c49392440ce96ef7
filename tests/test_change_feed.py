"""The feed of committed changes (`db.changes`): written in the transaction that changes offers and needs,
read by position, with ids that commit out of order asked for again, and a failed apply read again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.db.changes import FeedCursor, latest_position
from matchmaker.db.models import Change, Offer
from matchmaker.matching.engine import build_engine
from matchmaker.matching.indexer import Catalogue, Document, matchable_documents
from tests.factories import World, make_need, make_offer


def recorded(session: Session, since: int) -> list[tuple[str, int]]:
    rows = session.execute(select(Change.kind, Change.row_id).where(Change.id > since).order_by(Change.id))
    return [(kind, row_id) for kind, row_id in rows]


def crash_next_put(catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch, *, keep: int) -> None:
    """The catalogue's next `put` embeds its first `keep` documents and then dies; later ones work."""
    put = catalogue.put

    def crash(documents: list[Document], *args: object, **kwargs: object) -> None:
        monkeypatch.setattr(catalogue, "put", put)
        put(documents[:keep])
        raise RuntimeError("killed while embedding")

    monkeypatch.setattr(catalogue, "put", crash)


def test_a_commit_records_each_offer_and_need_it_changed_once(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        start = latest_position(session)
        offer = make_offer(session, owner=world.member_vendor.organisation, external_id="feed-1")
        need = make_need(session, owner=world.buyer.organisation, external_id="feed-n1")
        offer.title = "renamed in the same transaction"
        session.flush()
        session.commit()
        assert sorted(recorded(session, start)) == sorted([("offers", offer.id), ("needs", need.id)])

        start = latest_position(session)
        row = session.get(Offer, offer.id)
        assert row is not None
        row.description = "changed without a flush before the commit"
        session.commit()
        assert recorded(session, start) == [("offers", offer.id)]

        start = latest_position(session)
        session.delete(row)
        session.commit()
        assert recorded(session, start) == [("offers", offer.id)]


def test_a_rolled_back_change_leaves_no_trace_and_reading_records_nothing(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        start = latest_position(session)
        make_offer(session, owner=world.member_vendor.organisation, external_id="feed-2")
        session.rollback()
        session.execute(select(Offer)).all()
        session.commit()
        assert recorded(session, start) == []


def test_an_id_that_commits_after_a_later_one_is_still_read(session_factory: sessionmaker[Session]) -> None:
    """Ids from a sequence can commit out of order: the cursor asks for the ones it skipped."""
    with session_factory() as session:
        base = latest_position(session)
        cursor = FeedCursor("offers", position=base)
        session.execute(insert(Change), [{"id": base + 2, "kind": "offers", "row_id": 902}])
        session.commit()
        assert cursor.read(session) == {902}
        assert cursor.position == base + 2 and list(cursor.gaps) == [base + 1]
        session.execute(insert(Change), [{"id": base + 1, "kind": "offers", "row_id": 901}])
        session.execute(insert(Change), [{"id": base + 3, "kind": "needs", "row_id": 77}])
        session.commit()
        assert cursor.read(session) == {901}
        assert cursor.gaps == {}
        assert cursor.read(session) == set()


def test_a_gap_left_by_a_rolled_back_transaction_is_given_up_after_a_while(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr("matchmaker.db.changes.time.monotonic", lambda: clock[0])
    with session_factory() as session:
        base = latest_position(session)
        cursor = FeedCursor("offers", position=base)
        session.execute(insert(Change), [{"id": base + 2, "kind": "offers", "row_id": 5}])
        session.commit()
        cursor.read(session)
        assert list(cursor.gaps) == [base + 1]
        clock[0] += 3600
        cursor.read(session)
        assert cursor.gaps == {}


def test_a_sync_that_fails_half_way_is_read_again_by_the_next(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = build_engine(model="use", data_dir=tmp_path)
    with session_factory() as session:
        engine.catch_up(session)
        offer = make_offer(session, owner=world.member_vendor.organisation, external_id="feed-3")
        session.commit()
        crash_next_put(engine.offers, monkeypatch, keep=0)
        with pytest.raises(RuntimeError):
            engine.offers.sync(session)
        assert offer.id not in engine.offers.versions
        engine.offers.sync(session)
        assert engine.offers.versions[offer.id] == offer.version


def test_a_restart_after_a_sync_that_failed_leaves_the_index_whole(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash in the middle of applying a batch of the feed: the next start reconciles, nothing is lost."""
    engine = build_engine(model="use", data_dir=tmp_path)
    with session_factory() as session:
        engine.start(session)
        engine.save()
        offers = [
            make_offer(session, owner=world.member_vendor.organisation, external_id=f"feed-crash-{i}")
            for i in range(3)
        ]
        session.commit()
        crash_next_put(engine.offers, monkeypatch, keep=1)
        with pytest.raises(RuntimeError):
            engine.offers.sync(session)
        engine.save()  # what a periodic save wrote before the process died

        restarted = build_engine(model="use", data_dir=tmp_path)
        restarted.start(session)
        drift = restarted.offers.drift(matchable_documents(session, "offers"))
        assert drift.clean, drift
        assert all(restarted.offers.versions[offer.id] == offer.version for offer in offers)
