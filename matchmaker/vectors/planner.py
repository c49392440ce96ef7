"""Filtered vector search that plans each query: exact by certificate below a crossover, IVF above it.

Rows are sorted by (category, footprint unit family, alliance set, region), so every filter on those selects
whole runs of rows: contiguous spans, found from the run table without looking at a row (a footprint
ceiling fixes the family). Filters that do not follow the sort (verified, the ceiling's value) are a bitmap
over the spans' rows.

What is stored, per row: the float32 vector (the raw bytes: exact scores are the promise), an 8-bit code of
it (uniform scalar quantizer, a quarter of the bytes), the filter columns, its row number filed under the
nearest of about 2 x sqrt(n) k-means centroids (the approximate path's coarse lists), and a row number
array for FAISS: about 1.28x the raw vectors at 512 dimensions.

Two paths, both re-scoring their candidates exactly from the float32 rows:
- exact: the 8-bit codes of the selected spans are scanned in SIMD (FAISS's scanner on slices of one code
  matrix, no copy). A code's score is off by at most |q| x E (E: the largest reconstruction error among
  the scanned runs), so once the best m candidates are re-scored, every row left unfetched scores at most
  (the m-th code score) + |q| E exactly; when that is below the k-th exact score the top k is proven.
  Otherwise a range scan fetches every row whose code score is above (k-th exact score - |q| E), and
  those are re-scored, best code first, until the next cannot reach the k-th exact score. The result
  equals a float32 brute force, apart from ties (which, as everywhere, go to the smaller id).
- approximate: the eligible rows of the lists whose centroids are nearest the query, scored by their codes,
  the best re-scored exactly. Lists are taken nearest first, skipping those holding no row of the wanted
  categories, until they are expected to hold a fixed number of eligible rows (so a query far from the
  wanted categories still sees eligible rows, and as many at 10% as at 50%). When that returns fewer
  than min(k, eligible) rows it probes 8x more lists once, and if that is still short it goes exact.

The planner counts the rows the sorted filters select exactly from the run table, estimates the share the
other filters keep from a fixed sample, and searches exactly up to 12% of rows (or 60,000 rows).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from matchmaker.vectors.index import Hits, top_k

Path = Literal["exact", "approximate", "fallback"]
# FAISS sums code scores in float32: slack for its rounding on top of the quantization error bound.
ROUNDING_SLACK = 1e-4
# Above this many spans, scan whole categories with a bitmap instead (a FAISS call per span costs ~3 us).
MAX_SPANS = 64
# Up to this many rows in the chosen runs, the rows are listed and filtered one by one.
LIST_ROWS_UP_TO = 65_536
Mask = npt.NDArray[np.bool_]
ExactScores = Callable[[npt.NDArray[np.int64], npt.NDArray[np.float32]], npt.NDArray[np.float32]]


@dataclass(frozen=True)
class Columns:
    """Per-row filter columns, aligned with the vectors."""

    category: npt.NDArray[np.int16]
    alliances: npt.NDArray[np.uint64]  # bit i set: the supplier is a member of alliance i
    region: npt.NDArray[np.int16]
    verified: npt.NDArray[np.bool_]
    family: npt.NDArray[np.int8]  # unit family code, -1 without a footprint
    canonical: npt.NDArray[np.float64]  # footprint in the family's base unit, NaN without one

    def take(self, order: npt.NDArray[np.int64]) -> Columns:
        return Columns(*(getattr(self, name)[order] for name in self.__dataclass_fields__))

    def __len__(self) -> int:
        return len(self.category)


@dataclass(frozen=True)
class Runs:
    """Maximal runs of rows with equal (category, unit family, alliance set, region) in the sorted order."""

    lo: npt.NDArray[np.int64]
    hi: npt.NDArray[np.int64]
    category: npt.NDArray[np.int16]
    family: npt.NDArray[np.int8]
    alliances: npt.NDArray[np.uint64]
    region: npt.NDArray[np.int16]

    @classmethod
    def of(cls, columns: Columns) -> Runs:
        keys: list[npt.NDArray[Any]] = [columns.category, columns.family, columns.alliances, columns.region]
        n = len(columns)
        if n == 0:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty, *(key[:0] for key in keys))
        change = np.zeros(n - 1, dtype=bool)
        for key in keys:
            change |= key[1:] != key[:-1]
        lo = np.concatenate([[0], np.flatnonzero(change) + 1]).astype(np.int64)
        hi = np.concatenate([lo[1:], [n]]).astype(np.int64)
        return cls(lo, hi, *(key[lo] for key in keys))

    def __len__(self) -> int:
        return len(self.lo)


@dataclass(frozen=True)
class FilterSpec:
    """Hard filters as column predicates (codes, not names)."""

    categories: frozenset[int] | None = None
    alliance_bit: int | None = None
    regions: frozenset[int] | None = None
    verified_only: bool = False
    family: int | None = None
    max_canonical: float | None = None

    def run_mask(self, runs: Runs) -> Mask:
        """The runs the sorted filters (category, unit family, alliance, region) select."""
        ok = np.ones(len(runs), dtype=bool)
        if self.categories is not None:
            ok &= _lookup(self.categories, runs.category)
        if self.family is not None:
            ok &= runs.family == self.family
        if self.alliance_bit is not None:
            ok &= (runs.alliances & np.uint64(1 << self.alliance_bit)) != 0
        if self.regions is not None:
            ok &= _lookup(self.regions, runs.region)
        return ok

    @property
    def filters_rows(self) -> bool:
        """Whether some filter has to look at rows (the sort does not decide it)."""
        return self.verified_only or (self.family is not None and self.max_canonical is not None)

    def row_mask(self, columns: Columns, lo: int, hi: int) -> Mask | None:
        """The rows lo:hi passing the filters the sort does not decide (None: all pass). The unit family
        is decided by the runs; the ceiling compares footprints in that family's base unit."""
        mask: Mask | None = columns.verified[lo:hi] if self.verified_only else None
        if self.family is not None and self.max_canonical is not None:
            with np.errstate(invalid="ignore"):
                ok = columns.canonical[lo:hi] <= self.max_canonical
            mask = ok if mask is None else mask & ok
        return mask


