"""A bounded, thread-safe cache of the footprint each offer maps to, one per app.

`mapping.footprint_of_offer` is a pure function of the offer row, its owner's name and the issuer, so the
key is exactly those inputs' identity:

- the offer's `id` (never reused: SQLite autoincrement, PostgreSQL sequences) and its `version`, which
  SQLAlchemy bumps on every ORM update of the row (`version_id_col`), whatever column changed;
- its `updated_at`, which every SQLAlchemy UPDATE not setting it itself sets to now (a Core
  `update(Offer)` does not bump `version`); `created_at` and `owner_id` too, though neither changes
  without the above;
- the owner's `name` itself (it is the footprint's `companyName`), as a rename touches only the
  organisation's row;
- the issuer (the `pact_issuer` setting: URNs and footprint ids).

Only a write that bypasses SQLAlchemy (raw SQL) could change an offer unseen, as it could for the vector
index, which keys its entries by id and version as well. The key can be read without loading the offer
(`repository.published_offer_states`), so a request loads and maps only the offers the cache lacks.
Cached footprints are shared between requests: callers must not modify them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from matchmaker import verification
from matchmaker.db.models import Offer
from matchmaker.pact.mapping import footprint_of_offer
from matchmaker.pact.repository import OfferState

# About 2.5 KB each (scripts/bench_pact.py): at most some 120 MB, reached only with 50,000 offers served.
MAX_FOOTPRINTS = 50_000

# The issuer, the offer's state as `repository.published_offer_states` reads it (id first, its verification's
# end last), and whether that verification still holds: a footprint mapped while it held is not served after.
FootprintKey = tuple[str, int, int, datetime, datetime, int, str, datetime | None, bool]


def footprint_key(offer: Offer, *, issuer: str) -> FootprintKey:
    """Everything `footprint_of_offer(offer, issuer=issuer)` depends on, by identity or by value."""
    state = (
        offer.id, offer.version, offer.updated_at, offer.created_at, offer.owner_id, offer.owner.name,
        offer.verified_until,
    )  # fmt: skip
    return state_key(state, issuer=issuer)


def state_key(state: OfferState, *, issuer: str) -> FootprintKey:
    """The key of an offer in this state, read without loading the offer."""
    return (issuer, *state, verification.holds(verified=True, until=state[-1], now=datetime.now(UTC)))


class FootprintCache:
    """Least recently used footprints of offers (None for an offer PACT cannot express)."""

    def __init__(self, max_entries: int = MAX_FOOTPRINTS) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._entries: OrderedDict[FootprintKey, dict[str, Any] | None] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def lookup(self, keys: Iterable[FootprintKey]) -> dict[FootprintKey, dict[str, Any] | None]:
        """The cached footprints among these keys (shared: do not modify them)."""
        found: dict[FootprintKey, dict[str, Any] | None] = {}
        with self._lock:
            for key in keys:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    found[key] = self._entries[key]
                    self.hits += 1
                else:
                    self.misses += 1
        return found

    def footprint_of(self, offer: Offer, *, issuer: str) -> dict[str, Any] | None:
        """The offer's footprint, mapped once per state of the offer (shared: do not modify it)."""
        key = footprint_key(offer, issuer=issuer)
        found = self.lookup([key])
        return found[key] if key in found else self.map_and_keep(offer, issuer=issuer)

    def map_and_keep(self, offer: Offer, *, issuer: str) -> dict[str, Any] | None:
        """Map an offer the cache lacks (see `lookup`) and keep its footprint."""
        key = footprint_key(offer, issuer=issuer)
        # Mapped outside the lock: two threads may map the same offer at once, to the same result.
        footprint = footprint_of_offer(offer, issuer=issuer)
        with self._lock:
            self._entries[key] = footprint
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return footprint
