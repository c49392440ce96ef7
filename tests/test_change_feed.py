"""The feed of committed changes (`db.changes`): written in the transaction that changes offers and needs,
read by position, with ids that commit out of order asked for again, and a failed apply read again."""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.app import create_app
from matchmaker.config import Settings
from matchmaker.db.changes import (
    KEEP_SECONDS,
    OUTLIVED_AFTER_SECONDS,
    FeedCursor,
    latest_position,
    prune,
    read_shared,
)
from matchmaker.db.migrate import upgrade
from matchmaker.db.models import Alliance, Change, Membership, Offer, Organisation
from matchmaker.db.session import make_engine, make_session_factory
from matchmaker.matching.engine import build_engine
from matchmaker.matching.indexer import matchable_documents
from matchmaker.matching.offer_table import OfferTable
from tests.cli_support import EVAL_DEV, db_session, ok, run, shared_relative, throwaway_postgres
from tests.conftest import POSTGRES_URL_ENV
from tests.factories import World, build_world, crash_next_put, make_need, make_offer
from tests.servers import cli_environment, serving_process

LATE_OFFERS = 1_500


def recorded(session: Session, since: int) -> list[tuple[str, int]]:
    rows = session.execute(select(Change.kind, Change.row_id).where(Change.id > since).order_by(Change.id))
    return [(kind, row_id) for kind, row_id in rows]


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


