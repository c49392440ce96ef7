"""Embedding on every core (`vectors.pooled`): the vectors are those one process gives, in order."""

from __future__ import annotations

import json
import os
import signal
import time

import numpy as np
import pytest

from matchmaker.matching.engine import shared_embedder
from matchmaker.vectors import pooled
from matchmaker.vectors.embedder import DEFAULT_MODEL, Embedder
from matchmaker.vectors.pooled import PooledEmbedder
from tests.cli_support import EVAL_DEV


def pooled_at_once(
    monkeypatch: pytest.MonkeyPatch, *, count: int, processes: int
) -> tuple[list[str], Embedder, PooledEmbedder]:
    """Offer titles, the model alone, and a pool of it that shares out from the first batch."""
    monkeypatch.setattr(pooled, "START_POOL_AFTER", 0)
    lines = (EVAL_DEV / "offers.jsonl").read_text(encoding="utf-8").splitlines()
    local = shared_embedder(DEFAULT_MODEL)
    return (
        [json.loads(line)["title"] for line in lines][:count],
        local,
        PooledEmbedder(DEFAULT_MODEL, local, processes=processes),
    )


def test_documents_embedded_across_processes_are_those_one_process_embeds_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts, local, embedder = pooled_at_once(monkeypatch, count=100, processes=3)
    try:
        together = embedder.encode_documents(texts)
        assert embedder._pool is not None  # the texts were shared out, not embedded here alone
    finally:
        embedder.close()
    alone = local.encode_documents(texts)
    assert together.shape == alone.shape
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert embedder.identity == local.identity


def test_an_embedding_worker_killed_loses_nothing_its_share_is_embedded_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts, local, embedder = pooled_at_once(monkeypatch, count=64, processes=2)
    try:
        embedder.encode_documents(texts)  # the worker is up
        assert embedder._pool is not None
        for process in list(embedder._pool._processes.values()):
            assert process.pid is not None
            os.kill(process.pid, signal.SIGKILL)
        time.sleep(0.5)  # long enough for the pool to know: the next batch cannot even be sent
        after = embedder.encode_documents(texts)
    finally:
        embedder.close()
    np.testing.assert_allclose(after, local.encode_documents(texts), atol=1e-5)
