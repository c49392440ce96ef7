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
    # A small exact limit and small groups with inverted lists, so that both paths run at this size.
    settings = PlannerSettings(exact_rows=200, exact_share=0.02, nprobe=16, gather_rows=16)
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
        if plan.path != "exact":
            continue  # approximate, in some groups at least
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


def exact_only(index: PartitionedIndex) -> PartitionedIndex:
    """The same rows and columns, planned to search exactly at any share eligible."""
    settings = PlannerSettings(exact_share=1.0, gather_rows=16)
    return PartitionedIndex(index.ids, index.vectors, index.columns, settings=settings)


@pytest.mark.parametrize("share", [0.0001, 0.001, 0.01, 0.02, 0.10, 0.50, 1.0])
def test_the_exact_path_equals_brute_force_at_every_selectivity(
    index: PartitionedIndex, share: float
) -> None:
    exact = exact_only(index)
    rng = np.random.default_rng(int(share * 10_000))
    # A filter passing about `share` of the rows: a random subset of regions and, below 1%, one category.
    regions = frozenset(int(r) for r in rng.permutation(30)[: max(1, round(30 * min(1.0, share * 17)))])
    spec = (
        FilterSpec(categories=frozenset({3}), regions=regions)
        if share < 0.05
        else FilterSpec(regions=frozenset(int(r) for r in rng.permutation(30)[: max(1, round(30 * share))]))
    )
    for query in queries(15):
        hits, plan = exact.search(query, K, spec)
        assert plan.path == "exact"
        expected = exact.brute_force(query, K, spec)
        assert hits.ids.tolist() == expected.ids.tolist()
        assert plan.eligible == exact.eligible_bitmap(spec)[1]


def test_near_ties_are_settled_exactly_by_a_second_look() -> None:
    """Rows closer together than the 8-bit codes can tell apart: the first candidates cannot prove the top k,
    so the search fetches every row the codes leave a chance, and still returns the brute-force answer."""
    rng = np.random.default_rng(5)
    n, dim = 3_000, 64
    base = clustered(rng, 1, dim)[0]
    vectors = base + 0.002 * rng.standard_normal((n, dim)).astype(np.float32)
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    columns = Columns(
        category=np.zeros(n, dtype=np.int16),
        alliances=np.zeros(n, dtype=np.uint64),
        region=rng.integers(0, 3, n).astype(np.int16),
        verified=np.ones(n, dtype=bool),
        family=np.zeros(n, dtype=np.int8),
        canonical=rng.random(n),
    )
    settings = PlannerSettings(exact_share=1.0, gather_rows=16)
    ties = PartitionedIndex(np.arange(n, dtype=np.int64), vectors, columns, settings=settings)
    for spec in (FilterSpec(), FilterSpec(regions=frozenset({1}))):
        hits, plan = ties.search(base, K, spec)
        assert plan.rescans >= 1
        assert hits.ids.tolist() == ties.brute_force(base, K, spec).ids.tolist()


def test_a_query_far_from_every_eligible_row_is_searched_exactly_and_never_short() -> None:
    """Anti-correlated filter: eligible rows sit in one region of the space, the query in another, so the
    IVF lists nearest the query hold no eligible row and the group falls back to the exact path."""
    rng = np.random.default_rng(9)
    n, dim = 4_000, 32
    east, west = clustered(rng, 2, dim)
    near_east = rng.random(n) < 0.7
    vectors = np.where(near_east[:, None], east, west) + 0.3 * rng.standard_normal((n, dim))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    columns = Columns(
        category=np.zeros(n, dtype=np.int16),
        alliances=np.zeros(n, dtype=np.uint64),
        region=np.where(near_east, 0, 1).astype(np.int16),  # the region says which side a row is on
        verified=np.ones(n, dtype=bool),
        family=np.zeros(n, dtype=np.int8),
        canonical=rng.random(n),
    )
    settings = PlannerSettings(exact_rows=100, nprobe=1)
    split = PartitionedIndex(np.arange(n, dtype=np.int64), vectors, columns, settings=settings)
    spec = FilterSpec(regions=frozenset({1}))  # only the west side, about 30% of the rows
    assert split.plan(spec).path == "approximate"
    hits, plan = split.search(east, K, spec)  # a query on the east side
    assert plan.path == "fallback"
    assert hits.ids.tolist() == split.brute_force(east, K, spec).ids.tolist()
    hits, plan = split.search(west, K, spec)  # on the west side the probes find enough
    assert plan.path == "approximate"
    assert len(hits.ids) == K


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
