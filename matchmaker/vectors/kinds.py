"""The ways the vectors can be held (`vectors.index`), named apart from it so that settings can check a name
without importing numpy and FAISS."""

from __future__ import annotations

# "mapped": the saved vectors mapped into memory, one copy for every worker process of a machine; "faiss"
# and "numpy": a copy in each process. Exact search and the same results in each.
INDEX_KIND_NAMES: tuple[str, ...] = ("mapped", "faiss", "numpy")
# Served by default: one copy of the vectors for every worker process of a machine.
DEFAULT_INDEX_KIND = "mapped"
