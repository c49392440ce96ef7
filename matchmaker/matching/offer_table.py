"""Every published offer's filter facts in memory, as numpy columns, kept in step with the database.

Matching decides the hard filters for every offer a viewer may see. Read from the database and judged one by
one in Python, that costs tens of microseconds an offer (about 200 ms a request at 5,000 offers). Here the
filters are column comparisons over all rows at once; only the offers that are then scored are judged in
full by `eligibility.judge`, the one statement of the rules, so explanations and the exchange format's exact
arithmetic are unchanged. A footprint within a hair of the ceiling (floating point cannot say) is judged
exactly too.

Kept in step as the vector index is, by the feed of committed changes (`db.changes`): the offers changed
since the last look are read again (a deleted one is forgotten), so a sync costs what changed, not what
the catalogue holds; and the organisations' admissions and alliance memberships are read again when the
feed holds a change of an organisation, alliance or membership. The service still re-reads
the offers it shows (`matching.service`), so a change committed after the sync cannot slip through.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.alliances import repository as alliances
from matchmaker.db.changes import FeedCursor, SharedRead, latest_position
from matchmaker.db.models import Offer, Organisation
from matchmaker.db.query import ID_CHUNK
from matchmaker.db.session import connection_first
from matchmaker.matching.eligibility import Criteria, OfferFacts, judge
from matchmaker.offers.visibility import MATCHED
from matchmaker.regions import code_of, covered_by_any
from matchmaker.units import Footprint, parse_unit
from matchmaker.visibility import MaskField, Viewer, column_field, mask

Rows = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
# Changes in the feed after which the owners' admissions and memberships are read again.
OWNER_KINDS = frozenset({"organisations", "memberships", "alliances"})
PUBLIC = -1  # visibility column: shared with everyone
NOBODY = -2  # visibility column: restricted to an alliance that is not named (the owner only)
# Footprints this close to the ceiling, relative to it, are judged exactly instead of in floating point.
CEILING_BAND = 1e-9
_COLUMNS = (
    Offer.id,
    Offer.version,
    Offer.owner_id,
    Offer.status,
    Offer.category,
    Offer.kind,
    Offer.region,
    Offer.pcf_value,
    Offer.pcf_unit,
    Offer.pcf_verified,
    Offer.verified_until,
    Offer.verification_party,
    Offer.primary_data_share,
    Offer.footprint_valid_until,
    Offer.certifications,
    Offer.visibility,
    Offer.visibility_alliance_id,
)


class Vocabulary:
    """Small integer codes for repeated strings (categories, kinds, regions, unit families)."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.names: list[str] = []

    def code(self, value: str | None) -> int:
        if value is None:
            return -1
        known = self.codes.get(value)
        if known is None:
            known = self.codes[value] = len(self.names)
            self.names.append(value)
        return known

    def name(self, code: int) -> str | None:
        return None if code < 0 else self.names[code]

    def lookup(self, values: frozenset[str]) -> list[int]:
        """Codes of the values that occur (a value never seen has no row to select)."""
        return [self.codes[value] for value in values if value in self.codes]


@dataclass
class _Owners:
    """What the filters need of the organisations: admission, and active alliance codes and ids."""

    admitted: frozenset[int]
    codes: dict[int, frozenset[str]]  # active alliance codes by organisation (the alliance filter)
    alliance_ids: dict[int, tuple[int, ...]]  # active alliance ids by organisation (what a viewer may see)