def test_an_admission_a_membership_and_an_alliance_changed_are_recorded_for_the_offer_table(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    """What decides who may match is on the feed too: the offer table reads the owners again after such a
    change, and only then (no query of its own on every sync)."""
    table = OfferTable()
    with session_factory() as session:
        table.sync(session)
        assert table.facts(_row(table, world.offers["alliance_only"].id)).supplier_alliances == {"CN100"}
        start = latest_position(session)
        membership = session.scalars(
            select(Membership).where(Membership.organisation_id == world.member_vendor.id)
        ).one()
        membership.status = "revoked"
        session.get_one(Organisation, world.pending_vendor.id).admission_status = "admitted"
        session.get_one(Alliance, world.alliance.id).name = "CN100 alliance"
        session.commit()
        assert sorted(recorded(session, start)) == sorted(
            [
                ("memberships", membership.id),
                ("organisations", world.pending_vendor.id),
                ("alliances", world.alliance.id),
            ]
        )
        table.sync(session)
        assert table.facts(_row(table, world.offers["alliance_only"].id)).supplier_alliances == frozenset()


def _row(table: OfferTable, offer_id: int) -> int:
    row = table.row_of(offer_id)
    assert row is not None
    return row


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


def test_a_savepoint_rolled_back_after_a_change_leaves_the_change_recorded(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    # As when a PACT announcement (prepared in a savepoint) fails after the offer it announces was saved.
    with session_factory() as session:
        start = latest_position(session)
        kept = make_offer(session, owner=world.member_vendor.organisation, external_id="feed-kept")
        with pytest.raises(RuntimeError), session.begin_nested():
            make_offer(session, owner=world.member_vendor.organisation, external_id="feed-undone")
            raise RuntimeError("the savepoint fails")
        session.commit()
        changes = recorded(session, start)
        assert ("offers", kept.id) in changes
        assert session.scalar(select(Offer.id).where(Offer.external_id == "feed-undone")) is None


def test_savepoints_released_record_their_changes_once_with_the_transaction(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        start = latest_position(session)
        made = []
        for n in range(3):  # as an import does, a savepoint per record
            with session.begin_nested():
                made.append(
                    make_offer(session, owner=world.member_vendor.organisation, external_id=f"sp-{n}")
                )
        assert recorded(session, start) == []  # nothing is written before the transaction commits
        session.commit()
        assert sorted(recorded(session, start)) == sorted(("offers", offer.id) for offer in made)


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


def test_a_read_shared_by_cursors_gives_each_what_its_own_read_would(
    session_factory: sessionmaker[Session],
) -> None:
    """One query for several consumers (a match's offers index and offer table): cursors at different
    positions, one waiting for an id that commits late, each take what reading alone would give them."""
    rng = random.Random(5)
    with session_factory() as session:
        base = latest_position(session)
        kinds = ("offers", "needs", "organisations")
        alone = [FeedCursor("offers", position=base), FeedCursor("needs", position=base)]
        shared = [cursor.copy() for cursor in alone]
        held_back: list[int] = []
        next_id = base + 1
        for step in range(40):
            rows = []
            for _ in range(rng.randint(0, 4)):
                if rng.random() < 0.25:
                    held_back.append(next_id)  # commits later, out of order
                else:
                    rows.append({"id": next_id, "kind": rng.choice(kinds), "row_id": next_id})
                next_id += 1
            if held_back and rng.random() < 0.3:
                late = held_back.pop(0)
                rows.append({"id": late, "kind": rng.choice(kinds), "row_id": late})
            if rows:
                session.execute(insert(Change), rows)
                session.commit()
            # Sometimes only one consumer reads (the other is ahead or behind when they next share a read).
            readers = [i for i in range(2) if step % 3 or i == step % 2]
            read = read_shared(session, [shared[i] for i in readers])
            for i in readers:
                assert shared[i].read_kinds(session, shared=read) == alone[i].read_kinds(session)
                assert (shared[i].position, set(shared[i].gaps)) == (alone[i].position, set(alone[i].gaps))


def test_a_cursor_put_back_after_a_shared_read_reads_the_feed_itself(
    session_factory: sessionmaker[Session],
) -> None:
    """A sync that fails puts its cursor back; a read shared from the later place lacks what it must read
    again, so that cursor reads the feed itself."""
    with session_factory() as session:
        base = latest_position(session)
        session.execute(
            insert(Change), [{"id": base + n, "kind": "offers", "row_id": 900 + n} for n in (1, 2)]
        )
        session.commit()
        cursor = FeedCursor("offers", position=base)
        put_back = cursor.copy()
        assert cursor.read(session) == {901, 902}
        shared = read_shared(session, [cursor])
        assert cursor.read(session, shared=shared) == set()
        assert put_back.read(session, shared=shared) == {901, 902}


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


def backdate(session: Session, change_ids: list[int], seconds: float) -> None:
    recorded = datetime.now(UTC) - timedelta(seconds=seconds)
    session.execute(update(Change).where(Change.id.in_(change_ids)).values(recorded_at=recorded))
    session.commit()


def test_pruning_deletes_old_changes_only_and_never_the_latest(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        start = latest_position(session)
        for n in range(3):
            make_offer(session, owner=world.member_vendor.organisation, external_id=f"prune-{n}")
            session.commit()
        old, recent, latest = session.scalars(select(Change.id).where(Change.id > start)).all()
        backdate(session, [old, latest], KEEP_SECONDS + 60)
        assert prune(session) == 1
        session.commit()
        assert session.scalars(select(Change.id).where(Change.id > start)).all() == [recent, latest]


def test_a_consumer_that_outlived_the_feed_reconciles_in_full(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """A process that has not read the feed for hours (stopped, say) may have missed changes pruned since:
    its index and offer table are brought in step with the tables themselves, not the feed."""
    engine = build_engine(model="use", data_dir=tmp_path)
    with session_factory() as session:
        withdrawn = make_offer(session, owner=world.member_vendor.organisation, external_id="outlived-old")
        session.commit()
        engine.catch_up(session)
        assert withdrawn.id in engine.offers.versions
        start = latest_position(session)
        added = make_offer(session, owner=world.member_vendor.organisation, external_id="outlived-new")
        withdrawn.status = "archived"
        session.commit()
        make_offer(session, owner=world.member_vendor.organisation, external_id="outlived-last")
        session.commit()
        missed = session.scalars(select(Change.id).where(Change.id > start)).all()[:-1]
        backdate(session, missed, KEEP_SECONDS + 60)
        prune(session)
        session.commit()
        for cursor in (engine.offers.cursor, engine.offer_table.cursor):
            assert cursor is not None
            cursor.read_at -= OUTLIVED_AFTER_SECONDS + 60
        engine.catch_up(session)
        assert added.id in engine.offers.versions and withdrawn.id not in engine.offers.versions
        table = engine.offer_table
        live = {int(i) for i in table.column("id")[table.column("live")]}
        assert added.id in live and withdrawn.id not in live


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


@contextmanager
def database_of_its_own(tmp_path: Path) -> Iterator[str]:
    """A database an app opens itself (as `serve` does), on the server this run tests against."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if url:
        with throwaway_postgres(url) as own:
            yield own
        return
    yield f"sqlite:///{tmp_path / 'own.sqlite3'}"


def test_changes_another_process_commits_are_applied_in_the_background(tmp_path: Path) -> None:
    """No request needed: the app's follower reads the feed when woken (NOTIFY on PostgreSQL, a timer on
    SQLite) and embeds what another process wrote."""
    with database_of_its_own(tmp_path) as url:
        database = make_engine(url)
        upgrade(database)
        factory = make_session_factory(database)
        with factory() as session:
            world = build_world(session)
            session.commit()
        app = create_app(Settings(environment="test", data_dir=tmp_path / "data", database_url=url))
        with TestClient(app):
            assert app.state.engine_start.wait(120)
            with factory() as session:
                offer = make_offer(session, owner=world.member_vendor.organisation, external_id="elsewhere")
                session.commit()
            deadline = time.monotonic() + 30
            while offer.id not in app.state.engine.offers.versions and time.monotonic() < deadline:
                time.sleep(0.05)
            assert app.state.engine.offers.versions.get(offer.id) == offer.version, "not applied in 30 s"
        database.dispose()


@pytest.mark.skipif(not (EVAL_DEV / "offers.jsonl").is_file(), reason=f"no development set at {EVAL_DEV}")
def test_a_server_killed_in_the_middle_of_a_feed_batch_restarts_with_the_whole_index(tmp_path: Path) -> None:
    """kill -9 while the background follower embeds a batch another process wrote: `index verify` shows the
    drift, and the next start (here `match`) catches up from the database, after which verify is clean."""
    with cli_environment(tmp_path / "data") as env:
        ok("import", "offers", shared_relative(EVAL_DEV / "offers.jsonl"), env=env)
        ok("import", "needs", shared_relative(EVAL_DEV / "needs.jsonl"), env=env)
        with serving_process(env) as (url, server):
            wait_until_ready(url)
            with db_session(env) as session:
                template = session.scalars(select(Offer).order_by(Offer.id).limit(1)).one()
                owner = session.get_one(Organisation, template.owner_id)
                for number in range(LATE_OFFERS):
                    make_offer(
                        session, owner=owner, external_id=f"late-{number}",
                        title=f"{template.title}, lot {number}", description=template.description,
                    )  # fmt: skip
                session.commit()
            time.sleep(1.5)  # the follower wakes within a second; the batch takes several to embed
            server.kill()
            server.wait(timeout=30)

        drifted = run("index", "verify", env=env)
        assert drifted.returncode == 1 and "Traceback" not in drifted.stderr, drifted.stderr
        assert f"offers: {240 + LATE_OFFERS} indexed;" not in drifted.stdout

        ok("match", "--need", "n03", env=env)
        clean = ok("index", "verify", env=env)
        assert f"offers: {240 + LATE_OFFERS} indexed; 0 missing, 0 stale, 0 ghosts" in clean.stdout


def wait_until_ready(url: str) -> None:
    deadline = time.monotonic() + 120
    while httpx.get(f"{url}/readyz", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "not ready in 120 s"
        time.sleep(0.1)


def test_a_sync_never_holds_its_lock_while_waiting_for_the_connection_pool(tmp_path: Path) -> None:
    """A request holding the pool's last connection waits for the index's sync lock; the follower must not
    hold that lock while it waits for a connection (it did: every match stalled until the pool timed out)."""
    with database_of_its_own(tmp_path) as url:
        database = make_engine(url, pool_size=1, max_overflow=0, pool_timeout=3)
        upgrade(database)
        factory = make_session_factory(database)
        engine = build_engine(model="use", data_dir=None)
        with factory() as session:
            engine.offers.reconcile(session)
        failures: list[BaseException] = []

        def follower() -> None:
            try:
                with factory() as session:
                    engine.offers.sync(session)
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                failures.append(error)

        with factory() as request:
            request.connection()  # the pool's only connection, as a request holds it from its first query
            thread = threading.Thread(target=follower)
            thread.start()
            time.sleep(0.5)  # the follower is waiting for a connection now
            engine.offers.sync(request)
            request.commit()
        thread.join(timeout=30)
        database.dispose()
        assert not thread.is_alive() and failures == []
