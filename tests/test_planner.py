"""The filtered-search planner: its choice of path, and results equal to brute force at every selectivity."""

from __future__ import annotations

import numpy as np
import pytest

from matchmaker.vectors.planner import Columns, FilterSpec, PartitionedIndex, PlannerSettings

N, DIM, K = 6_000, 32, 10


def clustered(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    centers = rng.standard_normal((40, dim)).astype(np.float32)
    vectors = centers[rng.integers(0, 40, n)] + 0.5 * rng.standard_normal((n, dim)).astype(np.float32)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def index() -> PartitionedIndex:
    rng = np.random.default_rng(7)
    columns = Columns(
        category=rng.choice(17, N, p=np.arange(17, 0, -1) / np.arange(17, 0, -1).sum()).astype(np.int16),
        alliances=rng.choice(np.array([0, 1, 2, 3], dtype=np.uint64), N, p=[0.6, 0.3, 0.05, 0.05]),
        region=rng.integers(0, 30, N).astype(np.int16),
        verified=rng.random(N) < 0.6,
        family=rng.integers(-1, 4, N).astype(np.int8),
        canonical=np.where(rng.random(N) < 0.1, np.nan, rng.random(N) * 10),
    )
    ids = rng.permutation(10 * N)[:N].astype(np.int64)  # database ids, not row numbers
    # A small exact limit, so that both paths run at this size.
    settings = PlannerSettings(exact_rows=200, exact_share=0.02, nprobe=16)
    return PartitionedIndex(ids, clustered(rng, N, DIM), columns, settings=settings)


SPECS = {
    "everything": FilterSpec(),
    "one category": FilterSpec(categories=frozenset({0})),
    "a rare category and an alliance": FilterSpec(categories=frozenset({16}), alliance_bit=1),
    "alliance, verified": FilterSpec(alliance_bit=0, verified_only=True),
    "ceiling in one family": FilterSpec(family=2, max_canonical=3.0),
    "regions": FilterSpec(regions=frozenset({1, 2, 3})),
    "tiny": FilterSpec(
        categories=frozenset({15}), alliance_bit=1, regions=frozenset({4}), verified_only=True
    ),
    "nothing": FilterSpec(categories=frozenset({99})),
    "at the ceiling": FilterSpec(family=1, max_canonical=0.0),
}


def queries(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    return list(clustered(rng, count, DIM))


@pytest.mark.parametrize("name", SPECS)
def test_never_shorter_than_k_or_eligible_and_never_ineligible(index: PartitionedIndex, name: str) -> None:
    spec = SPECS[name]
    eligible_mask, eligible = index.eligible_bitmap(spec)
    eligible_ids = set(index.ids[eligible_mask].tolist())
    for query in queries(10):
        hits, plan = index.search(query, K, spec)
        assert len(hits.ids) == min(K, eligible), plan
        assert set(hits.ids.tolist()) <= eligible_ids


@pytest.mark.parametrize("name", SPECS)
def test_exact_path_equals_brute_force(index: PartitionedIndex, name: str) -> None:
    spec = SPECS[name]
    for query in queries(10):
        hits, plan = index.search(query, K, spec)
        if plan.path == "approximate":
            continue
        expected = index.brute_force(query, K, spec)
        assert hits.ids.tolist() == expected.ids.tolist()
        np.testing.assert_allclose(hits.scores, expected.scores, rtol=1e-5)


def test_a_small_eligible_share_is_searched_exactly(index: PartitionedIndex) -> None:
    for name in ("a rare category and an alliance", "tiny", "nothing"):
        assert index.plan(SPECS[name]).path == "exact", name


def test_a_large_eligible_share_uses_the_approximate_index_with_high_recall(index: PartitionedIndex) -> None:
    spec = SPECS["everything"]
    assert index.plan(spec).path == "approximate"
    found = 0
    for query in queries(20):
        hits, _ = index.search(query, K, spec)
        found += len(set(hits.ids.tolist()) & set(index.brute_force(query, K, spec).ids.tolist()))
    assert found / (20 * K) >= 0.9


def test_estimates_are_exact_for_category_and_alliance(index: PartitionedIndex) -> None:
    for name in ("one category", "a rare category and an alliance", "nothing"):
        assert index.estimate(SPECS[name]) == index.eligible_bitmap(SPECS[name])[1], name


def test_without_an_approximate_index_everything_is_exact() -> None:
    rng = np.random.default_rng(3)
    n = 500
    columns = Columns(
        category=rng.integers(0, 3, n).astype(np.int16),
        alliances=np.zeros(n, dtype=np.uint64),
        region=np.zeros(n, dtype=np.int16),
        verified=np.ones(n, dtype=bool),
        family=np.zeros(n, dtype=np.int8),
        canonical=rng.random(n),
    )
    small = PartitionedIndex(np.arange(n, dtype=np.int64), clustered(rng, n, 8), columns, approximate=False)
    query = clustered(rng, 1, 8)[0]
    hits, plan = small.search(query, K, FilterSpec())
    assert plan.path == "exact"
    assert hits.ids.tolist() == small.brute_force(query, K, FilterSpec()).ids.tolist()