class OfferTable:
    """Filter columns of every offer the database holds as published; rows are never reused."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._row_of: dict[int, int] = {}
        self._size = 0
        self._capacity = 0
        self.categories, self.kinds, self.regions, self.families = (Vocabulary() for _ in range(4))
        self._columns: dict[str, npt.NDArray[Any]] = {}
        self._grow(1024)
        # Python-side facts, for the offers that are scored (OfferFacts) and the certification filter:
        # the footprint as stated (value, unit, verified flag).
        self._pcf: list[
            tuple[float | None, str | None, bool, datetime | None, str | None, datetime | None]
        ] = []
        self._certifications: list[tuple[str, ...]] = []
        self._owners = _Owners(frozenset(), {}, {})
        self.cursor: FeedCursor | None = None  # where in the feed of changes this table is
        self.changes = 0  # rows put or forgotten, owners read: what was computed from it may be out of date

    # --- storage ------------------------------------------------------------------------------------
    _DTYPES: dict[str, Any] = {
        "id": np.int64,
        "version": np.int64,  # the row's version when read: a sync reads only offers whose version moved
        "live": np.bool_,  # published and not deleted
        "owner": np.int64,
        "category": np.int32,
        "kind": np.int32,
        "region": np.int32,
        "verified": np.bool_,  # third-party verified and a footprint stated
        "verified_until": np.float64,  # when that ends, in seconds since the epoch; inf: no end
        "third_party": np.bool_,  # its verification was made by an independent body (it may have ended)
        "primary_share": np.float64,  # share of primary data in percent, NaN when not stated
        "valid_until": np.float64,  # when the footprint itself stops being valid, as verified_until
        "family": np.int32,  # unit family code, -1 without a footprint
        "canonical": np.float64,  # kgCO2e per the family's base unit, NaN without a footprint
        "visibility": np.int64,  # PUBLIC, NOBODY or the alliance id it is restricted to
    }

    def _grow(self, capacity: int) -> None:
        for name, dtype in self._DTYPES.items():
            column = np.zeros(capacity, dtype=dtype)
            if name in self._columns:
                column[: self._size] = self._columns[name][: self._size]
            self._columns[name] = column
        self._capacity = capacity

    def column(self, name: str) -> npt.NDArray[Any]:
        return self._columns[name][: self._size]

    def __len__(self) -> int:
        """Rows held, including offers no longer published (their rows stay, marked not live)."""
        return self._size

    # --- keeping in step ----------------------------------------------------------------------------
    def sync(self, session: Session, *, shared: SharedRead | None = None) -> None:
        """Read the offers the feed says changed since the last look (all of them the first time), and
        the owners' admissions and alliance memberships when the feed says any changed (the feed read
        here, or in a read shared with other consumers)."""
        connection_first(session)
        with self._lock:
            if self.cursor is None or self.cursor.outlived():  # first, or changes may have been pruned
                cursor = FeedCursor("offers", position=latest_position(session))
                found = self._read(session, Offer.status == "published")
                self.forget([identifier for identifier in self._row_of if identifier not in found])
                self._read_owners(session)
                self.cursor = cursor
                return
            before = self.cursor.copy()
            try:
                changed = self.cursor.read_kinds(session, shared=shared)
                offers = sorted(changed.get("offers", ()))
                found = self._read_ids(session, offers)
                self.forget([identifier for identifier in offers if identifier not in found])
                if not changed.keys().isdisjoint(OWNER_KINDS):
                    self._read_owners(session)
            except BaseException:
                self.cursor = before  # read again next time: what failed here was not applied
                raise

    def row_of(self, identifier: int) -> int | None:
        """The offer's row, if the table has held it (rows are never reused)."""
        return self._row_of.get(identifier)

    def _version(self, identifier: int) -> int | None:
        row = self._row_of.get(identifier)
        return None if row is None else int(self._columns["version"][row])

    def refresh(self, session: Session, ids: Sequence[int]) -> None:
        """Read these offers again (another process changed or deleted them without our seeing it)."""
        connection_first(session)
        with self._lock:
            found = self._read_ids(session, ids)
            self.forget([i for i in ids if i not in found])

    def _read_ids(self, session: Session, ids: Sequence[int]) -> set[int]:
        found: set[int] = set()
        for start in range(0, len(ids), ID_CHUNK):
            found |= self._read(session, Offer.id.in_(list(ids[start : start + ID_CHUNK])))
        return found

    def _read(self, session: Session, condition: Any) -> set[int]:
        """Put the offers the condition selects; their ids."""
        found = set()
        for row in session.execute(select(*_COLUMNS).where(condition)):
            self._put(row)
            found.add(row.id)
        return found

    def stale(self, ids: Sequence[int], *, versions: Mapping[int, int]) -> list[int]:
        """Which of these offers the database holds (`versions`, read by the caller) in another version than
        the table, or no longer holds.

        Sync sees every change the feed records (offers, admissions, memberships); what it cannot see is a
        change committed since it ran.
        """
        with self._lock:
            return [identifier for identifier in ids if versions.get(identifier) != self._version(identifier)]

    def forget(self, ids: Sequence[int]) -> None:
        """Offers deleted: their rows stay, no longer live."""
        with self._lock:
            self.changes += bool(len(ids))
            live = self._columns["live"]
            for identifier in ids:
                row = self._row_of.get(int(identifier))
                if row is not None:
                    live[row] = False

    def _put(self, row: Any) -> None:
        self.changes += 1
        position = self._row_of.get(row.id)
        if position is None:
            if row.status != "published":
                return  # never matchable here: no row needed
            if self._size == self._capacity:
                self._grow(self._capacity * 2)
            position = self._size
            self._size += 1
            self._row_of[row.id] = position
            self._pcf.append((None, None, False, None, None, None))
            self._certifications.append(())
        family, canonical = -1, math.nan
        if row.pcf_value is not None and row.pcf_unit is not None:
            footprint = Footprint.parse(row.pcf_value, row.pcf_unit)
            family, canonical = self.families.code(footprint.family.value), float(footprint.canonical_value)
        if row.visibility == "public":
            visibility = PUBLIC
        else:
            visibility = row.visibility_alliance_id if row.visibility_alliance_id is not None else NOBODY
        values = {
            "id": row.id,
            "version": row.version,
            "live": row.status == "published",
            "owner": row.owner_id,
            "category": self.categories.code(row.category),
            "kind": self.kinds.code(row.kind),
            "region": self.regions.code(code_of(row.region)),
            "verified": bool(row.pcf_verified) and row.pcf_value is not None,
            "verified_until": row.verified_until.timestamp() if row.verified_until else np.inf,
            "third_party": row.verification_party == "third",
            "primary_share": np.nan if row.primary_data_share is None else row.primary_data_share,
            "valid_until": row.footprint_valid_until.timestamp() if row.footprint_valid_until else np.inf,
            "family": family,
            "canonical": canonical,
            "visibility": visibility,
        }
        for name, value in values.items():
            self._columns[name][position] = value
        self._pcf[position] = (
            row.pcf_value, row.pcf_unit, bool(row.pcf_verified), row.verified_until, row.verification_party,
            row.footprint_valid_until,
        )  # fmt: skip
        self._certifications[position] = tuple(row.certifications or ())

    def _read_owners(self, session: Session) -> None:
        self.changes += 1
        # Replaced whole, never emptied first: `facts` reads it without the lock.
        admitted = frozenset(
            session.scalars(select(Organisation.id).where(Organisation.admission_status == "admitted"))
        )
        codes: dict[int, set[str]] = {}
        alliance_ids: dict[int, list[int]] = {}
        for organisation_id, alliance_id, code in alliances.active_memberships(session):
            codes.setdefault(organisation_id, set()).add(code)
            alliance_ids.setdefault(organisation_id, []).append(alliance_id)
        self._owners = _Owners(
            admitted,
            {owner: frozenset(owned) for owner, owned in codes.items()},
            {owner: tuple(ids) for owner, ids in alliance_ids.items()},
        )

    # --- reading ------------------------------------------------------------------------------------
    def facts(self, row: int) -> OfferFacts:
        """The offer's facts, as `repository.visible_offer_facts` reads them from the database."""
        value, unit, verified, until, party, valid_until = self._pcf[row]
        columns = self._columns
        share = float(columns["primary_share"][row])
        category, kind = (
            self.categories.name(int(columns["category"][row])),
            self.kinds.name(int(columns["kind"][row])),
        )
        assert category is not None and kind is not None
        return OfferFacts(
            id=int(columns["id"][row]),
            category=category,
            kind=kind,
            region=self.regions.name(int(columns["region"][row])),
            pcf_value=value,
            pcf_unit=unit,
            pcf_verified=verified,
            supplier_alliances=self._owners.codes.get(int(columns["owner"][row]), frozenset()),
            certifications=self._certifications[row],
            verified_until=until,
            verification_party=party,
            primary_data_share=None if math.isnan(share) else share,
            footprint_valid_until=valid_until,
        )

    def category_agreement(self, rows: Rows, category: str | None) -> npt.NDArray[np.float64]:
        """`scoring.category_agreement` for many rows at once: 1 same, 0 another, 0.5 query's unknown."""
        if category is None:
            return np.full(len(rows), 0.5)
        code = self.categories.codes.get(category, -2)
        agreement: npt.NDArray[np.float64] = (self._columns["category"][rows] == code).astype(np.float64)
        return agreement

    def partition(self, criteria: Criteria, *, viewer: Viewer) -> tuple[Rows, Rows]:
        """The rows the viewer may see that pass every filter, and those it may see that fail one."""
        with self._lock:
            visible = self._visible(viewer)
            passing = visible & self._passing(criteria)
            rows = np.flatnonzero(passing)
            if criteria.certification:
                wanted = criteria.certification.lower()
                certified = [
                    any(wanted in c.lower() for c in self._certifications[row]) for row in rows.tolist()
                ]
                passing[rows[~np.asarray(certified, dtype=bool)]] = False
            return np.flatnonzero(passing), np.flatnonzero(visible & ~passing)

    def _visible(self, viewer: Viewer) -> Mask:
        """`offers.visibility.MATCHED` over the table's columns (a row not live is no longer published)."""
        owner, visibility = self.column("owner"), self.column("visibility")
        fields = {
            "status": MaskField(
                equals=lambda status: (
                    self.column("live") if status == "published" else _unknown("status", status)
                )
            ),
            "owner_id": column_field(owner),
            "owner_admission": MaskField(
                equals=lambda status: (
                    _member(owner, self._owners.admitted)
                    if status == "admitted"
                    else _unknown("owner admission", status)
                )
            ),
            "visibility": MaskField(equals=lambda value: self._visibility_is(value)),
            # A restricted row holds its alliance's id; PUBLIC and NOBODY are never one.
            "visibility_alliance_id": column_field(visibility),
        }
        return mask(MATCHED, viewer, size=self._size, fields=fields)

    def _visibility_is(self, value: str) -> Mask:
        visibility = self.column("visibility")
        if value == "public":
            return np.asarray(visibility == PUBLIC)
        if value == "alliance":
            return np.asarray(visibility != PUBLIC)
        return _unknown("visibility", value)

    def _passing(self, criteria: Criteria) -> Mask:
        """Every filter but certification (a substring test, done on the survivors)."""
        mask = np.ones(self._size, dtype=bool)
        for values, vocabulary, name in (
            (criteria.categories, self.categories, "category"),
            (criteria.kinds, self.kinds, "kind"),
            (covered_by_any(criteria.regions), self.regions, "region"),
        ):
            if values:
                mask &= np.isin(self.column(name), np.asarray(vocabulary.lookup(values), dtype=np.int32))
        if criteria.require_verified or criteria.require_third_party or criteria.exclude_expired:
            # As `verification.holds`: verified, and now before its end (computed only when asked for).
            now = criteria.instant().timestamp()
            holding = self.column("verified") & (self.column("verified_until") > now)
            if criteria.require_verified:
                mask &= holding
            if criteria.require_third_party:
                mask &= holding & self.column("third_party")
            if criteria.exclude_expired:
                # As `eligibility._expiry_check`: a verification that ended, or a footprint past its validity.
                mask &= (~self.column("verified") | holding) & (self.column("valid_until") > now)
        if criteria.min_primary_share is not None:
            with np.errstate(invalid="ignore"):
                mask &= self.column("primary_share") >= criteria.min_primary_share
        if criteria.alliance_only:
            code = criteria.alliance_only
            members = frozenset(owner for owner, codes in self._owners.codes.items() if code in codes)
            mask &= _member(self.column("owner"), members)
        if criteria.max_pcf is not None and criteria.max_pcf_unit:
            mask &= self._under_ceiling(criteria, mask)
        return mask

    def _under_ceiling(self, criteria: Criteria, candidates: Mask) -> Mask:
        assert criteria.max_pcf is not None and criteria.max_pcf_unit is not None
        unit = parse_unit(criteria.max_pcf_unit)
        ceiling = float(Footprint.parse(criteria.max_pcf, criteria.max_pcf_unit).canonical_value)
        family = self.families.codes.get(unit.family.value, -2)
        canonical = self.column("canonical")
        same_family = self.column("family") == family
        with np.errstate(invalid="ignore"):
            close = np.abs(canonical - ceiling) <= CEILING_BAND * max(abs(ceiling), 1e-300)
            under: Mask = same_family & (canonical <= ceiling) & ~close
        # Within the band, the exchange format's exact arithmetic decides (judge converts in Decimal).
        for row in np.flatnonzero(same_family & close & candidates).tolist():
            only_ceiling = Criteria(max_pcf=criteria.max_pcf, max_pcf_unit=criteria.max_pcf_unit)
            under[row] = judge(self.facts(row), only_ceiling).eligible
        return under


def _unknown(field: str, value: str) -> Mask:
    raise ValueError(f"the offer table cannot select rows by {field} {value!r}")


def _member(owners: Rows, allowed: frozenset[int]) -> Mask:
    if not allowed:
        return np.zeros(len(owners), dtype=bool)
    return np.isin(owners, np.fromiter(allowed, dtype=np.int64, count=len(allowed)))
