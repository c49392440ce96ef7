"""What an organisation is alerted to, and the key that makes each event one alert, stated once.

- `offer_fits_need` (to the need's buyer): after a change that can make an offer fit (published, its
  footprint or verification changed, its supplier admitted or joined an alliance; not a new title), the
  offer is among the open need's matches as its buyer sees them (not one the buyer dismissed). Once per
  (need, offer): an offer that leaves the list and comes back is not news, nor one that was among the
  matches when the need was posted.
- `offer_changed` / `offer_withdrawn` (to a buyer that shortlisted the offer or asked about it): its
  footprint, unit or verification changed, or it is no longer published; saying old -> new. Once per
  version of the offer's footprint, and only for a change made after the buyer began watching. A buyer
  that may no longer see the offer hears only that it was withdrawn.
- `need_fits_offer` (to the supplier): a new or changed open need, shared with vendors, has the supplier's
  offer among its matches. Once per (need, offer).
- `need_closed` (to the suppliers told of a need, or asked about it, that could see it: a need shared with
  vendors): the need closed itself after its last day for offers. Once per need.
"""

from __future__ import annotations

from typing import Literal

AlertKind = Literal[
    "offer_fits_need", "offer_changed", "offer_withdrawn", "need_fits_offer", "need_closed",
    "verification_expiring", "footprint_expiring",
]  # fmt: skip
# How far down a new need's matches its suppliers are told of it: the first page its buyer reads.
ALERTED_RANKS = 10


def fit_key(*, need_id: int, offer_id: int) -> str:
    return f"fit:{need_id}:{offer_id}"


def need_fit_key(*, need_id: int, offer_id: int) -> str:
    return f"need-fit:{need_id}:{offer_id}"


def change_key(*, offer_id: int, version: int) -> str:
    return f"changed:{offer_id}:{version}"


def closed_key(*, need_id: int) -> str:
    return f"closed:{need_id}"
