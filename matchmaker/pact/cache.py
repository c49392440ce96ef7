"""A bounded, thread-safe cache of the footprints each offer maps to, one per app.

`mapping.footprints_of_offer` is a pure function of the offer row, its owner's name, the issuer and the
offer's footprint history, so the key is exactly those inputs' identity:

- the offer's `id` (never reused: SQLite autoincrement, PostgreSQL sequences) and its `version`, which
  SQLAlchemy bumps on every ORM update of the row (`version_id_col`), whatever column changed;
- through them, the history: the mapping reads only the versions up to the offer's own, and each is
  written in the same flush as the update that brought the offer to it (`db.footprint_history`, on the
  same connection, committed or rolled back with it) and never changed afterwards. A history is read after
  the offer it belongs to, so it holds every version up to the offer's;
- its `updated_at`, which every SQLAlchemy UPDATE not setting it itself sets to now (a Core
  `update(Offer)` does not bump `version`, nor write a version); `created_at` and `owner_id` too, though
  neither changes without the above;
- the owner's `name` itself (it is the footprint's `companyName`), as a rename touches only the
  organisation's row;
- the issuer (the `pact_issuer` setting: URNs and footprint ids).

Only a write that bypasses SQLAlchemy (raw SQL) could change an offer unseen, as it could for the vector
index, which keys its entries by id and version as well. The key can be read without loading the offer
(`repository.published_offer_states`), so a request loads and maps only the offers the cache lacks, and
reads the histories of those alone. Cached footprints are shared between requests: callers must not modify
them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import object_session

from matchmaker import verification
from matchmaker.db.models import Offer
from matchmaker.pact import repository
from matchmaker.pact.lineage import PcfVersion
from matchmaker.pact.mapping import OfferFootprints, footprints_of_offer
from matchmaker.pact.repository import OfferState

# Entries, one per offer. About 2.5 KB per footprint (scripts/bench_pact.py): some 120 MB with 50,000 offers
# served, more for offers that also serve the footprints they replaced.
MAX_FOOTPRINTS = 50_000

# The issuer, the offer's state as `repository.published_offer_states` reads it (id first, its verification's
# end last), and whether that verification still holds: a footprint mapped while it held is not served after.
FootprintKey = tuple[str, int, int, datetime, datetime, int, str, datetime | None, bool]


def footprint_key(offer: Offer, *, issuer: str) -> FootprintKey:
    """Everything `footprints_of_offer(offer, issuer=issuer, history=...)` depends on, by identity or by
    value (the history by the offer's id and version)."""
    state = (
        offer.id, offer.version, offer.updated_at, offer.created_at, offer.owner_id, offer.owner.name,
        offer.verified_until,
    )  # fmt: skip
    return state_key(state, issuer=issuer)


def state_key(state: OfferState, *, issuer: str) -> FootprintKey:
    """The key of an offer in this state, read without loading the offer."""
    return (issuer, *state, verification.holds(verified=True, until=state[-1], now=datetime.now(UTC)))


class FootprintCache:
    """Least recently used footprints of offers (an offer PACT cannot express has none)."""

    def __init__(self, max_entries: int = MAX_FOOTPRINTS) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._entries: OrderedDict[FootprintKey, OfferFootprints] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def lookup(self, keys: Iterable[FootprintKey]) -> dict[FootprintKey, OfferFootprints]:
        """The cached footprints among these keys (shared: do not modify them)."""
        found: dict[FootprintKey, OfferFootprints] = {}
        with self._lock:
            for key in keys:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    found[key] = self._entries[key]
                    self.hits += 1
                else:
                    self.misses += 1
        return found

    def footprints_of(
        self, offer: Offer, *, issuer: str, history: Sequence[PcfVersion] | None = None
    ) -> OfferFootprints:
        """The offer's footprints, mapped once per state of the offer (shared: do not modify them). Its
        history is read from the offer's session when not given, and only when the cache lacks it."""
        key = footprint_key(offer, issuer=issuer)
        found = self.lookup([key])
        if key in found:
            return found[key]
        if history is None:
            session = object_session(offer)
            if session is None:
                raise ValueError("a detached offer: its footprint history cannot be read")
            history = repository.footprint_histories(session, [offer.id]).get(offer.id, [])
        return self.map_and_keep(offer, issuer=issuer, history=history)

    def footprint_of(
        self, offer: Offer, *, issuer: str, history: Sequence[PcfVersion] | None = None
    ) -> dict[str, Any] | None:
        """The offer's footprint as it stands (see `footprints_of`), or None."""
        return self.footprints_of(offer, issuer=issuer, history=history).current

    def map_and_keep(self, offer: Offer, *, issuer: str, history: Sequence[PcfVersion]) -> OfferFootprints:
        """Map an offer the cache lacks (see `lookup`), with its whole footprint history, and keep it."""
        key = footprint_key(offer, issuer=issuer)
        # Mapped outside the lock: two threads may map the same offer at once, to the same result.
        footprints = footprints_of_offer(offer, issuer=issuer, history=history)
        with self._lock:
            self._entries[key] = footprints
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return footprints
