"""Ranking with a dense snapshot (the planner over the offers' vectors) gives what scoring every offer gives.

Random platforms (visibility, admission, alliances, footprints in several units), random filters and random
viewers: the ranking with the snapshot must equal the ranking without one, matches and near misses alike,
also after offers were re-embedded, added and deleted since the snapshot was built. Below its exact share
the planner proves what it leaves out; above it (forced here on a small catalogue) near misses may differ,
but every one shown must still have failed a filter and be relevant.
"""

from __future__ import annotations

import random
import time

import numpy as np
import pytest
from sqlalchemy.orm import Session

from matchmaker.db.models import Organisation
from matchmaker.matching import ranking as ranking_module
from matchmaker.matching.dense_snapshot import STALE_SHARE, DenseSnapshot
from matchmaker.matching.engine import build_engine
from matchmaker.matching.indexer import Catalogue, Document
from matchmaker.matching.offer_table import OfferTable
from matchmaker.matching.ranking import Query, Ranking, rank_table_offers
from matchmaker.matching.relevance import RelevanceJudge, load_model, need_side, offer_side
from matchmaker.matching.scoring import DEFAULT_WEIGHTS
from matchmaker.parties import service as party_service
from matchmaker.vectors.planner import PlannerSettings
from matchmaker.visibility import EVERYONE, Viewer
from tests.factories import make_offer
from tests.test_offer_table import CATEGORIES, build_platform, random_criteria
from tests.test_ranking_properties import ANALYZER, FAKE

WORDS = [
    "steel",
    "hydrogen",
    "green",
    "coil",
    "plate",
    "cement",
    "clinker",
    "aluminium",
    "ingot",
    "electrolyser",
]


def text(rng: random.Random) -> str:
    return " ".join(rng.sample(WORDS, 3))


def catalogue_of(table: OfferTable, rng: random.Random) -> Catalogue:
    catalogue = Catalogue(kind="offers", embedder=FAKE, analyzer=ANALYZER, directory=None, index_kind="faiss")
    ids = table.column("id").tolist()
    catalogue.put([Document(id=int(identifier), version=1, text=text(rng)) for identifier in ids])
    return catalogue


def query_of(rng: random.Random) -> Query:
    analysis = ANALYZER.analyze_query(text(rng))
    category = rng.choice([None, *CATEGORIES])
    return Query(analysis=analysis, vector=FAKE.encode_queries([analysis.bridged])[0], category=category)


def viewers(session: Session, table: OfferTable) -> list[Viewer]:
    owners = sorted(set(table.column("owner").tolist()))
    return [EVERYONE] + [
        party_service.viewer_for(session=session, organisation_id=owner, role="buyer") for owner in owners[:3]
    ]


def summary(ranking: Ranking) -> tuple[object, ...]:
    """What a user sees. Scores to 6 places: a cosine taken in one product over many rows or gathered for
    a few can differ in its last float32 bit (NumPy's BLAS blocks them differently)."""
    return (
        [(s.facts.id, round(s.score, 6)) for s in ranking.matches],
        [(s.facts.id, round(s.relevance, 6)) for s in ranking.near_misses],
        ranking.eligible,
        ranking.relevant,
    )


def compare(
    session: Session, table: OfferTable, catalogue: Catalogue, snapshot: DenseSnapshot, rng: random.Random,
    rounds: int,
) -> int:  # fmt: skip
    """Rankings with and without the snapshot, equal; how many had near misses."""
    with_near_misses = 0
    people = viewers(session, table)
    for _ in range(rounds):
        common = {
            "query": query_of(rng), "table": table, "viewer": rng.choice(people),
            "criteria": random_criteria(rng), "catalogue": catalogue, "limit": rng.choice([1, 5, 10]),
        }  # fmt: skip
        planned = rank_table_offers(snapshot=snapshot, **common)
        assert summary(planned) == summary(rank_table_offers(**common)), common["criteria"]
        with_near_misses += bool(planned.near_misses)
    return with_near_misses


def grow(session: Session, table: OfferTable, rng: random.Random, count: int) -> None:
    owners = sorted(set(table.column("owner").tolist()))
    for number in range(count):
        make_offer(
            session, owner=session.get_one(Organisation, rng.choice(owners)), external_id=f"more-{number}",
            category=rng.choice(CATEGORIES), pcf_value=rng.choice([0.3, 0.9, 2.0]), pcf_unit="tCO2e/t",
        )  # fmt: skip
    session.commit()