def _lookup(wanted: frozenset[int], codes: npt.NDArray[np.int16]) -> Mask:
    """codes in wanted, by a lookup table: one index per code instead of a set search."""
    size = max(int(codes.max(initial=0)), max(wanted, default=0)) + 1
    table = np.zeros(size, dtype=bool)
    table[[w for w in wanted if w >= 0]] = True
    return table[codes.astype(np.int64)]


@dataclass(frozen=True)
class Plan:
    path: Path  # "fallback": the approximate path returned too few rows, so the exact one ran
    estimated: int  # rows the planner expected to be eligible
    eligible: int | None  # rows known eligible (counted by the path that ran), None if not counted
    rescans: int = 0  # exact path: times the codes were scanned again because the first look proved nothing


@dataclass
class PlannerSettings:
    # At or below this share of rows eligible, search exactly: approximate search loses recall there (most
    # with filters anti-correlated with the query), and scanning 8-bit codes keeps exact cheap (at 10% of
    # 1M rows, measured 13 ms: about 1/5 of numpy's gather-then-matmul, 1/10 of its masked scan).
    exact_share: float = 0.12
    # ... and always exactly below this many rows, whatever their share.
    # (Exact scans about 20k rows in 2.4 ms and 100k in 14 ms; the approximate path costs about 10 ms.)
    exact_rows: int = 60_000
    # IVF lists (None: 2 x sqrt(rows)); lists probed when every row passes (more when fewer do).
    nlist: int | None = None
    # At 1M rows, 50% eligible, queries far from what passes: recall@10 0.916 with 64, 0.970 with 160
    # (25 ms, about 1/5 of numpy's masked scan).
    nprobe: int = 160
    # When the probed lists hold fewer than k eligible rows, probe this many times more once, then go exact.
    widen: int = 8
    # Candidates fetched per result and re-scored exactly.
    rescore_factor: int = 8
    # At or below this many eligible rows, score them from float32 directly.
    gather_rows: int = 256
    sample_size: int = 4096
    seed: int = 0


@dataclass(frozen=True)
class _Selection:
    """The rows one query's filters select: spans of rows, and a bitmap when spans alone do not say it."""

    spans: list[tuple[int, int]]
    bitmap: Mask | None  # over all rows; None: every row of the spans is eligible
    count: int
    max_error: float  # the largest code error among the selected runs
    rows: npt.NDArray[np.int64] | None = None  # the eligible rows, when they were listed (few of them)
    gather: bool = False  # scan the listed rows' codes, gathered, rather than the spans


