"""ListFootprints filters (PACT v3): which footprints a query selects. Pure: footprints are JSON dicts.

Values of one filter are OR'ed, different filters AND'ed; an empty value means no filter; a value that
matches nothing (a bogus geography, an unknown status) selects nothing and is not an error. Dates are
compared against the validity window: the explicit period, or [referencePeriodEnd, +3 years] without one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from matchmaker.pact.model import add_years
from matchmaker.pact.model import parse_datetime as rfc3339

# The filters the spec names; their query parameter names are matched case-insensitively.
LIST_FILTERS = ("productId", "companyId", "geography", "classification")
DATE_FILTERS = ("validOn", "validAfter", "validBefore")


class FilterError(ValueError):
    """A filter value that cannot be read (an unparsable date)."""


@dataclass(frozen=True, slots=True)
class FootprintQuery:
    product_ids: frozenset[str] = frozenset()
    company_ids: frozenset[str] = frozenset()
    geographies: frozenset[str] = frozenset()
    classifications: frozenset[str] = frozenset()
    valid_on: datetime | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None
    status: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]]) -> FootprintQuery:
        """From query parameters (or a RequestCreatedEvent's data), names matched case-insensitively."""
        by_name = {name.lower(): values for name, values in params.items()}

        def many(name: str) -> frozenset[str]:
            return frozenset(v.strip().lower() for v in by_name.get(name.lower(), ()) if v and v.strip())

        def one(name: str) -> str | None:
            values = [v for v in by_name.get(name.lower(), ()) if v and v.strip()]
            return values[0].strip() if values else None

        status = one("status")
        return cls(
            product_ids=many("productId"),
            company_ids=many("companyId"),
            geographies=many("geography"),
            classifications=many("classification"),
            valid_on=parse_datetime(one("validOn"), "validOn"),
            valid_after=parse_datetime(one("validAfter"), "validAfter"),
            valid_before=parse_datetime(one("validBefore"), "validBefore"),
            status=status,
        )

    def matches(self, footprint: Mapping[str, Any]) -> bool:
        pcf = footprint.get("pcf") or {}
        if self.product_ids and not self.product_ids & _lower(footprint.get("productIds")):
            return False
        if self.company_ids and not self.company_ids & _lower(footprint.get("companyIds")):
            return False
        if self.classifications and not self.classifications & _lower(
            footprint.get("productClassifications")
        ):
            return False
        if self.geographies:
            places = _lower(
                [
                    pcf.get("geographyCountry"),
                    pcf.get("geographyCountrySubdivision"),
                    pcf.get("geographyRegionOrSubregion"),
                ]
            )
            if not self.geographies & places:
                return False
        if self.status is not None and self.status.lower() != str(footprint.get("status", "")).lower():
            return False
        if self.valid_on or self.valid_after or self.valid_before:
            start, end = validity_window(footprint)
            if start is None or end is None:
                return False
            if self.valid_on and not start <= self.valid_on <= end:
                return False
            if self.valid_after and not start > self.valid_after:
                return False
            if self.valid_before and not end < self.valid_before:
                return False
        return True


def _lower(values: Any) -> frozenset[str]:
    return frozenset(str(v).lower() for v in (values or ()) if isinstance(v, str))


def parse_datetime(value: str | None, name: str = "date") -> datetime | None:
    """RFC 3339 as clients send it: Z or an offset, optional fractions, even without seconds. A '+' that
    arrived unencoded in a query string decodes to a space; it is put back."""
    if value is None:
        return None
    try:
        return rfc3339(value.strip().replace(" ", "+"))
    except ValueError:
        raise FilterError(
            f"{name} is not an RFC 3339 date-time with a time zone (e.g. ...Z): {value!r}"
        ) from None


def validity_window(footprint: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The explicit validity period, else [referencePeriodEnd, referencePeriodEnd + 3 years]."""
    pcf = footprint.get("pcf") or {}
    try:
        start = parse_datetime(footprint.get("validityPeriodStart"))
        end = parse_datetime(footprint.get("validityPeriodEnd"))
        reference_end = parse_datetime(pcf.get("referencePeriodEnd"))
    except FilterError:
        return None, None
    if start is None and reference_end is not None:
        start = reference_end
    if end is None and reference_end is not None:
        end = add_years(reference_end, 3)
    return start, end