@pytest.mark.parametrize("first_reach", [1, 64])
def test_near_misses_and_matches_equal_scoring_every_offer(
    session: Session, first_reach: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`first_reach` 1 makes the shortlist grow, bound by bound, before it can prove the result."""
    monkeypatch.setattr(ranking_module, "SHORTLIST_FIRST", first_reach)
    rng = random.Random(first_reach)
    build_platform(session, rng)
    table = OfferTable()
    table.sync(session)
    catalogue = catalogue_of(table, rng)
    snapshot = DenseSnapshot.build(table, catalogue, use_from=0, settings=PlannerSettings(gather_rows=4))
    assert compare(session, table, catalogue, snapshot, rng, rounds=80) >= 10  # near misses were compared

    # Changed since the snapshot: some offers re-embedded, some added, one dropped from the index.
    changed = rng.sample(table.column("id").tolist(), 15)
    catalogue.put([Document(id=int(identifier), version=2, text=text(rng)) for identifier in changed])
    grow(session, table, rng, 25)
    table.sync(session)
    added = table.column("id")[snapshot.size :]
    catalogue.put([Document(id=int(identifier), version=1, text=text(rng)) for identifier in added])
    catalogue.drop([changed[0]])
    assert snapshot.stale_share() > 0
    compare(session, table, catalogue, snapshot, rng, rounds=80)


def test_judged_matches_are_the_same_with_the_snapshot_and_near_misses_are_answers_that_failed(
    session: Session,
) -> None:
    """With the model of relevance judging: the snapshot finds the near misses among the nearest failed
    offers (approximate by design), never changes the matches, their scores or the counts."""
    rng = random.Random(11)
    build_platform(session, rng)
    table = OfferTable()
    table.sync(session)
    catalogue = catalogue_of(table, rng)
    snapshot = DenseSnapshot.build(table, catalogue, use_from=0, settings=PlannerSettings(gather_rows=4))
    model = load_model()
    answered = 0
    for _ in range(60):
        query, criteria, viewer = query_of(rng), random_criteria(rng), rng.choice(viewers(session, table))
        judge = RelevanceJudge(
            model=model,
            query=need_side(query.analysis),
            offer_sides=lambda ids: {i: offer_side(catalogue.analyses[i]) for i in ids},
        )
        common = {"query": query, "table": table, "viewer": viewer, "criteria": criteria,
                  "catalogue": catalogue, "limit": 10, "relevance_judge": judge}  # fmt: skip
        planned, exact = rank_table_offers(snapshot=snapshot, **common), rank_table_offers(**common)
        assert summary(planned)[0] == summary(exact)[0] and summary(planned)[2:] == summary(exact)[2:]
        _, failed_rows = table.partition(criteria, viewer=viewer)
        failed = set(table.column("id")[failed_rows].tolist())
        for near in planned.near_misses:
            assert near.facts.id in failed and near.judged is not None and near.judged.answer
        answered += bool(planned.matches)
    assert answered > 0


def test_above_the_exact_share_near_misses_still_failed_a_filter_and_are_relevant(session: Session) -> None:
    rng = random.Random(5)
    build_platform(session, rng)
    table = OfferTable()
    table.sync(session)
    catalogue = catalogue_of(table, rng)
    approximate = PlannerSettings(exact_rows=4, exact_share=0.01, nprobe=2)
    snapshot = DenseSnapshot.build(table, catalogue, use_from=0, settings=approximate)
    assert snapshot.planner.layout()["ivf_lists"] > 0
    shown = 0
    for _ in range(60):
        criteria, viewer = random_criteria(rng), rng.choice(viewers(session, table))
        common = {"query": query_of(rng), "table": table, "viewer": viewer, "criteria": criteria,
                  "catalogue": catalogue, "limit": 10}  # fmt: skip
        planned = rank_table_offers(snapshot=snapshot, **common)
        exact = rank_table_offers(**common)
        assert summary(planned)[0] == summary(exact)[0]  # matches are never approximate
        eligible_rows, failed_rows = table.partition(criteria, viewer=viewer)
        failed = set(table.column("id")[failed_rows].tolist())
        for near in planned.near_misses:
            assert near.facts.id in failed and near.relevance >= DEFAULT_WEIGHTS.floor
            shown += 1
        relevances = [near.relevance for near in planned.near_misses]
        assert relevances == sorted(relevances, reverse=True)
    assert shown > 0
    assert np.isfinite(snapshot.stale_share())


def test_the_engine_builds_a_snapshot_when_large_enough_and_again_when_much_has_changed(
    session: Session,
) -> None:
    rng = random.Random(9)
    build_platform(session, rng)
    engine = build_engine(model="use", data_dir=None)
    engine.start(session)
    engine.snapshot_from_rows = len(engine.offer_table) + 1
    engine.refresh_snapshot(background=False)
    assert engine.snapshot is None  # too few offers to want one

    engine.snapshot_from_rows = 1
    engine.refresh_snapshot(background=False)
    first = engine.snapshot
    assert first is not None and first.size == len(engine.offer_table)
    engine.refresh_snapshot(background=False)
    assert engine.snapshot is first  # nothing changed since

    grow(session, engine.offer_table, rng, 1 + int(STALE_SHARE * first.size))
    engine.catch_up(session)  # applies the feed, then builds a new snapshot in the background
    deadline = time.monotonic() + 60
    while engine.snapshot is first and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.snapshot is not first and engine.snapshot is not None
    assert engine.snapshot.size == len(engine.offer_table) and engine.snapshot.stale_share() == 0