class PartitionedIndex:
    """Exact-or-approximate filtered search over rows sorted into contiguous filter runs."""

    def __init__(
        self,
        ids: npt.NDArray[np.int64],
        vectors: npt.NDArray[np.float32],
        columns: Columns,
        *,
        settings: PlannerSettings | None = None,
        approximate: bool = True,
        progress: Callable[[str], None] | None = None,
        exact_scores: ExactScores | None = None,
    ) -> None:
        """`exact_scores`: where the float32 scores of re-scoring come from, given ids and the query, when
        the caller holds the vectors already (the matching index): the planner then keeps only their codes
        after it is built, not a second copy of the vectors."""
        self.settings = settings or PlannerSettings()
        order = np.lexsort((columns.region, columns.alliances, columns.family, columns.category))
        self._order = order.astype(np.int64)  # row i holds the vector given at position order[i]
        self.ids = np.ascontiguousarray(ids[order])
        in_order = bool(np.all(order[1:] > order[:-1]))  # already sorted: no copy of the vectors
        self.vectors = np.ascontiguousarray(vectors if in_order else vectors[order], dtype=np.float32)
        self.columns = columns.take(order)
        self.runs = Runs.of(self.columns)
        self._rows = np.arange(len(ids), dtype=np.int64)  # row numbers, handed to FAISS as the codes' ids
        self._quantizer, self._codes, self._run_error = self._encode(progress)
        rng = np.random.default_rng(self.settings.seed)
        self._sample = np.sort(
            rng.choice(len(ids), size=min(len(ids), self.settings.sample_size), replace=False)
        )
        self._sample_run = np.searchsorted(self.runs.lo, self._sample, side="right") - 1
        self._lists: _Lists | None = (
            self._build_lists(progress) if approximate and len(ids) > self.settings.exact_rows else None
        )
        self._exact_scores = exact_scores
        if exact_scores is not None:
            self.vectors = np.zeros((0, self.vectors.shape[1]), dtype=np.float32)  # let go of the copy

    # --- structure ------------------------------------------------------------------------------------
    def _encode(self, progress: Callable[[str], None] | None) -> tuple[Any, Any, Any]:
        """8-bit codes of every row, and each run's largest reconstruction error (for the exact proof)."""
        import faiss

        n, dim = self.vectors.shape
        quantizer = faiss.ScalarQuantizer(dim, faiss.ScalarQuantizer.QT_8bit_uniform)
        rng = np.random.default_rng(self.settings.seed)
        train = self.vectors if n <= 65_536 else self.vectors[np.sort(rng.choice(n, 65_536, replace=False))]
        quantizer.train(np.ascontiguousarray(train))
        codes = np.empty((n, quantizer.code_size), dtype=np.uint8)
        errors = np.empty(n, dtype=np.float32)
        step = 100_000
        for start in range(0, n, step):
            chunk = self.vectors[start : start + step]
            codes[start : start + len(chunk)] = quantizer.compute_codes(chunk)
            decoded = quantizer.decode(codes[start : start + len(chunk)])
            errors[start : start + len(chunk)] = np.linalg.norm(decoded - chunk, axis=1)
            if progress and n > step:
                progress(f"8-bit codes: {start + len(chunk)}/{n} rows")
        run_error = np.maximum.reduceat(errors, self.runs.lo) if n else np.zeros(0, dtype=np.float32)
        return quantizer, codes, run_error.astype(np.float32)

    def _build_lists(self, progress: Callable[[str], None] | None) -> _Lists:
        """Coarse lists (k-means over a sample): each row's number filed under its nearest centroid."""
        import faiss

        n, dim = self.vectors.shape
        nlist = self.settings.nlist or int(max(16, min(4096, 2 * math.sqrt(n), n // 39)))
        rng = np.random.default_rng(self.settings.seed)
        train = self.vectors[np.sort(rng.choice(n, size=min(n, 40 * nlist), replace=False))]
        if progress:
            progress(f"k-means: {nlist} lists from {len(train)} vectors")
        kmeans = faiss.Kmeans(dim, nlist, niter=10, spherical=True, seed=self.settings.seed)
        kmeans.train(np.ascontiguousarray(train))
        centroids = np.ascontiguousarray(kmeans.centroids, dtype=np.float32)
        nearest = faiss.IndexFlatIP(dim)
        nearest.add(centroids)
        assigned = np.empty(n, dtype=np.int32)
        step = 100_000
        for start in range(0, n, step):
            _, found = nearest.search(self.vectors[start : start + step], 1)
            assigned[start : start + step] = found[:, 0]
            if progress and n > step:
                progress(f"lists: {min(n, start + step)}/{n} rows filed")
        rows = np.argsort(assigned, kind="stable").astype(np.int64)
        offsets = np.searchsorted(assigned[rows], np.arange(nlist + 1)).astype(np.int64)
        categories = int(self.columns.category.max(initial=0)) + 1
        per_category = np.zeros((nlist, categories), dtype=np.int32)
        np.add.at(per_category, (assigned, self.columns.category.astype(np.int64)), 1)
        return _Lists(centroids, rows, offsets, per_category)

    def nbytes(self) -> int:
        """Bytes held: float32 rows, ids, row numbers, filter columns, runs, 8-bit codes, coarse lists."""
        total = self.vectors.nbytes + self.ids.nbytes + self._rows.nbytes + self._codes.nbytes
        total += sum(getattr(self.columns, name).nbytes for name in self.columns.__dataclass_fields__)
        total += sum(getattr(self.runs, name).nbytes for name in self.runs.__dataclass_fields__)
        total += self._run_error.nbytes
        if self._lists is not None:
            lists = self._lists
            total += (
                lists.centroids.nbytes + lists.rows.nbytes + lists.offsets.nbytes + lists.per_category.nbytes
            )
        return int(total)

    def layout(self) -> dict[str, float]:
        """How the rows are organised: for benchmarks and logs."""
        return {
            "runs": len(self.runs),
            "ivf_lists": 0 if self._lists is None else len(self._lists.centroids),
            "largest_code_error": float(self._run_error.max(initial=0.0)),
        }

    def __len__(self) -> int:
        return len(self.ids)

    # --- planning -------------------------------------------------------------------------------------
    def estimate(self, spec: FilterSpec) -> int:
        """Rows expected to pass: exact for the sorted filters, times the sampled share passing the rest."""
        return self._estimate(spec, spec.run_mask(self.runs))

    def _estimate(self, spec: FilterSpec, run_ok: Mask) -> int:
        in_runs = int((self.runs.hi - self.runs.lo)[run_ok].sum())
        if in_runs == 0 or not spec.filters_rows:
            return in_runs
        picked = self._sample[run_ok[self._sample_run]]
        if len(picked) == 0:
            return in_runs  # too few sampled rows to refine: assume all pass
        passing = spec.row_mask(self.columns.take(picked), 0, len(picked))
        share = 1.0 if passing is None else float(passing.mean())
        return int(round(in_runs * share))

    def plan(self, spec: FilterSpec) -> Plan:
        return self._plan(spec, spec.run_mask(self.runs))

    def _plan(self, spec: FilterSpec, run_ok: Mask) -> Plan:
        estimated = self._estimate(spec, run_ok)
        return Plan(path=self.path_for(estimated), estimated=estimated, eligible=None)

    def path_for(self, eligible: int) -> Path:
        """The path a search over this many eligible rows takes first."""
        limit = max(self.settings.exact_rows, int(self.settings.exact_share * len(self)))
        return "exact" if self._lists is None or eligible <= limit else "approximate"

    # --- search ---------------------------------------------------------------------------------------
    def search(self, query: npt.NDArray[np.float32], k: int, spec: FilterSpec) -> tuple[Hits, Plan]:
        """The k best eligible rows by inner product, and how they were found."""
        run_ok = spec.run_mask(self.runs)
        plan = self._plan(spec, run_ok)
        selection = self._select(spec, run_ok, need_bitmap=plan.path == "approximate")
        return self._search_selection(query, k, spec, selection, plan)

    def search_within(self, query: npt.NDArray[np.float32], k: int, allowed: Mask) -> tuple[Hits, Plan]:
        """The k best rows among those `allowed` (a mask over the rows in the order they were given), by
        inner product: for a caller that decides eligibility itself. Exact or approximate as `search`
        plans it, by the count of allowed rows."""
        bitmap = np.ascontiguousarray(allowed[self._order], dtype=bool)
        count = int(np.count_nonzero(bitmap))
        path = self.path_for(count)
        if count == 0:
            return Hits.empty(), Plan(path, 0, 0)
        rows = np.flatnonzero(bitmap) if count <= LIST_ROWS_UP_TO else None
        selection = _Selection([(0, len(self))], bitmap, count, float(self._run_error.max(initial=0.0)), rows)
        return self._search_selection(query, k, FilterSpec(), selection, Plan(path, count, None))

    def _search_selection(
        self, query: npt.NDArray[np.float32], k: int, spec: FilterSpec, selection: _Selection, plan: Plan
    ) -> tuple[Hits, Plan]:
        query = np.ascontiguousarray(query.reshape(-1), dtype=np.float32)
        if plan.path == "approximate":
            order, cumulative = self._rank_lists(query, spec, selection.count)
            for widen in (1, self.settings.widen):
                # Lists until they are expected to hold `widen` x `nprobe` average lists of eligible rows.
                enough = int(np.searchsorted(cumulative, widen * self.settings.nprobe)) + 1
                hits = self._approximate(query, k, selection, order[:enough])
                if len(hits.ids) >= min(k, selection.count):
                    return hits, Plan("approximate", plan.estimated, selection.count)
            hits, rescans = self._exact(query, k, selection)
            return hits, Plan("fallback", plan.estimated, selection.count, rescans)
        hits, rescans = self._exact(query, k, selection)
        return hits, Plan("exact", plan.estimated, selection.count, rescans)

    def _select(self, spec: FilterSpec, run_ok: Mask, *, need_bitmap: bool) -> _Selection:
        chosen = np.flatnonzero(run_ok)
        if len(chosen) == 0:
            return _Selection([], None, 0, 0.0)
        max_error = float(self._run_error[chosen].max())
        lo, hi = self.runs.lo[chosen], self.runs.hi[chosen]
        joins = np.flatnonzero(lo[1:] != hi[:-1]) + 1  # adjacent runs merge into one span
        starts, ends = lo[np.concatenate([[0], joins])], hi[np.concatenate([joins - 1, [len(chosen) - 1]])]
        spans = list(zip(starts.tolist(), ends.tolist(), strict=True))
        total = int((hi - lo).sum())
        if total <= LIST_ROWS_UP_TO and (spec.filters_rows or len(spans) > MAX_SPANS):
            # Few rows in the chosen runs: list them and filter them, rather than mask every row around.
            rows = _ranges(lo, hi)
            passing = spec.row_mask(self.columns.take(rows), 0, total)
            rows = rows if passing is None else rows[passing]
            bitmap = np.zeros(len(self), dtype=bool)
            bitmap[rows] = True
            # Scattered rows: copying their codes (512 bytes each) beats a call per span or a bitmap
            # over whole categories.
            return _Selection(spans, bitmap, len(rows), max_error, rows, gather=len(spans) > MAX_SPANS)
        if len(spans) > MAX_SPANS:
            spans, need_bitmap = self._categories_around(chosen), True
        if not need_bitmap and not spec.filters_rows:
            return _Selection(spans, None, total, max_error)
        bitmap = np.zeros(len(self), dtype=bool)
        count = 0
        for start, end in spans:
            first, last = np.searchsorted(self.runs.lo, [start, end])
            inside = np.repeat(run_ok[first:last], (self.runs.hi - self.runs.lo)[first:last])
            passing = spec.row_mask(self.columns, start, end)
            if passing is not None:
                inside &= passing
            bitmap[start:end] = inside
            count += int(np.count_nonzero(inside))
        return _Selection(spans, bitmap, count, max_error)

    def _categories_around(self, chosen: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
        """The rows of each category the chosen runs touch, as spans: too many small spans make too many
        calls, so whole categories are scanned instead (the caller's bitmap keeps the chosen rows)."""
        touched = np.unique(self.runs.category[chosen])
        # Runs are sorted by category first, so each category's runs are contiguous.
        first = np.searchsorted(self.runs.category, touched, side="left")
        end = np.searchsorted(self.runs.category, touched, side="right")
        return [(int(self.runs.lo[a]), int(self.runs.hi[b - 1])) for a, b in zip(first, end, strict=True)]

    def _exact(self, query: npt.NDArray[np.float32], k: int, selection: _Selection) -> tuple[Hits, int]:
        """The k best selected rows, proven by the codes' error bound (see the module's notes), and whether
        the first look fell short of the proof (so a second scan ran)."""
        if selection.count <= max(self.settings.gather_rows, k):
            return self._rescore(self._selected_rows(selection), query, k), 0
        bound = float(np.linalg.norm(query)) * selection.max_error + ROUNDING_SLACK
        fetch = min(selection.count, max(k * self.settings.rescore_factor, 32))
        with _Scanner(self, query, selection) as scanner:
            codes, rows = scanner.best(fetch)
            hits = self._rescore(rows, query, k)
            # Every row not fetched scores at most codes[-1] + bound exactly: below the k-th score, done.
            if fetch >= selection.count or codes[-1] + bound < hits.scores[-1]:
                return hits, 0
            # Otherwise every row whose code leaves it a chance (code > k-th score - bound), best code first,
            # re-scored in batches until the next code cannot reach the k-th exact score found so far.
            codes, rows = scanner.above(float(hits.scores[-1]) - bound)
        # The rows first fetched are among these (their codes are above the threshold): start afresh.
        kth, found = float(hits.scores[-1]), Hits.empty()
        for start in range(0, len(rows), 1024):
            if codes[start] + bound < kth:
                break
            batch = self._rescore(rows[start : start + 1024], query, k)
            found = top_k(
                np.concatenate([found.ids, batch.ids]), np.concatenate([found.scores, batch.scores]), k
            )
            if len(found.ids) == k:
                kth = max(kth, float(found.scores[-1]))
        return found, 1

    def _rank_lists(
        self, query: npt.NDArray[np.float32], spec: FilterSpec, eligible: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Lists nearest the query first, skipping those without rows of the wanted categories, and the
        eligible rows they are expected to hold, cumulated in that order, in average lists' worth."""
        assert self._lists is not None
        lists = self._lists
        if spec.categories is None:
            wanted_rows = lists.per_category.sum(axis=1)
        else:
            wanted = [c for c in spec.categories if 0 <= c < lists.per_category.shape[1]]
            wanted_rows = lists.per_category[:, wanted].sum(axis=1)
        # Other filters are assumed to keep the same share of every list's wanted rows.
        expected = wanted_rows * (eligible / max(int(wanted_rows.sum()), 1))
        order = np.argsort(-(lists.centroids @ query), kind="stable")
        order = np.asarray(order[expected[order] > 0], dtype=np.int64)
        return order, np.cumsum(expected[order]) / (len(self) / len(lists.centroids))

    def _approximate(
        self, query: npt.NDArray[np.float32], k: int, selection: _Selection, nearest: npt.NDArray[np.int64]
    ) -> Hits:
        """The best eligible rows of the `nearest` lists, by code score, re-scored exactly."""
        assert self._lists is not None and selection.bitmap is not None
        lists = self._lists
        candidates = lists.rows[_ranges(lists.offsets[nearest], lists.offsets[nearest + 1])]
        candidates = candidates[selection.bitmap[candidates]]
        if len(candidates) == 0:
            return Hits.empty()
        fetch = min(len(candidates), k * self.settings.rescore_factor)
        with _Scanner(self, query, None) as scanner:
            _, rows = scanner.best(fetch, [(np.ascontiguousarray(self._codes[candidates]), candidates)])
        return self._rescore(rows, query, k)

    def _selected_rows(self, selection: _Selection) -> npt.NDArray[np.int64]:
        if selection.rows is not None:
            return selection.rows
        if not selection.spans:
            return np.zeros(0, dtype=np.int64)
        rows = np.concatenate([self._rows[start:end] for start, end in selection.spans])
        return rows if selection.bitmap is None else rows[selection.bitmap[rows]]

    def _rescore(self, rows: npt.NDArray[np.int64], query: npt.NDArray[np.float32], k: int) -> Hits:
        """Exact float32 scores of some rows: codes only choose whom to look at."""
        if self._exact_scores is None:
            scores = (self.vectors[rows] @ query).astype(np.float32)
        else:  # NaN: a row its owner no longer holds, never a result
            scores = np.nan_to_num(self._exact_scores(self.ids[rows], query), nan=-np.inf)
        return top_k(self.ids[rows], scores.astype(np.float32), k)

    def eligible_bitmap(self, spec: FilterSpec) -> tuple[Mask, int]:
        run_ok = spec.run_mask(self.runs)
        mask = np.repeat(run_ok, self.runs.hi - self.runs.lo)
        passing = spec.row_mask(self.columns, 0, len(self))
        if passing is not None:
            mask &= passing
        return mask, int(mask.sum())

    def brute_force(self, query: npt.NDArray[np.float32], k: int, spec: FilterSpec) -> Hits:
        """The oracle: a masked scan of every row (for tests and the benchmark's recall)."""
        mask, _ = self.eligible_bitmap(spec)
        scores = (self.vectors @ query.reshape(-1)).astype(np.float32)
        return top_k(self.ids[mask], scores[mask], k)


class _Scanner:
    """FAISS's SIMD scanner of 8-bit codes, run over parts of codes (by default the selected spans of the
    index's code matrix: slices, no copy), keeping the rows the selection's bitmap (if any) lets through."""

    def __init__(
        self, index: PartitionedIndex, query: npt.NDArray[np.float32], selection: _Selection | None
    ) -> None:
        import faiss

        self._query = query
        self._parts = (
            [] if selection is None else [(index._codes[a:b], index._rows[a:b]) for a, b in selection.spans]
        )
        bitmap = None if selection is None else selection.bitmap
        # FAISS reads the query and the bitmap through raw pointers: both are held by this object.
        self._packed = None if bitmap is None else np.packbits(bitmap, bitorder="little")
        self._selector = (
            None if self._packed is None else faiss.IDSelectorBitmap(len(index), faiss.swig_ptr(self._packed))
        )
        self._scanner = index._quantizer.select_InvertedListScanner(
            faiss.METRIC_INNER_PRODUCT, None, False, self._selector, False
        )
        self._scanner.set_query(faiss.swig_ptr(query))

    def __enter__(self) -> _Scanner:
        return self

    def __exit__(self, *_: object) -> None:
        self._scanner = self._selector = self._packed = None

    def best(
        self, fetch: int, parts: list[tuple[Any, Any]] | None = None
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """The `fetch` best rows by code score: scores descending, and row numbers. `parts`: (codes, row
        numbers) arrays to scan instead of the selection's spans."""
        import faiss

        scores = np.full(fetch, -np.inf, dtype=np.float32)  # a min-heap FAISS keeps across the calls
        rows = np.full(fetch, -1, dtype=np.int64)
        for codes, ids in self._parts if parts is None else parts:
            self._scanner.scan_codes(
                len(ids),
                faiss.swig_ptr(codes),
                faiss.swig_ptr(ids),
                faiss.swig_ptr(scores),
                faiss.swig_ptr(rows),
                fetch,
            )
        return _descending(scores[rows >= 0], rows[rows >= 0])

    def above(self, threshold: float) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """Every row whose code score is above `threshold`: scores descending, and row numbers."""
        import faiss

        result = faiss.RangeSearchResult(1)
        partial = faiss.RangeSearchPartialResult(result)  # type: ignore[attr-defined]
        found = partial.new_result(0)
        for codes, ids in self._parts:
            self._scanner.scan_codes_range(
                len(ids), faiss.swig_ptr(codes), faiss.swig_ptr(ids), threshold, found
            )
        partial.finalize()
        size = int(faiss.rev_swig_ptr(result.lims, 2)[1])
        if size == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        scores = faiss.rev_swig_ptr(result.distances, size).copy()
        rows = faiss.rev_swig_ptr(result.labels, size).copy()
        return _descending(scores, rows)


@dataclass(frozen=True)
class _Lists:
    """Coarse lists for the approximate path: row numbers grouped by nearest centroid."""

    centroids: npt.NDArray[np.float32]
    rows: npt.NDArray[np.int64]  # list i holds rows[offsets[i]:offsets[i + 1]]
    offsets: npt.NDArray[np.int64]
    per_category: npt.NDArray[np.int32]  # [list, category]: how many of its rows are in the category


def _ranges(starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The positions start..end-1 of every range, concatenated (no Python loop)."""
    lengths = ends - starts
    total = int(lengths.sum())
    shift = starts - np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return np.repeat(shift, lengths) + np.arange(total)


def _descending(
    scores: npt.NDArray[np.float32], rows: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    order = np.argsort(-scores, kind="stable")
    return scores[order].astype(np.float32), rows[order].astype(np.int64)
