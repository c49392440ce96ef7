"""Hard filters, exactly as the exchange format specifies them, with an explanation of each check.

Pure: plain data in, plain data out. The same rules decide the API's results, the property tests' oracle
and the explanations, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from matchmaker import verification
from matchmaker.regions import english_name, in_region
from matchmaker.units import Footprint, FootprintUnit, parse_unit
from matchmaker.verification import last_day


@dataclass(frozen=True, slots=True)
class OfferFacts:
    """What the hard filters need to know of an offer (and its supplier)."""

    id: int
    category: str
    kind: str
    region: str | None
    pcf_value: float | None
    pcf_unit: str | None
    pcf_verified: bool
    supplier_alliances: frozenset[str]
    certifications: tuple[str, ...] = ()
    verified_until: datetime | None = None
    verification_party: str | None = None
    primary_data_share: float | None = None
    footprint_valid_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Criteria:
    """Hard filters of a need, plus request-time filters (category, kind, region, certification)."""

    max_pcf: float | None = None
    max_pcf_unit: str | None = None
    require_verified: bool = False
    alliance_only: str | None = None
    categories: frozenset[str] = field(default_factory=frozenset)
    kinds: frozenset[str] = field(default_factory=frozenset)
    regions: frozenset[str] = field(default_factory=frozenset)
    certification: str | None = None
    # Data quality: verified by an independent body (and still so); at least this share of primary data.
    require_third_party: bool = False
    min_primary_share: float | None = None
    # Leave out footprints out of date: their verification or their own validity ended (otherwise they are
    # kept, marked, without the verified bonus).
    exclude_expired: bool = False
    # The instant a verification must still hold at (`verification.holds`); None: when it is judged. One
    # request sets it once, so that every step of it draws the line at the same instant.
    now: datetime | None = None

    def instant(self) -> datetime:
        return self.now or datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class FootprintComparison:
    """An offer's footprint in the need's unit, against the ceiling."""

    value: Decimal
    unit: str
    ceiling: Decimal
    headroom: Decimal  # ceiling - value: how far below (negative: above)

    @property
    def headroom_ratio(self) -> float | None:
        """Headroom as a share of the ceiling (0.25 = 25% below); None for a ceiling of zero or less."""
        return float(self.headroom / self.ceiling) if self.ceiling > 0 else None


# Why a filter passed or failed, without words: clients phrase it in their own language from the values.
Reason = Literal[
    "footprint.within",
    "footprint.above",
    "footprint.missing",
    "footprint.unconvertible",
    "verified.yes",
    "verified.no",
    "verified.expired",
    "third_party.yes",
    "third_party.no",
    "primary_share.enough",
    "primary_share.short",
    "primary_share.missing",
    "expiry.current",
    "expiry.expired",
    "expiry.footprint_expired",
    "alliance.member",
    "alliance.not_member",
    "listed.in",
    "listed.not_in",
    "certification.has",
    "certification.lacks",
]


@dataclass(frozen=True, slots=True)
class Check:
    """One filter's verdict on one offer: in English (`detail`), and as a reason code with its values."""

    filter: str
    passed: bool
    detail: str
    reason: Reason
    # Pairs rather than a dict, so a Check stays hashable; the values are formatted as in `detail`.
    values: tuple[tuple[str, str], ...] = ()


def _check(name: str, passed: bool, detail: str, reason: Reason, **values: str) -> Check:
    return Check(name, passed, detail, reason, tuple(values.items()))


