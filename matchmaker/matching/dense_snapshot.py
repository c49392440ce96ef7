"""The offers' vectors as the planner holds them, for finding the nearest among many offers unscored.

A selective need has few eligible offers and many that failed a filter. Its near misses (the nearest
relevant offers that failed one) are sought among nearly the whole catalogue, and scoring every one of
them is the part of such a request that grows with the catalogue. The planner (`vectors.planner`) finds
the nearest rows of any allowed set without scoring them all: exactly, with a proof from its 8-bit codes'
error bound, while the set is at most its exact share; approximately, through its coarse lists, above.

A snapshot is the planner built once over the offer table's rows (its row numbers are the planner's ids)
and the vectors the index held for them then. It is never changed: the offers re-embedded or dropped since
(`Catalogue.watch`) and the rows the table added since are scored exactly from the live index beside it.
When those grow past `STALE_SHARE` of the rows the engine builds a new snapshot in the background
(`Engine.refresh_snapshot`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matchmaker.matching.indexer import Catalogue, ChangedIds
from matchmaker.matching.offer_table import OfferTable
from matchmaker.vectors.embedder import Vectors
from matchmaker.vectors.planner import Columns, PartitionedIndex, PlannerSettings

logger = logging.getLogger(__name__)
# Below this many offers the exact numpy scores of every candidate cost a few milliseconds: no snapshot.
SNAPSHOT_FROM_ROWS = 50_000
# Below this many candidates, scoring them all costs a couple of milliseconds: the snapshot is not asked.
USE_FROM_CANDIDATES = 20_000
# Above the planner's exact share a shortlist is found approximately, and is made this long at least, from
# the coarse lists nearest the query. Measured at 100,000 offers (80 needs of the relevance set, near misses
# against every offer scored, the formula's ranking): 64 from 160 lists, recall 0.914; 256 from 160, 0.978;
# 1024 from 320, 1.000. With the judged ranking at 200,000 offers (100 needs, one run, side by side), near
# misses differing from every offer scored / median of the 9 needs with at most 1% eligible: 1024 from 320
# lists 2 / 23.5 ms, 1024 from 160 3 / 17.4 ms, 512 from 240 4 / 17.4 ms, 256 from 160 5 / 13.6 ms; at
# 1,000,000 offers (60 needs) 1024 from 320 2 / 53.1 ms, 1024 from 160 2 / 37.8 ms. Scanning the lists'
# codes is the cost, and it grows with the catalogue (each list holds about sqrt(n) / 2 rows).
APPROXIMATE_REACH = 1024
APPROXIMATE_NPROBE = 160
# Vectors copied from the index per hold of its lock.
COPY_CHUNK = 50_000
# A snapshot whose changed and added rows pass this share of its rows is built again.
STALE_SHARE = 0.02
# The planner's scores come from its own copy of the vectors and its own product; the index's may differ
# in the last float32 bits. A bound from the planner is widened by this much.
SCORE_SLACK = 1e-5

Rows = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Shortlist:
    """The nearest of some rows: their positions among the rows asked about, their exact cosines (from the
    live index), and a bound on every row left out (None: found approximately, no bound)."""

    positions: Rows
    dense: npt.NDArray[np.float32]
    bound: float | None


class DenseSnapshot:
    """The planner over the table's first `size` rows, and what changed since it was built."""

    def __init__(
        self, planner: PartitionedIndex, *, table: OfferTable, catalogue: Catalogue, changed: ChangedIds,
        missing: Rows, use_from: int = USE_FROM_CANDIDATES, build_seconds: float = 0.0,
    ) -> None:  # fmt: skip
        self.planner = planner
        self.size = len(planner)
        self._table = table
        self._catalogue = catalogue
        self._changed = changed
        self._missing = missing  # rows without a vector when built (scored from the index, as changed)
        self._outdated: tuple[int, Rows] = (0, missing)  # (changed ids seen, the rows they make)
        self.use_from = use_from  # candidate sets smaller than this are scored in full, not shortlisted
        self.build_seconds = build_seconds

    @classmethod
    def build(
        cls, table: OfferTable, catalogue: Catalogue, *, settings: PlannerSettings | None = None,
        use_from: int = USE_FROM_CANDIDATES,
    ) -> DenseSnapshot:  # fmt: skip
        """The planner over every row the table holds now. Changes from this moment on are watched first,
        so none slips between the copy and the watch."""
        started = time.monotonic()
        changed = catalogue.watch()
        ids = table.column("id").copy()
        vectors = np.empty((len(ids), catalogue.index.dim), dtype=np.float32)
        present = np.empty(len(ids), dtype=bool)
        for start in range(0, len(ids), COPY_CHUNK):  # the index's lock is let go between chunks
            end = start + COPY_CHUNK
            vectors[start:end], present[start:end] = catalogue.index.vectors_of(ids[start:end])
        same = np.zeros(len(ids), dtype=np.int16)  # one run: eligibility is the caller's mask
        columns = Columns(
            category=same,
            alliances=same.astype(np.uint64),
            region=same,
            verified=np.zeros(len(ids), dtype=bool),
            family=same.astype(np.int8),
            canonical=np.zeros(len(ids)),
        )
        rows = np.arange(len(ids), dtype=np.int64)
        settings = settings or PlannerSettings(nprobe=APPROXIMATE_NPROBE)

        def exact_scores(rows: Rows, query: Vectors) -> npt.NDArray[np.float32]:
            return catalogue.index.similarities(query, ids[rows])  # the live index's own vectors

        planner = PartitionedIndex(rows, vectors, columns, settings=settings, exact_scores=exact_scores)
        del vectors  # the planner keeps their 8-bit codes; exact scores come from the index
        seconds = time.monotonic() - started
        logger.info("dense snapshot of %d offers built in %.1f s", len(ids), seconds)
        return cls(
            planner, table=table, catalogue=catalogue, changed=changed, missing=np.flatnonzero(~present),
            use_from=use_from, build_seconds=seconds,
        )  # fmt: skip

    def close(self) -> None:
        """Stop watching changes (the snapshot is replaced)."""
        self._catalogue.unwatch(self._changed)

    def stale_share(self) -> float:
        """Rows scored beside the snapshot (changed, added, without a vector), as a share of its rows."""
        outside = len(self._changed) + len(self._missing) + max(len(self._table) - self.size, 0)
        return outside / max(self.size, 1)

    def shortlist(self, query: Vectors, rows: Rows, ids: Rows, reach: int) -> Shortlist:
        """The `reach` nearest of the given table rows (ascending, with their offer ids) by the snapshot,
        with every row it cannot vouch for (changed or added since) added, all scored from the index."""
        covered = int(np.searchsorted(rows, self.size))
        outdated = self._outdated_rows()
        allowed = np.zeros(self.size, dtype=bool)
        allowed[rows[:covered]] = True
        allowed[outdated] = False  # their old vectors would take places in the shortlist for nothing
        if self.planner.path_for(int(np.count_nonzero(allowed))) == "approximate":
            reach = max(reach, APPROXIMATE_REACH)
        hits, plan = self.planner.search_within(query, reach, allowed)
        at = np.minimum(np.searchsorted(rows, outdated), max(len(rows) - 1, 0))
        changed_rows = at[rows[at] == outdated] if len(rows) else at[:0]
        beside = np.concatenate([changed_rows, np.arange(covered, len(rows))]).astype(np.int64)
        # The hits' scores are the index's already (the planner re-scores through it; a hit the index no
        # longer holds scored -inf there, and is NaN here as `similarities` gives it): only the rows
        # beside the snapshot are scored here. The two sets are disjoint (those rows were not allowed).
        hit_scores = np.where(np.isneginf(hits.scores), np.nan, hits.scores)
        positions = np.concatenate([np.searchsorted(rows, hits.ids), beside]).astype(np.int64)
        dense = np.concatenate([hit_scores, self._catalogue.index.similarities(query, ids[beside])])
        if plan.path != "exact":
            bound = None
        elif len(hits.ids) < reach:
            bound = -np.inf  # every allowed row was returned
        else:
            bound = float(hits.scores[-1]) + SCORE_SLACK
        return Shortlist(positions, dense.astype(np.float32), bound)

    def _outdated_rows(self) -> Rows:
        """The snapshot's rows whose vectors it cannot vouch for: changed since, or missing when built."""
        seen, outdated = self._outdated
        if len(self._changed) != seen:  # it only grows: recounted when it did
            changed = self._changed.copy()
            rows = (self._table.row_of(identifier) for identifier in changed)
            known = np.fromiter((row for row in rows if row is not None and row < self.size), dtype=np.int64)
            outdated = np.union1d(known, self._missing)
            self._outdated = (len(changed), outdated)
        return outdated
