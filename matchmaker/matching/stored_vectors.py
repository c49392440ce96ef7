"""Vectors kept in the database beside the rows they were embedded from (the `stored_vectors` table).

The process that writes an offer or a need embeds it and stores the vector: in the same transaction for a
request's few rows (`vector_writer`), right after the commit for a bulk write (an import, a rebuild, and
whatever a process's catch-up had to embed: `Engine.catch_up`). Every other process (another replica,
another worker, the next start without a saved index) then reads the vector instead of embedding the text
again. Each vector carries the digest of what was embedded, the model's identity and the exact text, so a
vector of another model or of an older text (stored late, or by a slower writer) is never taken for the
current one; the reader embeds those itself, as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from matchmaker.db.models import StoredVector
from matchmaker.db.query import ID_CHUNK
from matchmaker.db.session import transaction
from matchmaker.vectors.embedder import ModelIdentity, Vectors

logger = logging.getLogger(__name__)
# Rows per insert: four parameters each, within the 999 of an older SQLite.
INSERT_CHUNK = 200


@dataclass(frozen=True, slots=True)
class Stored:
    """A vector and the digest of what it was embedded from."""

    digest: str
    vector: Vectors


def embedding_digest(identity: ModelIdentity, text: str) -> str:
    """What names a vector: the model that made it and the exact text it was made from."""
    named = json.dumps([identity.name, identity.version, identity.dim, text], ensure_ascii=False)
    return hashlib.sha256(named.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def read_stored(session: Session, *, kind: str, ids: Sequence[int]) -> dict[int, Stored]:
    """The stored vectors of `ids` (those that have one), read in chunks. A blob that is not whole float32
    values is passed over (embedded again by the reader) rather than stopping every catch-up."""
    found: dict[int, Stored] = {}
    ids = list(ids)
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        rows = session.execute(
            select(StoredVector.row_id, StoredVector.digest, StoredVector.vector).where(
                StoredVector.kind == kind, StoredVector.row_id.in_(chunk)
            )
        )
        for row_id, digest, blob in rows:
            if len(blob) % 4 == 0:
                found[int(row_id)] = Stored(digest, np.frombuffer(blob, dtype="<f4"))
    return found


def store(session: Session, *, kind: str, vectors: Mapping[int, Stored]) -> None:
    """Insert or replace the stored vectors of rows (one statement per chunk, either database)."""
    rows = [
        {"kind": kind, "row_id": identifier, "digest": item.digest, "vector": _as_bytes(item.vector)}
        for identifier, item in vectors.items()
    ]
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for start in range(0, len(rows), INSERT_CHUNK):
        statement = dialect.insert(StoredVector).values(rows[start : start + INSERT_CHUNK])
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[StoredVector.kind, StoredVector.row_id],
                set_={"digest": statement.excluded.digest, "vector": statement.excluded.vector},
            )
        )


def store_apart(session_factory: sessionmaker[Session], kind: str, vectors: Mapping[int, Stored]) -> None:
    """Store vectors in a transaction of their own, after what they were embedded for has committed (a
    command's batch, a catch-up). A failure is logged, not raised: the vectors are a saving for other
    processes, which embed what is not stored."""
    try:
        with transaction(session_factory) as writer:
            store(writer, kind=kind, vectors=vectors)
    except Exception:
        logger.exception("could not store %d vectors of %s", len(vectors), kind)


def forget(session: Session, *, kind: str, ids: Iterable[int]) -> None:
    """Delete the stored vectors of rows no longer matched (archived, closed, deleted)."""
    ids = list(ids)
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        session.execute(delete(StoredVector).where(StoredVector.kind == kind, StoredVector.row_id.in_(chunk)))


def _as_bytes(vector: Vectors) -> bytes:
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()