@dataclass(frozen=True, slots=True)
class Verdict:
    checks: tuple[Check, ...]
    footprint: FootprintComparison | None

    @property
    def eligible(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> list[str]:
        return [check.filter for check in self.checks if not check.passed]


def _format(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@lru_cache(maxsize=256)
def _ceiling(max_pcf: float, max_pcf_unit: str) -> tuple[FootprintUnit, Decimal]:
    """A ceiling's unit and exact value; cached, since every candidate is compared with the same one."""
    return parse_unit(max_pcf_unit), Footprint.parse(max_pcf, max_pcf_unit).value


def compare_footprint(
    offer: OfferFacts, max_pcf: float, max_pcf_unit: str
) -> tuple[Check, FootprintComparison | None]:
    """The ceiling: the offer has a PCF, its unit converts, and the converted value is <= the ceiling."""
    ceiling_unit, ceiling = _ceiling(max_pcf, max_pcf_unit)
    if offer.pcf_value is None or offer.pcf_unit is None:
        return _check("max_pcf", False, "no footprint stated", "footprint.missing"), None
    footprint = Footprint.parse(offer.pcf_value, offer.pcf_unit)
    if not footprint.converts_to(ceiling_unit):
        return (
            _check(
                "max_pcf",
                False,
                f"{offer.pcf_unit} ({footprint.family.value.replace('_', ' ')}) does not convert to "
                f"{max_pcf_unit} ({ceiling_unit.family.value.replace('_', ' ')})",
                "footprint.unconvertible",
                stated_unit=offer.pcf_unit,
                stated_family=footprint.family.value,
                unit=max_pcf_unit,
                family=ceiling_unit.family.value,
            ),
            None,
        )
    converted = footprint.convert(ceiling_unit)
    comparison = FootprintComparison(
        value=converted, unit=str(ceiling_unit), ceiling=ceiling, headroom=ceiling - converted
    )
    numbers = {
        "stated_value": _format(footprint.value),
        "stated_unit": offer.pcf_unit,
        "value": _format(converted),
        "unit": str(ceiling_unit),
        "ceiling": _format(ceiling),
    }
    stated = f"{numbers['stated_value']} {offer.pcf_unit} = {numbers['value']} {ceiling_unit}"
    if converted <= ceiling:
        check = _check("max_pcf", True, f"{stated} <= {numbers['ceiling']}", "footprint.within", **numbers)
    else:
        check = _check("max_pcf", False, f"{stated} > {numbers['ceiling']}", "footprint.above", **numbers)
    return check, comparison


@lru_cache(maxsize=256)
def _listed(wanted: frozenset[str]) -> tuple[str, str]:
    """The wanted values as the English detail shows them, and as the reason's value: the same for every
    candidate of a request, so written once."""
    ordered = sorted(wanted)
    return str(ordered), ", ".join(ordered)


def judge(offer: OfferFacts, criteria: Criteria) -> Verdict:
    """Apply every hard filter of the criteria to the offer."""
    checks: list[Check] = []
    footprint: FootprintComparison | None = None
    if criteria.alliance_only:
        member = criteria.alliance_only in offer.supplier_alliances
        status = "an active" if member else "not an active"
        checks.append(
            _check(
                "alliance_only",
                member,
                f"supplier is {status} member of {criteria.alliance_only}",
                "alliance.member" if member else "alliance.not_member",
                alliance=criteria.alliance_only,
            )
        )
    if criteria.require_verified:
        checks.append(_verified_check(offer, criteria))
    if criteria.require_third_party:
        checks.append(_third_party_check(offer, criteria))
    if criteria.exclude_expired:
        checks.append(_expiry_check(offer, criteria))
    if criteria.min_primary_share is not None:
        checks.append(_primary_share_check(offer, criteria.min_primary_share))
    if criteria.max_pcf is not None and criteria.max_pcf_unit:
        check, footprint = compare_footprint(offer, criteria.max_pcf, criteria.max_pcf_unit)
        checks.append(check)
    for name, wanted, actual, ok in (
        ("category", criteria.categories, offer.category, offer.category in criteria.categories),
        ("kind", criteria.kinds, offer.kind, offer.kind in criteria.kinds),
        # A region filter is met by the regions it covers (China by Jiangsu); shown by English names.
        (
            "region",
            frozenset(english_name(code) or code for code in criteria.regions),
            english_name(offer.region),
            any(in_region(wanted, offer.region) for wanted in criteria.regions),
        ),
    ):
        if wanted:
            checks.append(
                _check(
                    name,
                    ok,
                    f"{name} {actual!r} {'is' if ok else 'is not'} one of {_listed(wanted)[0]}",
                    "listed.in" if ok else "listed.not_in",
                    # An offer without a region has none to show; `wanted` is the sorted list, ", "-joined.
                    value=actual or "",
                    wanted=_listed(wanted)[1],
                )
            )
    if criteria.certification:
        wanted_text = criteria.certification.lower()
        ok = any(wanted_text in certificate.lower() for certificate in offer.certifications)
        checks.append(
            _check(
                "certification",
                ok,
                f"{'has' if ok else 'lacks'} certification {criteria.certification!r}",
                "certification.has" if ok else "certification.lacks",
                certification=criteria.certification,
            )
        )
    return Verdict(checks=tuple(checks), footprint=footprint)


def _third_party_check(offer: OfferFacts, criteria: Criteria) -> Check:
    independent = verification.by_third_party(
        verified=offer.pcf_verified and offer.pcf_value is not None,
        until=offer.verified_until,
        party=offer.verification_party,
        now=criteria.instant(),
    )
    if independent:
        return _check("require_third_party", True, "verified by a third party", "third_party.yes")
    return _check(
        "require_third_party", False, "not verified by a third party (or no longer)", "third_party.no"
    )


def _verified_check(offer: OfferFacts, criteria: Criteria) -> Check:
    stated = offer.pcf_verified and offer.pcf_value is not None
    if verification.holds(verified=stated, until=offer.verified_until, now=criteria.instant()):
        return _check("require_verified", True, "footprint verified", "verified.yes")
    if stated and offer.verified_until is not None:
        return _verification_ended("require_verified", "verified.expired", offer.verified_until)
    return _check("require_verified", False, "footprint not verified", "verified.no")


def _verification_ended(name: str, reason: Reason, until: datetime) -> Check:
    ended = str(last_day(until))
    return _check(name, False, f"footprint verification expired after {ended}", reason, date=ended)


def _expiry_check(offer: OfferFacts, criteria: Criteria) -> Check:
    """A footprint never verified has no verification to expire; its own validity still ends."""
    now = criteria.instant()
    stated = offer.pcf_verified and offer.pcf_value is not None
    if (
        stated
        and offer.verified_until is not None
        and not verification.before_end(offer.verified_until, now=now)
    ):
        return _verification_ended("exclude_expired", "expiry.expired", offer.verified_until)
    if offer.footprint_valid_until is not None and not verification.before_end(
        offer.footprint_valid_until, now=now
    ):
        ended = str(last_day(offer.footprint_valid_until))
        detail = f"footprint valid until {ended} only"
        return _check("exclude_expired", False, detail, "expiry.footprint_expired", date=ended)
    return _check("exclude_expired", True, "footprint and its verification not expired", "expiry.current")


def _primary_share_check(offer: OfferFacts, least: float) -> Check:
    wanted = _format(Decimal(str(least)))
    if offer.primary_data_share is None:
        return _check(
            "min_primary_share", False, "no primary data share stated", "primary_share.missing", least=wanted
        )
    share = _format(Decimal(str(offer.primary_data_share)))
    enough = offer.primary_data_share >= least
    return _check(
        "min_primary_share",
        enough,
        f"primary data share {share}% {'>=' if enough else '<'} {wanted}%",
        "primary_share.enough" if enough else "primary_share.short",
        share=share,
        least=wanted,
    )
