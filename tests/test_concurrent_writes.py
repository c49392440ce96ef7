"""Concurrent writes: writers queue instead of failing, edits of one object are versioned (ETag and
If-Match), and a transaction lost to a concurrent one is run again or answered 409/503, never 500.

The load tests run a real server (uvicorn in a thread) over a real database of their own, a SQLite file
or a throwaway PostgreSQL database, as this run tests; the rest go through the usual rolled-back client.
"""

from __future__ import annotations

import os
import random
import re
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.app import create_app
from matchmaker.config import Settings, normalise_database_url
from matchmaker.db.migrate import upgrade
from matchmaker.db.models import ApiKey, Need, Offer
from matchmaker.db.races import lost_race
from matchmaker.db.session import make_engine, make_session_factory, transaction
from matchmaker.pact.service import create_client
from matchmaker.signing import app_secret
from matchmaker.web.sessions import CookieSigner
from matchmaker.web_sessions import service as web_session_service
from tests.cli_support import throwaway_postgres
from tests.conftest import POSTGRES_URL_ENV
from tests.factories import Party, World, make_offer, make_party
from tests.servers import app_in_thread
from tests.web_support import post_form, sign_in

OFFER = {
    "title": "Scrap-EAF rebar",
    "kind": "product",
    "category": "steel",
    "pcf_value": 0.6,
    "pcf_unit": "tCO2e/t",
}
NEED = {"text": "low-carbon rebar for a rail depot", "category": "steel"}
POSTGRES = bool(os.environ.get(POSTGRES_URL_ENV))


# --- ETag and If-Match -----------------------------------------------------------------------------------


def test_reads_send_an_etag_that_changes_with_each_edit(client: TestClient, world: World) -> None:
    vendor = world.member_vendor
    offer_id = world.offers["public"].id
    read = client.get(f"/offers/{offer_id}", headers=vendor.headers)
    version = read.json()["version"]
    assert read.headers["ETag"] == f'"offer-{offer_id}-v{version}"'

    changed = client.patch(f"/offers/{offer_id}", json={"title": "Rebar, re-rolled"}, headers=vendor.headers)
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] == f'"offer-{offer_id}-v{version + 1}"'
    assert (
        client.get(f"/offers/{offer_id}", headers=vendor.headers).headers["ETag"] == changed.headers["ETag"]
    )

    created = client.post("/needs", json=NEED, headers=world.buyer.headers)
    need_id = created.json()["id"]
    assert created.headers["ETag"] == f'"need-{need_id}-v1"'
    assert (
        client.get(f"/needs/{need_id}", headers=world.buyer.headers).headers["ETag"] == f'"need-{need_id}-v1"'
    )


@pytest.mark.parametrize("noun", ["offers", "needs"])
def test_if_match_with_an_old_version_is_refused_with_412_and_the_current_etag(
    client: TestClient, world: World, noun: str
) -> None:
    owner = world.member_vendor if noun == "offers" else world.buyer
    target = world.offers["public"].id if noun == "offers" else world.needs["shared"].id
    field = "title" if noun == "offers" else "text"
    url = f"/{noun}/{target}"
    old_tag = client.get(url, headers=owner.headers).headers["ETag"]
    first = client.patch(url, json={field: "first edit"}, headers={**owner.headers, "If-Match": old_tag})
    assert first.status_code == 200, first.text
    current_tag = first.headers["ETag"]

    # A second editor who read the same old version: its change would overwrite the first unseen.
    late = client.patch(url, json={field: "second edit"}, headers={**owner.headers, "If-Match": old_tag})
    assert late.status_code == 412, late.text
    assert late.headers["content-type"] == "application/problem+json"
    assert late.headers["ETag"] == current_tag
    assert f"version {first.json()['version']}" in late.json()["detail"]
    assert client.get(url, headers=owner.headers).json()[field] == "first edit"

    # A delete against the old version is refused too; the object stays.
    assert client.delete(url, headers={**owner.headers, "If-Match": old_tag}).status_code == 412
    # A weak tag never matches (If-Match compares strongly); a list with the current tag does; so does *.
    weak = client.patch(url, json={field: "x"}, headers={**owner.headers, "If-Match": f"W/{current_tag}"})
    assert weak.status_code == 412
    listed = client.patch(
        url, json={field: "third edit"}, headers={**owner.headers, "If-Match": f'"nope", {current_tag}'}
    )
    assert listed.status_code == 200, listed.text
    assert (
        client.patch(url, json={field: "fourth"}, headers={**owner.headers, "If-Match": "*"}).status_code
        == 200
    )
    assert client.delete(url, headers={**owner.headers, "If-Match": '"garbage'}).status_code == 412
    assert client.delete(url, headers={**owner.headers, "If-Match": "*"}).status_code == 204


