"""A bulk write leaves PostgreSQL's planner statistics behind it (`db.statistics`), and never pays for them
with the write."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.db import statistics
from matchmaker.db.changes import latest_position
from matchmaker.db.models import Offer
from matchmaker.imports import service as imports
from matchmaker.imports.readers import read_jsonl
from matchmaker.matching.evaluation import EVAL_OPERATOR


def offers(count: int, *, start: int = 0) -> str:
    return "\n".join(
        json.dumps(
            {
                "id": f"bulk-{number}",
                "kind": "product",
                "category": "steel",
                "supplier": "Bulk Steel",
                "title": f"Hot-rolled coil, lot {number}",
                "description": "Coil from an electric arc furnace.",
                "pcf_value": 1.1,
                "pcf_unit": "tCO2e/t",
                "status": "published",
            }  # fmt: skip
        )
        for number in range(start, start + count)
    )


def import_offers(session_factory: sessionmaker[Session], count: int) -> None:
    with session_factory() as session:
        report = imports.import_offers(
            session=session, principal=EVAL_OPERATOR, records=read_jsonl(offers(count))
        )
        assert report.created == count
        session.commit()


def estimated_rows(session: Session, table: str) -> float:
    """PostgreSQL's estimate of a table's rows: -1 until it was analysed. ANALYZE writes it in place (a
    rollback keeps it): tests compare it with the rows there are, or with itself before."""
    return float(
        session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table})
    )


@pytest.fixture
def on_postgres(engine: Engine) -> Iterator[None]:
    if engine.dialect.name != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    yield


def test_a_bulk_import_leaves_statistics_and_the_feed_is_read_by_its_key(
    on_postgres: None, session_factory: sessionmaker[Session]
) -> None:
    import_offers(session_factory, statistics.BULK_CHANGES)
    with session_factory() as session:
        # A table this small is read whole: the estimate is the count.
        assert estimated_rows(session, "offers") == session.scalar(text("SELECT count(*) FROM offers"))
        position = latest_position(session)
        plan = "\n".join(
            session.scalars(text(f"EXPLAIN SELECT id, kind, row_id FROM changes WHERE id > {position}"))
        )
    # Without statistics PostgreSQL scanned the whole feed for the few changes after a position.
    assert "Seq Scan" not in plan, plan


def test_a_small_write_does_not_analyse(on_postgres: None, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        before = estimated_rows(session, "offers")
    import_offers(session_factory, statistics.BULK_CHANGES - 10)  # and their supplier
    with session_factory() as session:
        assert estimated_rows(session, "offers") == before


def test_statistics_that_cannot_be_gathered_cost_the_write_nothing(
    on_postgres: None, engine: Engine, session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """Another transaction analysing the table holds the lock ANALYZE needs: the import waits briefly, then
    commits without the statistics."""
    monkeypatch.setattr(statistics, "LOCK_TIMEOUT_MS", 200)
    with engine.connect() as other, other.begin():
        other.execute(text("LOCK TABLE offers IN SHARE UPDATE EXCLUSIVE MODE"))
        with caplog.at_level(logging.WARNING, logger=statistics.__name__):
            import_offers(session_factory, statistics.BULK_CHANGES)
    with session_factory() as session:
        assert session.scalar(select(Offer.id).where(Offer.external_id == "bulk-0").limit(1)) is not None
        assert len(session.scalars(select(Offer.id).where(Offer.external_id.like("bulk-%"))).all()) == (
            statistics.BULK_CHANGES
        )
    assert "could not gather the planner's statistics" in caplog.text


def test_sqlite_keeps_no_statistics(engine: Engine, session_factory: sessionmaker[Session]) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    import_offers(session_factory, statistics.BULK_CHANGES)
    with session_factory() as session:
        assert session.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")) == 0
