"""Embedding many documents on every core: for the offline writers (imports, `index rebuild`), never for a
server's requests, whose workers keep to one core each.

The models embed on one core (`UseEmbedder` keeps BLAS to one thread, and much of its work is not BLAS),
so a large batch is split: the calling process embeds one share with its own model, and worker processes
(one per other core, each loading the model once) embed the rest at the same time. Each text is embedded
as one process would embed it (the same vectors, to float rounding).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from matchmaker.vectors.embedder import Embedder, ModelIdentity, Vectors, load_embedder

# Under this many texts a batch is embedded here alone: shipping it to another process costs more.
SPLIT_FROM = 32
# The workers start once this many texts were embedded here alone (a few seconds' work): a small import
# never waits for them to start and load the model (about two seconds).
START_POOL_AFTER = 1_000

logger = logging.getLogger(__name__)
_worker_embedder: Embedder | None = None


def _load_in_worker(spec: str) -> None:
    global _worker_embedder
    _worker_embedder = load_embedder(spec)


def _encode_in_worker(texts: Sequence[str]) -> Vectors:
    assert _worker_embedder is not None, "the pool's initializer loads the model"
    return _worker_embedder.encode_documents(texts)


class PooledEmbedder:
    """`local` (loaded from `spec`) with `processes - 1` worker processes beside it for documents."""

    def __init__(self, spec: str, local: Embedder, *, processes: int) -> None:
        self._local = local
        self._processes = max(processes, 1)
        self._pool: ProcessPoolExecutor | None = None
        self._spec = spec
        self._embedded_alone = 0

    @property
    def identity(self) -> ModelIdentity:
        return self._local.identity

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        return self._local.encode_queries(texts)

    def encode_documents(self, texts: Sequence[str]) -> Vectors:
        if self._processes == 1 or len(texts) < SPLIT_FROM or self._embedded_alone < START_POOL_AFTER:
            self._embedded_alone += len(texts)
            return self._local.encode_documents(texts)
        shares = [
            [texts[i] for i in share] for share in np.array_split(np.arange(len(texts)), self._processes)
        ]
        pool = self._started()
        # Sent first, so the workers embed while this process embeds the first share.
        elsewhere = [self._send(pool, share) for share in shares[1:]]
        parts = [self._local.encode_documents(shares[0])]
        for share, future in zip(shares[1:], elsewhere, strict=True):
            try:
                if future is None:
                    raise BrokenProcessPool("not sent")
                parts.append(future.result())
            except BrokenProcessPool:  # a worker died (killed, out of memory): go on alone, nothing lost
                logger.warning("an embedding worker stopped; embedding on one core from now on")
                self.close()
                self._processes = 1
                parts.append(self._local.encode_documents(share))
        return np.vstack(parts)

    @staticmethod
    def _send(pool: ProcessPoolExecutor, share: list[str]) -> Future[Vectors] | None:
        try:
            return pool.submit(_encode_in_worker, share)
        except BrokenProcessPool:
            return None

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # Spawned, not forked: the parent may hold threads (BLAS, a database pool) a fork would copy
            # in whatever state they were.
            self._pool = ProcessPoolExecutor(
                max_workers=self._processes - 1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_load_in_worker,
                initargs=(self._spec,),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def every_core() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