def test_the_412_is_declared_in_the_openapi_description(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/offers/{offer_id}", "/needs/{need_id}"):
        for method in ("patch", "delete"):
            operation = paths[path][method]
            assert "412" in operation["responses"], (method, path)
            assert any(p["name"] == "If-Match" for p in operation["parameters"]), (method, path)


# --- the pages' edit forms --------------------------------------------------------------------------------

FORM_OFFER = {
    "title": "Rebar from the form",
    "language": "en",
    "kind": "product",
    "category": "steel",
    "pcf_value": "0.62",
    "pcf_unit": "tCO2e/t",
    "status": "published",
    "visibility": "public",
}


def test_an_offer_form_opened_before_another_edit_is_refused_with_a_message(
    client: TestClient, world: World
) -> None:
    vendor, offer_id = world.member_vendor, world.offers["public"].id
    sign_in(client, vendor.key)
    form = client.get(f"/ui/offers/{offer_id}/edit")
    opened_at = int(re.search(r'name="version" value="(\d+)"', form.text).group(1))  # type: ignore[union-attr]
    # Meanwhile a colleague renames the offer through the API.
    assert client.patch(
        f"/offers/{offer_id}", json={"title": "Colleague's title"}, headers=vendor.headers
    ).is_success
    stale = {**FORM_OFFER, "version": str(opened_at)}
    refused = post_form(client, f"/ui/offers/{offer_id}", stale, page=f"/ui/offers/{offer_id}/edit")
    assert refused.status_code == 412
    assert "changed by someone else while you were editing it" in refused.text
    assert f'name="version" value="{opened_at + 1}"' in refused.text  # saving again is deliberate
    assert client.get(f"/offers/{offer_id}", headers=vendor.headers).json()["title"] == "Colleague's title"
    again = {**FORM_OFFER, "version": str(opened_at + 1)}
    saved = post_form(client, f"/ui/offers/{offer_id}", again, page=f"/ui/offers/{offer_id}/edit")
    assert saved.status_code == 200, saved.text
    assert client.get(f"/offers/{offer_id}", headers=vendor.headers).json()["title"] == "Rebar from the form"


def test_a_need_form_opened_before_another_edit_is_refused_with_a_message(
    client: TestClient, world: World
) -> None:
    buyer, need_id = world.buyer, world.needs["shared"].id
    sign_in(client, buyer.key)
    form = client.get(f"/ui/needs/{need_id}/edit")
    opened_at = int(re.search(r'name="version" value="(\d+)"', form.text).group(1))  # type: ignore[union-attr]
    assert client.patch(
        f"/needs/{need_id}", json={"text": "rebar, changed by a colleague"}, headers=buyer.headers
    )
    posted = {"text": "rebar from the form", "category": "steel", "version": str(opened_at)}
    refused = post_form(
        client,
        f"/ui/needs/{need_id}",
        posted,
        page=f"/ui/needs/{need_id}/edit",
        headers={"Accept-Language": "zh"},
    )
    assert refused.status_code == 412
    assert "在您编辑期间，此内容已被他人修改（现为第 2 版）" in refused.text
    assert (
        client.get(f"/needs/{need_id}", headers=buyer.headers).json()["text"]
        == "rebar, changed by a colleague"
    )


# --- a transaction that loses a race is run again, then answered 409 -----------------------------------


@contextmanager
def concurrent_change_at_flush(
    session_factory: sessionmaker[Session], offer_id: int, *, times: int
) -> Iterator[list[int]]:
    """Make the next `times` flushes that change the offer find that another writer changed it since it was
    read (its version raised underneath, as a concurrent commit would); yields the versions it made.

    The change is made in the request's own transaction, so the rollback of the lost run undoes it."""
    made: list[int] = []

    def bump(session: Session, flush_context: Any, instances: Any) -> None:
        if len(made) < times and any(isinstance(o, Offer) and o.id == offer_id for o in session.dirty):
            connection = session.connection()
            connection.execute(
                text("UPDATE offers SET version = version + 1 WHERE id = :id"), {"id": offer_id}
            )
            made.append(connection.scalar(select(Offer.version).where(Offer.id == offer_id)) or 0)

    event.listen(session_factory, "before_flush", bump)
    try:
        yield made
    finally:
        event.remove(session_factory, "before_flush", bump)


def test_an_edit_that_lost_a_race_once_is_run_again_and_succeeds(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    offer_id = world.offers["public"].id
    version = client.get(f"/offers/{offer_id}", headers=world.member_vendor.headers).json()["version"]
    with concurrent_change_at_flush(session_factory, offer_id, times=1) as made:
        answer = client.patch(
            f"/offers/{offer_id}", json={"title": "kept"}, headers=world.member_vendor.headers
        )
    assert made == [version + 1], "the race was not staged"
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == version + 1
    assert client.get(f"/offers/{offer_id}", headers=world.member_vendor.headers).json()["title"] == "kept"


def test_an_edit_that_keeps_losing_its_race_is_a_409_problem_not_a_500(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    offer_id = world.offers["public"].id
    with concurrent_change_at_flush(session_factory, offer_id, times=100) as made:
        answer = client.patch(
            f"/offers/{offer_id}", json={"title": "lost"}, headers=world.member_vendor.headers
        )
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "/problems/edit-conflict"
    assert len(made) == 4  # the first run and three more
    assert client.get(f"/offers/{offer_id}", headers=world.member_vendor.headers).json()["title"] != "lost"


# --- lost races are recognised from the databases' own errors ----------------------------------------------


def test_the_databases_own_lock_and_deadlock_errors_are_recognised(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    engine = make_engine(f"sqlite:///{path}", busy_timeout=0)
    try:
        with pytest.raises(OperationalError) as locked, engine.connect() as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert lost_race(locked.value) == "busy"
        assert lost_race(ValueError("database is locked")) is None
    finally:
        holder.close()
        engine.dispose()


def test_a_writing_transaction_holds_sqlites_write_lock_from_its_start_and_a_reading_one_does_not(
    tmp_path: Path,
) -> None:
    """The CLI's writers (imports) queue with the server's: the lock is taken when they begin, not when
    they first write, which SQLite would refuse at once if another writer committed in between."""
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    upgrade(engine)
    factory = make_session_factory(engine)
    other = sqlite3.connect(tmp_path / "cli.sqlite3", isolation_level=None, timeout=0)
    try:
        with transaction(factory, writes=False) as session:
            session.scalar(select(Offer.id))
            other.execute("BEGIN IMMEDIATE")  # a reader leaves the write lock free
            other.rollback()
        with transaction(factory) as session:
            session.scalar(select(Offer.id))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()
        engine.dispose()


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL only")
def test_a_postgresql_deadlock_is_recognised() -> None:
    with throwaway_postgres(os.environ[POSTGRES_URL_ENV]) as url:
        engine = make_engine(normalise_database_url(url))
        try:
            with engine.begin() as setup:
                setup.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER)"))
                setup.execute(text("INSERT INTO t VALUES (1, 0), (2, 0)"))
            first, second = engine.connect(), engine.connect()
            failures: list[BaseException] = []
            first.begin()
            second.begin()
            first.execute(text("UPDATE t SET x = 1 WHERE id = 1"))
            second.execute(text("UPDATE t SET x = 1 WHERE id = 2"))

            def cross(connection: Any, row: int) -> None:
                try:
                    connection.execute(text(f"UPDATE t SET x = 2 WHERE id = {row}"))
                except Exception as error:  # one of the two is chosen as the deadlock victim
                    failures.append(error)
                    connection.rollback()

            other = threading.Thread(target=cross, args=(second, 1))
            other.start()
            time.sleep(0.2)
            cross(first, 2)
            other.join(timeout=10)
            first.close()
            second.close()
            assert len(failures) == 1
            assert lost_race(failures[0]) == "busy"
        finally:
            engine.dispose()


# --- real servers under load ------------------------------------------------------------------------


@dataclass
class Live:
    """A server over its own database, and the parties that use it."""

    url: str
    engine: Engine
    vendor: Party
    buyer: Party
    offer_id: int


@contextmanager
def live_server(tmp_path: Path, *, busy_timeout: float = 30) -> Iterator[Live]:
    """A real server (uvicorn in a thread) over a database of its own: a SQLite file, or a throwaway
    PostgreSQL database when the run tests PostgreSQL."""
    postgres = os.environ.get(POSTGRES_URL_ENV)
    with throwaway_postgres(postgres) if postgres else _nothing() as database_url:
        url = (
            normalise_database_url(database_url) if database_url else f"sqlite:///{tmp_path / 'live.sqlite3'}"
        )
        engine = make_engine(url, busy_timeout=busy_timeout)
        try:
            upgrade(engine)
            factory = make_session_factory(engine)
            with factory() as session:
                vendor = make_party(session, name="Busy Steel", kind="vendor", role="vendor")
                buyer = make_party(session, name="Busy Buyer", kind="buyer", role="buyer")
                offer_id = make_offer(session, owner=vendor.organisation, external_id="shared").id
                session.commit()
            app = create_app(Settings(environment="test", data_dir=tmp_path), session_factory=factory)
            with app_in_thread(app, name="matchmaker") as port:
                yield Live(f"http://127.0.0.1:{port}", engine, vendor, buyer, offer_id)
        finally:
            engine.dispose()


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


@dataclass
class WriterLog:
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    # What each acknowledged write left: id -> title (offers) or text (needs).
    offers: dict[int, str] = field(default_factory=dict)
    needs: dict[int, str] = field(default_factory=dict)
    # Versions the shared offer was acknowledged at by each successful edit of it.
    shared_versions: list[int] = field(default_factory=list)
    shared_titles: dict[int, str] = field(default_factory=dict)


def _writer(live: Live, number: int, deadline: float, log: WriterLog, lock: threading.Lock) -> None:
    """Create offers and needs, edit them, and edit the offer every writer shares, until the deadline."""
    chance = random.Random(number)
    mine_offers: list[int] = []
    mine_needs: list[int] = []
    with httpx.Client(base_url=live.url, timeout=60) as http:
        step = 0
        while time.monotonic() < deadline:
            step += 1
            label = f"w{number}-{step}"
            choice = chance.choice(["offer", "need", "edit offer", "edit need", "shared"])
            if choice == "edit offer" and not mine_offers or choice == "edit need" and not mine_needs:
                choice = choice.removeprefix("edit ")
            if choice == "offer":
                answer = http.post("/offers", json={**OFFER, "title": label}, headers=live.vendor.headers)
            elif choice == "need":
                answer = http.post("/needs", json={**NEED, "text": label}, headers=live.buyer.headers)
            elif choice == "edit offer":
                target = chance.choice(mine_offers)
                answer = http.patch(f"/offers/{target}", json={"title": label}, headers=live.vendor.headers)
            elif choice == "edit need":
                target = chance.choice(mine_needs)
                answer = http.patch(f"/needs/{target}", json={"text": label}, headers=live.buyer.headers)
            else:
                answer = http.patch(
                    f"/offers/{live.offer_id}", json={"title": label}, headers=live.vendor.headers
                )
            with lock:
                log.statuses[answer.status_code] += 1
                if answer.status_code >= 300:
                    log.failures.append(f"{choice}: {answer.status_code} {answer.text[:200]}")
                    continue
                body = answer.json()
                if choice == "shared":
                    log.shared_versions.append(body["version"])
                    log.shared_titles[body["version"]] = label
                elif "offer" in choice:
                    log.offers[body["id"]] = label
                    if choice == "offer":
                        mine_offers.append(body["id"])
                else:
                    log.needs[body["id"]] = label
                    if choice == "need":
                        mine_needs.append(body["id"])


def test_eight_writers_for_ten_seconds_lose_nothing_and_never_fail(tmp_path: Path) -> None:
    """8 writers for 10 s: zero 5xx, every acknowledged write present afterwards."""
    log, lock = WriterLog(), threading.Lock()
    with live_server(tmp_path) as live:
        deadline = time.monotonic() + 10
        writers = [
            threading.Thread(target=_writer, args=(live, number, deadline, log, lock)) for number in range(8)
        ]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(timeout=120)
        with Session(live.engine) as session:
            titles = dict(session.execute(select(Offer.id, Offer.title)).all())
            texts = dict(session.execute(select(Need.id, Need.text)).all())
            shared = session.get_one(Offer, live.offer_id)
    total = sum(log.statuses.values())
    print(f"\n{total} writes in 10 s by 8 writers: {dict(log.statuses)}")
    assert log.failures == [], log.failures[:5]
    assert total > 100  # it did run under load
    # Every acknowledged create and edit is there, as its last acknowledged write left it.
    assert {i: titles.get(i) for i in log.offers} == log.offers
    assert {i: texts.get(i) for i in log.needs} == log.needs
    # Every acknowledged edit of the shared offer is a version of its own: none overwrote another unseen.
    assert len(set(log.shared_versions)) == len(log.shared_versions)
    assert shared.version == 1 + len(log.shared_versions)
    assert shared.title == log.shared_titles[shared.version]


def _editor(
    live: Live,
    number: int,
    deadline: float,
    outcomes: list[tuple[int, int, int | None, str]],
    lock: threading.Lock,
) -> None:
    """Read the shared offer and change it with If-Match (odd editors) or blindly (even ones)."""
    with httpx.Client(base_url=live.url, timeout=60) as http:
        step = 0
        while time.monotonic() < deadline:
            step += 1
            label = f"e{number}-{step}"
            headers = dict(live.vendor.headers)
            if number % 2:
                headers["If-Match"] = http.get(
                    f"/offers/{live.offer_id}", headers=live.vendor.headers
                ).headers["ETag"]
            answer = http.patch(f"/offers/{live.offer_id}", json={"title": label}, headers=headers)
            version = answer.json().get("version") if answer.status_code == 200 else None
            with lock:
                outcomes.append((number, answer.status_code, version, label))
                if answer.status_code == 412:
                    assert answer.headers["ETag"].startswith(f'"offer-{live.offer_id}-v')


def test_four_editors_of_one_offer_lose_no_acknowledged_edit(tmp_path: Path) -> None:
    """4 editors of one offer (two with If-Match): zero 5xx; every 200 is a version of its own and the
    last one is what the offer holds; a lost If-Match race is a 412."""
    outcomes: list[tuple[int, int, int | None, str]] = []
    lock = threading.Lock()
    with live_server(tmp_path) as live:
        deadline = time.monotonic() + 5
        editors = [
            threading.Thread(target=_editor, args=(live, number, deadline, outcomes, lock))
            for number in range(4)
        ]
        for editor in editors:
            editor.start()
        for editor in editors:
            editor.join(timeout=120)
        with Session(live.engine) as session:
            offer = session.get_one(Offer, live.offer_id)
    statuses = Counter(status for _, status, _, _ in outcomes)
    print(f"\n{len(outcomes)} edits of one offer by 4 editors: {dict(statuses)}")
    assert set(statuses) <= {200, 412}, statuses
    applied = {version: label for _, status, version, label in outcomes if status == 200 and version}
    assert len(applied) == statuses[200]  # no two acknowledged edits claim one version
    assert offer.version == 1 + statuses[200]
    assert offer.title == applied[offer.version]
    # The blind editors are never refused: their edits queue behind each other.
    assert all(status == 200 for number, status, _, _ in outcomes if number % 2 == 0)


# --- a database that stays busy is a 503 with Retry-After ---------------------------------------------------


@pytest.mark.skipif(POSTGRES, reason="SQLite's write lock")
def test_a_write_behind_a_lock_held_too_long_is_a_503_then_succeeds(tmp_path: Path) -> None:
    with live_server(tmp_path, busy_timeout=0.2) as live:
        holder = sqlite3.connect(tmp_path / "live.sqlite3", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process writing for a long time
        try:
            busy = httpx.post(f"{live.url}/offers", json=OFFER, headers=live.vendor.headers, timeout=30)
            # Reads do not queue behind the writer.
            read = httpx.get(f"{live.url}/offers/{live.offer_id}", headers=live.vendor.headers, timeout=30)
        finally:
            holder.rollback()
            holder.close()
        assert busy.status_code == 503, busy.text
        assert busy.headers["Retry-After"] == "1"
        assert busy.headers["content-type"] == "application/problem+json"
        assert read.status_code == 200
        assert httpx.post(f"{live.url}/offers", json=OFFER, headers=live.vendor.headers).status_code == 201


@pytest.mark.skipif(POSTGRES, reason="SQLite's write lock")
@pytest.mark.parametrize("path", ["/ui/offers", "/3/events"])
def test_a_body_still_arriving_holds_no_write_lock(tmp_path: Path, path: str) -> None:
    """A page's user and a PACT client are looked up before the body is read; a slow client must not hold
    SQLite's write lock meanwhile, or every other writer waits its busy timeout and then fails."""
    database = tmp_path / "slow.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        vendor = make_party(session, name="Slow Co", kind="vendor", role="vendor")
        session.commit()
        key_id = session.scalars(select(ApiKey.id).where(ApiKey.organisation_id == vendor.id)).one()
        session_id = web_session_service.begin(session=session, key_id=key_id, hours=1)
        pact = create_client(session=session, organisation=vendor.organisation, label="slow")
        session.commit()
    app = create_app(Settings(environment="test", data_dir=tmp_path / "data"), session_factory=factory)
    with TestClient(app) as client:
        token = client.post(
            "/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(pact.client.client_id, pact.secret),
        ).json()["access_token"]
    csrf = CookieSigner(app_secret(app.state)).session_csrf_token(session_id)
    first_part = f"csrf_token={csrf}&title=".encode()
    headers = [
        (b"host", b"testserver"),
        (b"content-length", str(len(first_part) + 1).encode()),
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"cookie", f"mm_session={session_id}".encode()),
        (b"authorization", f"Bearer {token}".encode()),
    ]
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"", "headers": headers,
        "client": ("127.0.0.1", 1), "server": ("testserver", 80), "state": {}, "app": app,
    }  # fmt: skip
    rest_arrives = anyio.Event()
    answers: list[int] = []

    async def receive() -> dict[str, Any]:
        if not answers:
            answers.append(0)
            return {"type": "http.request", "body": first_part, "more_body": True}
        await rest_arrives.wait()
        return {"type": "http.request", "body": b"x", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answers.append(message["status"])

    async def meanwhile_another_writer_writes() -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(app, scope, receive, send)
            await anyio.sleep(0.5)  # the request has looked up its caller and waits for its body
            other = sqlite3.connect(database, isolation_level=None, timeout=0)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
            finally:
                other.close()
                rest_arrives.set()

    try:
        anyio.run(meanwhile_another_writer_writes)
    finally:
        engine.dispose()
    assert answers[-1] < 500
