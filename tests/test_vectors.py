"""Vector layer: the faiss and exact numpy indexes agree (STYLE 12), persist safely, and the embedders work.

Congruence is checked three ways on the same seeded data: faiss against numpy, and each against a brute-force
numpy argsort of the masked scores, with and without allowed-id filters, after upserts and removals.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from matchmaker.matching.engine import shared_embedder
from matchmaker.vectors.embedder import (
    Embedder,
    EmbedderUnavailable,
    ModelIdentity,
    load_embedder,
    normalise,
    packaged_minilm_path,
)
from matchmaker.vectors.index import (
    FaissIndex,
    Hits,
    IndexMismatch,
    MappedIndex,
    NumpyIndex,
    load_index,
    new_index,
    top_k,
)

DIM = 32
COUNT = 500
QUERIES = 5
TOLERANCE = 1e-5
IDENTITY = ModelIdentity(name="test-model", version="1.0", dim=DIM)
KINDS = ["numpy", "faiss", "mapped"]

Store = dict[int, npt.NDArray[np.float32]]
Stage = tuple[NumpyIndex, FaissIndex, MappedIndex, Store]


def random_unit(rng: np.random.Generator, rows: int, dim: int = DIM) -> npt.NDArray[np.float32]:
    return normalise(rng.standard_normal((rows, dim)))


def brute_force(store: Store, query: npt.NDArray[np.float32], k: int, allowed: npt.ArrayLike | None) -> Hits:
    """The exact answer: float64 scores of every stored vector, masked to the allowed ids, argsorted."""
    ids = np.array(sorted(store), dtype=np.int64)
    matrix = np.array([store[i] for i in ids.tolist()], dtype=np.float64).reshape(len(ids), -1)
    scores = matrix @ query.astype(np.float64).reshape(-1) if len(ids) else np.zeros(0)
    mask = np.ones(len(ids), dtype=bool) if allowed is None else np.isin(ids, np.asarray(allowed))
    masked = np.where(mask, scores, -np.inf)
    order = np.argsort(-masked, kind="stable")[: min(k, int(mask.sum()))]
    return Hits(ids=ids[order], scores=masked[order].astype(np.float32))


def exact_scores(store: Store, query: npt.NDArray[np.float32]) -> dict[int, float]:
    return {i: float(np.dot(v.astype(np.float64), query.astype(np.float64))) for i, v in store.items()}


def assert_same_hits(got: Hits, want: Hits, truth: dict[int, float], allowed: npt.ArrayLike | None) -> None:
    """Same length and scores position by position; ids equal up to ties (each id fits its position)."""
    assert got.ids.dtype == np.int64
    assert len(got.ids) == len(want.ids) == len(got.scores)
    assert len(set(got.ids.tolist())) == len(got.ids), "an id returned twice"
    np.testing.assert_allclose(got.scores, want.scores, atol=TOLERANCE)
    assert np.all(np.diff(got.scores) <= TOLERANCE), "not best first"
    permitted = set(truth) if allowed is None else set(truth) & set(np.asarray(allowed).tolist())
    for position, identifier in enumerate(got.ids.tolist()):
        assert identifier in permitted
        # Where ids differ from the oracle's, they must be tied with it: the true score fits the position.
        assert truth[identifier] == pytest.approx(float(want.scores[position]), abs=TOLERANCE)


# --- the data, in three stages: fresh, after upserts (replacements and new ids), after removals ---------


def _build(stage: str, directory: Path) -> Stage:
    """The three indexes after the same changes. The mapped one holds the first rows in a saved file,
    mapped when loaded, and the changes in memory beside it."""
    rng = np.random.default_rng(20240611)
    # Sparse, unordered database ids, so a position can never pass for an id.
    ids = rng.choice(np.arange(1, 1_000_000), size=COUNT, replace=False).astype(np.int64)
    vectors = random_unit(rng, COUNT)
    exact, flat, first = NumpyIndex(DIM), FaissIndex(DIM), MappedIndex(DIM)
    store: Store = {}
    for index in (exact, flat, first):
        index.upsert(ids, vectors)
    first.save(directory, identity=IDENTITY)
    mapped = MappedIndex.load(directory, identity=IDENTITY)
    store.update(zip(ids.tolist(), vectors, strict=True))
    if stage in ("upserted", "removed"):
        replaced = rng.choice(ids, size=100, replace=False)
        fresh = np.arange(2_000_000, 2_000_050, dtype=np.int64)
        changed_ids = np.concatenate([replaced, fresh])
        changed = random_unit(rng, len(changed_ids))
        for index in (exact, flat, mapped):
            index.upsert(changed_ids, changed)
        store.update(zip(changed_ids.tolist(), changed, strict=True))
    if stage == "removed":
        doomed = np.concatenate(
            [rng.choice(np.array(sorted(store)), size=120, replace=False), [-5, 3_000_000]]
        )
        for index in (exact, flat, mapped):
            index.remove(doomed)
        for identifier in doomed.tolist():
            store.pop(identifier, None)
    return exact, flat, mapped, store


@pytest.fixture(scope="module")
def stages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Stage]:
    return {
        stage: _build(stage, tmp_path_factory.mktemp(stage)) for stage in ("fresh", "upserted", "removed")
    }


def allowed_ids(rng: np.random.Generator, store: Store, size: str) -> npt.NDArray[np.int64] | None:
    present = np.array(sorted(store), dtype=np.int64)
    if size == "none":
        return None
    if size == "all":
        return rng.permutation(present)
    if size == "with-foreign":
        # Ids the index does not hold (never inserted, or removed) must simply be ignored.
        foreign = np.array([-1, 0, 999_999_999, 5_000_000], dtype=np.int64)
        return rng.permutation(np.concatenate([rng.choice(present, size=40, replace=False), foreign]))
    return rng.choice(present, size=int(size), replace=False)


@pytest.mark.parametrize("stage", ["fresh", "upserted", "removed"])
@pytest.mark.parametrize("k", [1, 10, 50])
@pytest.mark.parametrize("allowed_size", ["none", "0", "1", "5", "100", "all", "with-foreign"])
def test_faiss_numpy_and_brute_force_agree(
    stages: dict[str, Stage], stage: str, k: int, allowed_size: str
) -> None:
    exact, flat, mapped, store = stages[stage]
    rng = np.random.default_rng([k, len(allowed_size), len(stage)])
    for _ in range(QUERIES):
        query = random_unit(rng, 1)[0]
        allowed = allowed_ids(rng, store, allowed_size)
        truth = exact_scores(store, query)
        oracle = brute_force(store, query, k, allowed)
        exact_hits = exact.search(query, k, allowed=allowed)
        flat_hits = flat.search(query, k, allowed=allowed)
        mapped_hits = mapped.search(query, k, allowed=allowed)
        assert_same_hits(exact_hits, oracle, truth, allowed)
        assert_same_hits(flat_hits, oracle, truth, allowed)
        assert_same_hits(mapped_hits, oracle, truth, allowed)
        assert_same_hits(flat_hits, exact_hits, truth, allowed)
        expected = len(store) if allowed is None else len(set(store) & set(allowed.tolist()))
        assert len(exact_hits.ids) == min(k, expected)


@pytest.mark.parametrize("stage", ["fresh", "upserted", "removed"])
def test_indexes_hold_the_same_entries(stages: dict[str, Stage], stage: str) -> None:
    *indexes, store = stages[stage]
    for index in indexes:
        assert len(index) == len(store)
        assert sorted(index.ids().tolist()) == sorted(store)
        for identifier in sorted(store)[:: len(store) // 25]:
            np.testing.assert_array_equal(index.vector(identifier), store[identifier])


@pytest.mark.parametrize("stage", ["fresh", "upserted", "removed"])
def test_similarities_agree_in_the_order_given(stages: dict[str, Stage], stage: str) -> None:
    *indexes, store = stages[stage]
    rng = np.random.default_rng(7)
    query = random_unit(rng, 1)[0]
    asked = np.concatenate([rng.choice(np.array(sorted(store)), size=30, replace=False), [-3, 4_000_000]])
    asked = rng.permutation(asked)
    truth = exact_scores(store, query)
    expected = np.array([truth.get(int(i), np.nan) for i in asked])
    for index in indexes:
        got = index.similarities(query, asked)
        np.testing.assert_allclose(got, expected, atol=TOLERANCE)  # NaN where not indexed, in both
        assert np.isnan(got).sum() == 2


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_vector_is_a_key_error(kind: str) -> None:
    index = new_index(kind, 4)
    index.upsert([1], normalise([[1, 0, 0, 0]]))
    with pytest.raises(KeyError):
        index.vector(2)


@pytest.mark.parametrize("kind", KINDS)
def test_empty_index_searches_to_nothing(kind: str) -> None:
    index = new_index(kind, DIM)
    query = random_unit(np.random.default_rng(1), 1)[0]
    for allowed in (None, np.array([], dtype=np.int64), np.array([1, 2], dtype=np.int64)):
        hits = index.search(query, 10, allowed=allowed)
        assert hits.ids.tolist() == [] and hits.scores.tolist() == []


def test_repeated_allowed_ids_count_once_in_both_indexes() -> None:
    vectors = normalise([[1, 0], [0, 1]])
    results = []
    for kind in KINDS:
        index = new_index(kind, 2)
        index.upsert([1, 2], vectors)
        results.append(index.search(vectors[0], 5, allowed=np.array([1, 1, 2])).ids.tolist())
    assert results == [[1, 2]] * len(KINDS)


def test_top_k_breaks_ties_at_the_cut_by_the_smaller_id() -> None:
    ids = np.arange(10, 0, -1, dtype=np.int64)  # 10, 9, ..., 1, all with the same score
    assert top_k(ids, np.ones(10, dtype=np.float32), 3).ids.tolist() == [1, 2, 3]


@pytest.mark.parametrize("kind", KINDS)
def test_both_indexes_break_ties_at_the_cut_by_the_smaller_id(kind: str) -> None:
    index = new_index(kind, 2)
    index.upsert(list(range(20, 0, -1)), normalise([[1, 0]] * 20))
    assert index.search(normalise([[1, 0]])[0], 3).ids.tolist() == [1, 2, 3]


def test_a_mapped_index_takes_back_an_id_removed_from_its_file_or_its_memory(tmp_path: Path) -> None:
    first = MappedIndex(2)
    first.upsert([1, 2], normalise([[1, 0], [0, 1]]))
    first.save(tmp_path, identity=ModelIdentity(name="test-model", version="1.0", dim=2))
    index = MappedIndex.load(tmp_path, identity=ModelIdentity(name="test-model", version="1.0", dim=2))
    index.upsert([3], normalise([[1, 1]]))
    index.remove([1, 3])  # one from the file, one from memory
    assert sorted(index.ids().tolist()) == [2]
    index.upsert([1, 3], normalise([[0, 1], [1, 0]]))  # both back, with other vectors
    assert sorted(index.ids().tolist()) == [1, 2, 3] and len(index) == 3
    np.testing.assert_allclose(
        index.similarities(normalise([[1, 0]])[0], np.array([1, 3, 4])), [0, 1, np.nan]
    )
    assert index.search(normalise([[1, 0]])[0], 1).ids.tolist() == [3]


def test_a_mapped_index_keeps_answering_from_its_file_while_another_worker_saves_over_it(
    tmp_path: Path,
) -> None:
    """Two workers map one save; one of them changes rows and saves (a new file renamed over the old).
    The other keeps the file it mapped, with its own changes; a worker started afterwards maps the new
    save."""
    identity = ModelIdentity(name="test-model", version="1.0", dim=2)
    first = MappedIndex(2)
    first.upsert([1, 2], normalise([[1, 0], [0, 1]]))
    first.save(tmp_path, identity=identity)
    saver = MappedIndex.load(tmp_path, identity=identity)
    other = MappedIndex.load(tmp_path, identity=identity)
    saver.upsert([1, 3], normalise([[0, 1], [1, 1]]))
    saver.remove([2])
    saver.save(tmp_path, identity=identity)
    other.upsert([4], normalise([[1, 0]]))
    query = normalise([[1, 0]])[0]
    asked = np.array([1, 2, 3, 4])
    np.testing.assert_allclose(other.similarities(query, asked), [1, 0, np.nan, 1], atol=1e-6)
    later = MappedIndex.load(tmp_path, identity=identity)
    np.testing.assert_allclose(later.similarities(query, asked), [0, np.nan, 2**-0.5, np.nan], atol=1e-6)
    assert sorted(later.ids().tolist()) == [1, 3]


def test_top_k_orders_ties_by_id_when_nothing_is_cut() -> None:
    ids = np.array([5, 3, 9, 1], dtype=np.int64)
    hits = top_k(ids, np.array([0.5, 0.9, 0.5, 0.5], dtype=np.float32), 4)
    assert hits.ids.tolist() == [3, 1, 5, 9]


# --- persistence -----------------------------------------------------------------------------------


@pytest.fixture(params=KINDS)
def saved(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path, Store]]:
    kind: str = request.param
    rng = np.random.default_rng(99)
    ids = rng.choice(np.arange(1, 100_000), size=200, replace=False)
    vectors = random_unit(rng, 200)
    index = new_index(kind, DIM)
    index.upsert(ids, vectors)
    index.remove(ids[:20])
    index.save(tmp_path, identity=IDENTITY, extra={"pipeline": "abc"})
    yield kind, tmp_path, dict(zip(ids[20:].tolist(), vectors[20:], strict=True))


def test_round_trip_gives_the_same_results(saved: tuple[str, Path, Store]) -> None:
    kind, directory, store = saved
    loaded = load_index(kind, directory, identity=IDENTITY)
    assert isinstance(loaded, {"faiss": FaissIndex, "numpy": NumpyIndex, "mapped": MappedIndex}[kind])
    assert len(loaded) == len(store)
    assert sorted(loaded.ids().tolist()) == sorted(store)
    rng = np.random.default_rng(3)
    for k, allowed in ((10, None), (5, rng.choice(np.array(sorted(store)), 30, replace=False)), (200, None)):
        query = random_unit(rng, 1)[0]
        truth = exact_scores(store, query)
        assert_same_hits(
            loaded.search(query, k, allowed), brute_force(store, query, k, allowed), truth, allowed
        )


def test_manifest_records_the_model_and_count(saved: tuple[str, Path, Store]) -> None:
    kind, directory, store = saved
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["kind"] == kind
    assert manifest["model"] == {"name": "test-model", "version": "1.0", "dim": DIM}
    assert manifest["count"] == len(store)
    assert manifest["pipeline"] == "abc"
    assert manifest["built_at"]


@pytest.mark.parametrize(
    "other",
    [
        ModelIdentity(name="other-model", version="1.0", dim=DIM),
        ModelIdentity(name="test-model", version="2.0", dim=DIM),
        ModelIdentity(name="test-model", version="1.0", dim=DIM * 2),
    ],
    ids=["name", "version", "dim"],
)
def test_loading_under_another_model_is_refused(saved: tuple[str, Path, Store], other: ModelIdentity) -> None:
    kind, directory, _ = saved
    with pytest.raises(IndexMismatch, match="matchmaker index rebuild"):
        load_index(kind, directory, identity=other)


def test_loading_as_another_kind_is_refused(saved: tuple[str, Path, Store]) -> None:
    kind, directory, _ = saved
    other = "numpy" if kind == "faiss" else "faiss"
    with pytest.raises(IndexMismatch, match="matchmaker index rebuild"):
        load_index(other, directory, identity=IDENTITY)


# --- the real embedders ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def use_model() -> Embedder:
    return shared_embedder("use")


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return load_embedder("minilm")


def assert_unit_rows(vectors: npt.NDArray[np.float32], rows: int, dim: int) -> None:
    assert vectors.dtype == np.float32
    assert vectors.shape == (rows, dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def cos(embedder: Embedder, a: str, b: str) -> float:
    vectors = embedder.encode_documents([a, b])
    return float(vectors[0] @ vectors[1])


def test_default_model_gives_512_d_unit_rows(use_model: Embedder) -> None:
    assert use_model.identity.dim == 512
    texts = ["绿氢", "green hydrogen", "low-carbon cement for precast elements", "光伏组件"]
    assert_unit_rows(use_model.encode_documents(texts), 4, 512)
    assert_unit_rows(use_model.encode_queries(texts), 4, 512)
    assert use_model.encode_documents([]).shape == (0, 512)
    assert shared_embedder("use") is use_model  # one model per process


@pytest.mark.parametrize(
    ("chinese", "english", "unrelated"),
    [
        ("绿氢", "green hydrogen", "office chairs and desks"),
        ("低碳水泥", "low-carbon cement", "office chairs and desks"),
        ("电弧炉短流程钢", "electric arc furnace steel", "organic pesticide formulation"),
        ("光伏组件", "solar PV modules", "green hydrogen"),
    ],
)
def test_default_model_puts_a_translation_nearer_than_an_unrelated_text(
    use_model: Embedder, chinese: str, english: str, unrelated: str
) -> None:
    assert cos(use_model, chinese, english) > cos(use_model, chinese, unrelated)
    assert cos(use_model, chinese, english) > cos(use_model, english, unrelated)


def test_minilm_gives_384_d_unit_rows_under_a_stable_name(minilm: Embedder) -> None:
    assert minilm.identity.name == "st:all-MiniLM-L6-v2"
    assert minilm.identity.dim == 384
    texts = ["electric arc furnace steel", "EAF scrap-based rebar", "green hydrogen electrolysis"]
    assert_unit_rows(minilm.encode_documents(texts), 3, 384)
    assert_unit_rows(minilm.encode_queries(texts), 3, 384)
    assert minilm.encode_queries([]).shape == (0, 384)


def test_minilm_matches_the_raw_sentence_transformer(minilm: Embedder) -> None:
    from sentence_transformers import SentenceTransformer

    texts = ["electric arc furnace steel", "EAF scrap-based rebar", "green hydrogen electrolysis"]
    raw = SentenceTransformer(packaged_minilm_path(), device="cpu").encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(minilm.encode_documents(texts), raw, atol=1e-5)


def test_minilm_puts_related_steel_texts_nearer(minilm: Embedder) -> None:
    # MiniLM does not know the abbreviation "EAF": raw, "electric arc furnace steel" is nearer to
    # "green hydrogen electrolysis" (0.13) than to "EAF scrap-based rebar" (0.05). Spelled out, it is near.
    steel = "electric arc furnace steel"
    assert cos(minilm, steel, "scrap-based rebar from an electric arc furnace") > cos(
        minilm, steel, "green hydrogen electrolysis"
    )
    assert cos(minilm, "green hydrogen electrolysis", "PEM electrolyser for hydrogen production") > cos(
        minilm, "green hydrogen electrolysis", "scrap-based rebar from an electric arc furnace"
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("st:/no/such/path", "cannot load sentence-transformers model '/no/such/path'"),
        ("nonsense", "unknown model 'nonsense': use 'use', 'minilm' or 'st:"),
        ("st:", "unknown model 'st:'"),
    ],
)
def test_unloadable_models_are_refused_clearly(spec: str, message: str) -> None:
    with pytest.raises(EmbedderUnavailable) as caught:
        load_embedder(spec)
    assert message in str(caught.value)


@pytest.mark.parametrize("kind", ["faiss", "mapped"])
@pytest.mark.parametrize("base", [0, 10**12], ids=["table by id", "sorted ids"])
def test_rows_stay_right_through_batches_of_new_changed_and_removed_ids(
    kind: str, base: int, tmp_path: Path
) -> None:
    """Rows are looked up in a table by id (a database's ids) or through ids sorted once (ids far larger
    than their count), either merged with each batch added, not built again; a far larger id arriving
    halfway turns the table into sorted ids. The mapped index is saved and mapped again every 15 steps, so
    its changes land on a saved file as well as in memory."""
    rng = np.random.default_rng(13)
    index, truth = new_index(kind, 8), dict[int, np.ndarray]()
    identity = ModelIdentity(name="test-model", version="1.0", dim=8)
    fresh = base
    for step in range(60):
        if kind == "mapped" and step % 15 == 14:
            index.save(tmp_path, identity=identity)
            index = load_index(kind, tmp_path, identity=identity)
        if step == 30:
            far = np.asarray([base + 5 * 10**11], dtype=np.int64)
            vector = normalise(rng.normal(size=(1, 8)))
            index.upsert(far, vector)
            truth[int(far[0])] = vector[0]
        draw = rng.random()
        if draw < 0.5:  # ids never seen: rows appended, the lookup merged
            size = int(rng.integers(1, 40))
            ids = rng.permutation(np.arange(fresh, fresh + size))
            fresh += size
            vectors = normalise(rng.normal(size=(len(ids), 8)))
            index.upsert(ids, vectors)
            truth.update(zip(ids.tolist(), vectors, strict=True))
        elif draw < 0.8:  # some held, some not
            ids = base + rng.choice(fresh - base + 10, size=int(rng.integers(1, 20)), replace=False)
            vectors = normalise(rng.normal(size=(len(ids), 8)))
            index.upsert(ids, vectors)
            truth.update(zip(ids.tolist(), vectors, strict=True))
        else:
            doomed = base + rng.choice(fresh - base + 10, size=int(rng.integers(1, 10)), replace=False)
            index.remove(doomed)
            for identifier in doomed.tolist():
                truth.pop(identifier, None)
        held = np.asarray(sorted(truth), dtype=np.int64)
        assert sorted(index.ids().tolist()) == held.tolist()
        query = normalise(rng.normal(size=(1, 8)))[0]
        never = [base + 10_000, base + 10**9, -1]  # never indexed (beyond any table; negative)
        asked = np.concatenate([held, never])
        expected = [float(truth[i] @ query) for i in held.tolist()]
        scores = index.similarities(query, asked)
        np.testing.assert_allclose(scores[: len(held)], expected, atol=1e-6)
        assert np.isnan(scores[len(held) :]).all()
