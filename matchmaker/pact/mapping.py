"""Map between offers and PACT ProductFootprints, in both directions.

**Offer -> v3 footprint** (`footprint_of_offer`, what our host serves). An offer pulled from a PACT host
is served as the footprint it came from, as long as its footprint is unchanged, so a pull-then-serve round
trip gives the same footprints. Any other offer is described by a synthesised footprint.

A footprint never changes its PCF: each PCF the offer has stated is a footprint of its own, with its own id,
whose `precedingPfIds` name those before it; the ones it replaced stay retrievable as `Deprecated`
(`footprints_of_offer`, reading the offer's footprint history through `lineage`). What the history does not
keep (title, description, region, standard, supplier name) is the offer's as it is now in all of them.

An offer states one number in one unit, but PACT requires more; what we put in the required fields we
cannot know:

- `declaredUnitAmount` "1" of the PACT unit of the offer's unit family (kg, kWh, MJ, tkm, m2, m3 or
  liter, piece); the value is converted exactly to kgCO2e per that unit. PV peak power (kWp) has no PACT
  unit, so such an offer is not served at all.
- `productMassPerDeclaredUnit`: "1" per kilogram, otherwise "0", the spec's value for "not relevant"; we
  do not know the mass of a litre or a piece.
- `referencePeriodStart/End`: the period of a pulled footprint when the offer kept it, otherwise the year
  before the footprint's last recorded change (of value, unit, verification or status; the offer's last
  update when no history is given). The validity period is the spec's default, three years from its end.
- `pcfIncludingBiogenicUptake` equals `pcfExcludingBiogenicUptake`: an offer states a single value.
- `fossilGhgEmissions` is the whole value (0 when it is negative), i.e. we assume the emissions are fossil.
- `fossilCarbonContent` "0" and `exemptedEmissionsPercent` "0": unknown, stated as none.
- `ipccCharacterizationFactors` ["AR6"]: assumed (the current IPCC report).
- `crossSectoralStandards`: mapped from the offer's standard; ISO14067 when it names none PACT knows.
- `verification` only for a verified offer, with `coverage` "product level" and the standard; the
  verifier is unknown.

**v2 or v3 footprint -> offer record** (`offer_record_of_footprint`, what our client imports). It reads
leniently (numbers or strings, fields v3 removed, the old `pcf.geographicScope`) and refuses only a
footprint that cannot become an offer. The PCF value is `pcfExcludingBiogenicUptake` (v2
`pCfExcludingBiogenic`), PACT's headline figure; in v3 it is per `declaredUnitAmount` units and is divided
by the amount, in v2 it is per one `declaredUnit` already (`unitaryProductAmount` is the product's size).
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, DecimalException, InvalidOperation
from typing import Any

from pydantic import ValidationError

from matchmaker import regions, verification
from matchmaker.db.models import Offer
from matchmaker.exchange import CATEGORIES, VERIFICATION_DAYS
from matchmaker.pact.lineage import PcfVersion, pcf_runs
from matchmaker.pact.model import add_years, parse_datetime, validate_footprint
from matchmaker.units import Footprint, FootprintUnit, UnitFamily, UnknownUnitError
from matchmaker.verification import last_day

SPEC_VERSION = "3.0.0"
# Larger than any real footprint or amount; bounds the arithmetic done on pulled values.
MAX_MAGNITUDE = Decimal("1e15")


class FootprintError(ValueError):
    """A footprint that cannot become an offer; the message names the field."""


@dataclass(frozen=True, slots=True)
class PulledFootprint:
    """A footprint read as an offer record (exchange-format fields) and the footprints it replaces."""

    footprint_id: str
    record: dict[str, Any]
    preceding_ids: list[str] = field(default_factory=list)


# PACT unit of measurement <-> our declared unit. `hour` and `megabit second` have no unit family here.
OFFER_UNIT_OF_PACT_UNIT: dict[str, str] = {
    "liter": "L",
    "cubic meter": "m3",
    "kilogram": "kg",
    "kilowatt hour": "kWh",
    "megajoule": "MJ",
    "ton kilometer": "tkm",
    "square meter": "m2",
    "piece": "unit",
}
_PACT_UNIT_OF_OFFER_UNIT = {
    offer_unit: pact_unit for pact_unit, offer_unit in OFFER_UNIT_OF_PACT_UNIT.items()
}
# The unit a synthesised footprint is declared in: the family's base unit (volume: m3, or L if stated so).
_BASE_UNIT_OF_FAMILY: dict[UnitFamily, str] = {
    UnitFamily.MASS: "kg",
    UnitFamily.ELECTRIC_ENERGY: "kWh",
    UnitFamily.FUEL_ENERGY: "MJ",
    UnitFamily.TRANSPORT_WORK: "tkm",
    UnitFamily.AREA: "m2",
    UnitFamily.VOLUME: "m3",
    UnitFamily.COUNT: "unit",
}

# v3 removed these; a v3 payload may still carry them (the 3.0.0 examples have `version`).
_REMOVED_IN_V3 = ("version", "updated", "statusComment", "productCategoryCpc")

# Offer standard (folded: lower case, no spaces, dashes or slashes) -> PACT crossSectoralStandards.
_PACT_STANDARDS: tuple[tuple[str, str], ...] = (
    ("iso14067", "ISO14067"),
    ("iso14083", "ISO14083"),
    ("iso1404044", "ISO14040-44"),
    ("iso14040", "ISO14040-44"),
    ("iso14044", "ISO14040-44"),
    ("ghgprotocol", "GHGP-Product"),
    ("ghgp", "GHGP-Product"),
    ("pef", "PEF"),
    ("pact3", "PACT-3.0"),
    ("pact2", "PACT-2.0"),
    ("pact1", "PACT-1.0"),
)
# PACT standard names (v3 enum and v2 crossSectoralStandardsUsed) -> the offer's `standard`.
_OFFER_STANDARDS: dict[str, str] = {
    "ISO14067": "ISO 14067",
    "ISO14083": "ISO 14083",
    "ISO14040-44": "ISO 14040/14044",
    "GHGP-Product": "GHG Protocol Product",
    "PEF": "PEF",
    "PAS2050": "PAS 2050",
    "ISO Standard 14067": "ISO 14067",
    "ISO Standard 14044": "ISO 14044",
    "GHG Protocol Product standard": "GHG Protocol Product",
    "PACT-1.0": "PACT 1.0",
    "PACT-2.0": "PACT 2.0",
    "PACT-3.0": "PACT 3.0",
}

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def decimal_text(value: Decimal) -> str:
    """A PACT Decimal string: plain digits, never an exponent, no needless trailing zeros, no '-0'."""
    text = format(value.normalize(), "f")
    return "0" if text == "-0" else text


def timestamp_text(moment: datetime) -> str:
    """An RFC 3339 UTC timestamp ending in Z (a naive datetime is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def geography_of_region(region: str | None) -> dict[str, str]:
    """The one PACT geography field for an offer's region (a code of `regions`), or none (PACT then reads it
    as global): a country's code; China's for its provinces (PACT's country is what buyers filter on); a
    UN M49 region's name. A group of our own (the Yangtze River Delta, the EU) has none."""
    if not region or not region.strip():
        return {}
    found = regions.region_named(region.strip())
    if found is None:  # stored before the list, as written: an ISO 3166-2 code is still a subdivision
        text = region.strip()
        return {"geographyCountrySubdivision": text} if re.fullmatch(r"[A-Z]{2}-[A-Z0-9]{1,3}", text) else {}
    if found.code.startswith("CN-"):
        return {"geographyCountry": "CN"}
    if re.fullmatch(r"[A-Z]{2}", found.code) and found.code != "EU":
        return {"geographyCountry": found.code}
    if found.code.startswith("M49-") or found.code == "EUROPE":
        return {"geographyRegionOrSubregion": found.english}
    return {}


def cross_sectoral_standards(standard: str | None) -> list[str]:
    """The PACT standards an offer's standard names; ISO14067 when it names none (PACT requires one)."""
    folded = re.sub(r"[\s/_.-]", "", (standard or "").lower())
    found: list[str] = []
    for needle, pact in _PACT_STANDARDS:
        if needle in folded and pact not in found:
            found.append(pact)
    return found or ["ISO14067"]


@dataclass(frozen=True, slots=True)
class OfferFootprints:
    """What an offer serves: its footprint as it stands (None when PACT cannot express it) and the footprints
    it replaced, the latest first, each `Deprecated`. Shared when cached: do not modify them."""

    current: dict[str, Any] | None
    replaced: tuple[dict[str, Any], ...] = ()

    def all(self) -> list[dict[str, Any]]:
        """The current footprint first, then those it replaced."""
        return [self.current, *self.replaced] if self.current is not None else list(self.replaced)


# The replaced footprints an offer serves, the latest first: an offer changed every day would otherwise
# fill the listing (and the cache) with its past; older ones are no longer served (their ids 404).
MOST_REPLACED = 20
# A PCF as a synthesised footprint states it: our base unit of its family, and kgCO2e per that unit.
Quantity = tuple[str, Decimal]


@dataclass(frozen=True, slots=True)
class _Original:
    """The v3 footprint an offer was pulled from, ready to serve as it came, and the PCF it states."""

    footprint: dict[str, Any]
    quantity: Quantity


@dataclass(frozen=True, slots=True)
class _Described:
    """One PCF of an offer as a synthesised footprint describes it."""

    footprint_id: str
    quantity: Quantity
    created: datetime
    status: str
    verified: bool
    verified_by: str | None
    updated: datetime  # its last recorded change: the reference period ends here (unless pulled with one)
    preceding_ids: list[str]


def footprint_of_offer(
    offer: Offer, *, issuer: str, history: Sequence[PcfVersion] | None = None
) -> dict[str, Any] | None:
    """The v3 ProductFootprint (JSON-ready) describing an offer as it stands, or None when PACT cannot
    express it; `history` as for `footprints_of_offer`."""
    return footprints_of_offer(offer, issuer=issuer, history=history).current


def footprints_of_offer(
    offer: Offer, *, issuer: str, history: Sequence[PcfVersion] | None = None
) -> OfferFootprints:
    """The offer's footprint as it stands and the ones it replaced, from its footprint history (oldest
    version first; without one, the offer is taken to state its first PCF). See `lineage`.

    The first PCF described here keeps the id footprints had before they had a history (the offer's URN);
    a later one adds the offer's row and the version that first stated it, so the same history always gives
    the same ids. A PCF the offer was pulled with is the pulled footprint itself, under its own id. A
    described footprint's `precedingPfIds` are the PCFs before it, the latest first, then the footprint the
    offer was pulled from (a v2 one too, which is never served as it came)."""
    runs = pcf_runs(history or (), _version_of(offer), quantity=_quantity_of_version)
    original = _served_original(offer)
    pulled_id = _pact_attributes(offer).get("id")
    urn = f"urn:pact:{issuer}:offer:{offer.owner_id}:{offer.external_id}"
    ids: list[str] = []
    built: list[dict[str, Any]] = []
    first_described = True
    for run in runs:
        if run.replaced_at is None:
            status, verified = _footprint_status(offer), _verified_now(offer)
            verified_by = offer.verified_by
        else:
            # Served as it stood when it was replaced: Deprecated, verified if it was then.
            last = run.last
            status = "Deprecated"
            verified = verification.holds(
                verified=last.pcf_verified, until=last.verified_until, now=run.replaced_at
            )
            verified_by = last.verified_by
        if original is not None and run.quantity == original.quantity:
            ids.append(str(original.footprint["id"]))
            built.append(_as_original(original, status=status, verified=verified))
            continue
        # A later one names the offer's row too: an offer deleted and made again restarts its versions.
        later = f"{urn}:pcf:{offer.id}:{run.first.version}"
        footprint_id = _footprint_id(urn if first_described else later)
        preceding = list(dict.fromkeys(reversed(ids)))
        if isinstance(pulled_id, str) and _UUID.fullmatch(pulled_id) and pulled_id not in preceding:
            # A pulled offer whose footprint changed here: this footprint succeeds the one it came from.
            preceding.append(pulled_id)
        ids.append(footprint_id)
        described = _Described(
            footprint_id=footprint_id,
            quantity=run.quantity,
            created=offer.created_at if first_described else run.first.recorded_at,
            status=status,
            verified=verified,
            verified_by=verified_by,
            # The footprint's own last change (not a later title's), so that it stays as it was served.
            updated=run.last.recorded_at,
            preceding_ids=[pcf_id for pcf_id in preceding if pcf_id != footprint_id],
        )
        built.append(_synthesised(offer, issuer=issuer, pcf=described))
        first_described = False
    current = built.pop() if runs and runs[-1].replaced_at is None else None
    replaced: dict[str, dict[str, Any]] = {}
    for footprint in reversed(built):
        # A PCF stated again (pulled, changed, changed back) is one footprint, served as it last stood.
        if current is None or footprint["id"] != current["id"]:
            replaced.setdefault(str(footprint["id"]), footprint)
    return OfferFootprints(current=current, replaced=tuple(replaced.values())[:MOST_REPLACED])


def _footprint_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def _version_of(offer: Offer) -> PcfVersion:
    """The offer's footprint as it stands, as a version of its history."""
    return PcfVersion(
        version=offer.version or 0,  # an offer not yet written has no history either
        pcf_value=offer.pcf_value,
        pcf_unit=offer.pcf_unit,
        pcf_verified=bool(offer.pcf_verified),
        verified_until=offer.verified_until,
        verified_by=offer.verified_by,
        status=offer.status,
        recorded_at=offer.updated_at or offer.created_at,
    )


def _quantity(value: float | str | None, unit: str | None) -> Quantity | None:
    """The PCF as we would serve it, or None when PACT cannot express it."""
    if value is None or unit is None:
        return None
    try:
        stated = Footprint.parse(value, unit)
    except (UnknownUnitError, InvalidOperation):
        return None
    if not stated.value.is_finite():
        return None
    base_unit = "L" if stated.unit.declared_unit == "L" else _BASE_UNIT_OF_FAMILY.get(stated.family)
    if base_unit is None:
        return None
    return base_unit, stated.convert(FootprintUnit(emission_mass="kg", declared_unit=base_unit))


def _quantity_of_version(version: PcfVersion) -> Quantity | None:
    return _quantity(version.pcf_value, version.pcf_unit)


def _served_original(offer: Offer) -> _Original | None:
    """The v3 footprint the offer was pulled from, if it is valid to serve (with its status and
    verification as `_as_original` sets them)."""
    original = _pact_attributes(offer).get("footprint")
    if not isinstance(original, dict) or spec_major(original) != 3:
        # A v2 footprint cannot be served as it is: it is described afresh.
        return None
    try:
        pulled = offer_record_of_footprint(original, supplier=offer.owner.name)
    except FootprintError:
        return None
    quantity = _quantity(pulled.record["pcf_value"], pulled.record["pcf_unit"])
    if quantity is None:
        return None
    served = {key: value for key, value in copy.deepcopy(original).items() if value is not None}
    for key in _REMOVED_IN_V3:
        served.pop(key, None)
    if isinstance(served.get("pcf"), dict):
        served["pcf"] = {key: value for key, value in served["pcf"].items() if value is not None}
    version = served.get("specVersion")
    if isinstance(version, str) and re.fullmatch(r"3\.[0-9]+", version):
        served["specVersion"] = f"{version}.0"
    served["status"] = "Active"  # the offer's own, in `_as_original`
    pcf = served.get("pcf")
    unverified = (
        {**served, "pcf": {key: value for key, value in pcf.items() if key != "verification"}}
        if isinstance(pcf, dict) and "verification" in pcf
        else served
    )
    try:
        validate_footprint(served)
    except ValidationError:
        if unverified is served:
            return None
        try:
            validate_footprint(unverified)
        except ValidationError:
            return None
        served = unverified  # a verification we cannot repeat is not served
    return _Original(footprint=served, quantity=quantity)


def _as_original(original: _Original, *, status: str, verified: bool) -> dict[str, Any]:
    """The pulled footprint with the offer's own status, and its verification only while it holds here (an
    offer archived here is deprecated whatever its source said; withdrawn or expired here, it is not served
    as verified)."""
    # Shallow: what is shared with the offer's other footprints is never modified (nor by their readers).
    served = {**original.footprint, "status": status}
    pcf = served.get("pcf")
    if not verified and isinstance(pcf, dict) and "verification" in pcf:
        served["pcf"] = {key: value for key, value in pcf.items() if key != "verification"}
    return served


def _synthesised(offer: Offer, *, issuer: str, pcf: _Described) -> dict[str, Any]:
    base_unit, value = pcf.quantity
    unit = _PACT_UNIT_OF_OFFER_UNIT[base_unit]
    reference_start, reference_end = _reference_period(offer, updated=pcf.updated)
    stated: dict[str, Any] = {
        "declaredUnitOfMeasurement": unit,
        "declaredUnitAmount": "1",
        "productMassPerDeclaredUnit": "1" if unit == "kilogram" else "0",
        "referencePeriodStart": timestamp_text(reference_start),
        "referencePeriodEnd": timestamp_text(reference_end),
        **geography_of_region(offer.region),
        "pcfExcludingBiogenicUptake": decimal_text(value),
        "pcfIncludingBiogenicUptake": decimal_text(value),
        "fossilGhgEmissions": decimal_text(max(value, Decimal(0))),
        "fossilCarbonContent": "0",
        "ipccCharacterizationFactors": [_characterisation(offer)],
        "crossSectoralStandards": cross_sectoral_standards(offer.standard),
        "exemptedEmissionsPercent": "0",
        **_stated_quality(offer),
    }
    if pcf.verified:
        verified = {"coverage": "product level"}
        if pcf.verified_by:
            verified["providerName"] = pcf.verified_by
        if offer.standard:
            verified["standardName"] = offer.standard
        stated["verification"] = verified
    footprint: dict[str, Any] = {
        "id": pcf.footprint_id,
        "specVersion": SPEC_VERSION,
        "created": timestamp_text(pcf.created),
        "status": pcf.status,
        "validityPeriodStart": timestamp_text(reference_end),
        "validityPeriodEnd": timestamp_text(add_years(reference_end, 3)),
        "companyName": offer.owner.name,
        "companyIds": [f"urn:pact:{issuer}:company:{offer.owner_id}"],
        "productDescription": offer.description or "",
        "productIds": [f"urn:pact:{issuer}:product:{offer.id}"],
        "productClassifications": [f"urn:pact:{issuer}:category:{offer.category}"],
        "productNameCompany": offer.title,
        "pcf": stated,
    }
    if pcf.preceding_ids:
        footprint["precedingPfIds"] = pcf.preceding_ids
    origin = _origin_comment(offer)
    if origin and pcf.status == "Active":
        footprint["comment"] = origin
    return footprint


def _characterisation(offer: Offer) -> str:
    """The IPCC report whose GWP100 values the footprint uses: AR6 unless a calculation chose AR5."""
    return "AR5" if (offer.pcf_provenance or {}).get("gwp") == "ar5" else "AR6"


def _origin_comment(offer: Offer) -> str | None:
    """What a receiver should know of a footprint not stated by hand."""
    provenance = offer.pcf_provenance or {}
    if offer.pcf_origin == "calculated":
        return (
            "Calculated by Matchmaker from the supplier's bill of materials with emission-factor library "
            f"{provenance.get('library')}; a draft, not verified."
        )
    if offer.pcf_origin == "lca":
        summary = provenance.get("summary") or "an LCA data set"
        return f"Imported from an LCA result: {summary}; not verified here."
    return None


def _verified_now(offer: Offer) -> bool:
    return verification.holds(verified=offer.pcf_verified, until=offer.verified_until, now=datetime.now(UTC))


def _footprint_status(offer: Offer) -> str:
    return "Active" if offer.status == "published" else "Deprecated"


def _pact_attributes(offer: Offer) -> Mapping[str, Any]:
    pact = (offer.attributes or {}).get("pact")
    return pact if isinstance(pact, dict) else {}


def _reference_period(offer: Offer, *, updated: datetime) -> tuple[datetime, datetime]:
    """The reference period a pulled footprint stated, else the year before `updated`."""
    pact = _pact_attributes(offer)
    start, end = pact.get("referencePeriodStart"), pact.get("referencePeriodEnd")
    if isinstance(start, str) and isinstance(end, str):
        try:
            stated_start, stated_end = parse_datetime(start), parse_datetime(end)
        except ValueError:
            pass
        else:
            if stated_start < stated_end:
                # In UTC, as written: the validity end (+3 years) is then computed as a reader checks it.
                return stated_start.astimezone(UTC), stated_end.astimezone(UTC)
    # Whole seconds, as the timestamps are written, so validity start and reference end stay equal.
    updated = updated.replace(microsecond=0)
    if updated.tzinfo is None:
        updated = updated.replace(tzinfo=UTC)
    return add_years(updated, -1), updated


def spec_major(footprint: Mapping[str, Any]) -> int:
    """2 or 3: the data model a footprint follows, by its field names, else by its specVersion."""
    pcf = footprint.get("pcf")
    if isinstance(pcf, dict):
        if "declaredUnitOfMeasurement" in pcf or "declaredUnitAmount" in pcf:
            return 3
        if "declaredUnit" in pcf or "unitaryProductAmount" in pcf:
            return 2
    version = footprint.get("specVersion")
    if isinstance(version, str) and version.strip().startswith(("1.", "2.")):
        return 2
    return 3


def offer_record_of_footprint(
    footprint: dict[str, Any],
    *,
    supplier: str | None = None,
    infer_category: Callable[[str], str | None] = lambda text: None,
) -> PulledFootprint:
    """Read a v2 or v3 footprint as an offer record of the exchange format; raise FootprintError."""
    if not isinstance(footprint, dict):
        raise FootprintError("footprint: not a JSON object")
    footprint_id = _text(footprint, "id")
    supplier = supplier or _text(footprint, "companyName")
    title = _text(footprint, "productNameCompany")
    pcf = footprint.get("pcf")
    if not isinstance(pcf, dict):
        raise FootprintError("pcf: missing or not an object")
    major = spec_major(footprint)
    unit_field, amount_field = (
        ("declaredUnitOfMeasurement", "declaredUnitAmount")
        if major == 3
        else ("declaredUnit", "unitaryProductAmount")
    )
    offer_unit = _offer_unit(pcf, unit_field)
    amount = _number(pcf, amount_field, required=major == 3)
    if amount is not None and amount <= 0:
        raise FootprintError(f"pcf.{amount_field}: must be greater than 0, got {pcf[amount_field]!r}")
    value = _pcf_value(pcf, major)
    if major == 3 and amount is not None:
        # v3: the value is for `declaredUnitAmount` units (ADR-36); v2: for one unit already.
        value = value / amount

    description = "\n".join(
        part
        for part in (_optional_text(footprint, "productDescription"), _optional_text(footprint, "comment"))
        if part
    )
    category = infer_category(f"{title} {description}")
    record: dict[str, Any] = {
        "id": footprint_id,
        "supplier": supplier,
        "title": title,
        "description": description,
        "kind": "product",
        "category": category if category in CATEGORIES else "other",
        "region": _region(pcf),
        "pcf_value": float(value),
        "pcf_unit": f"kgCO2e/{offer_unit}",
        "declared_unit": offer_unit,
        "pcf_verified": _verified(pcf),
        "pcf_valid_until": _validity_end(footprint),
        "standard": _standard(pcf),
        "status": "archived" if _status(footprint) == "Deprecated" else "published",
        **_data_quality(pcf),
        "attributes": {"pact": _pact_facts(footprint, pcf)},
    }
    preceding = footprint.get("precedingPfIds")
    preceding_ids = (
        [item for item in preceding if isinstance(item, str)] if isinstance(preceding, list) else []
    )
    return PulledFootprint(footprint_id=footprint_id, record=record, preceding_ids=preceding_ids)


def _validity_end(footprint: Mapping[str, Any]) -> str | None:
    """The last whole day (in Shanghai) before the footprint's validity ends: PACT's validityPeriodEnd, else
    three years after its reference period (PACT's default). It and its verification count until then,
    never past the instant the footprint says it ends."""
    end, pcf = footprint.get("validityPeriodEnd"), footprint.get("pcf")
    reference_end = pcf.get("referencePeriodEnd") if isinstance(pcf, dict) else None
    try:
        if isinstance(end, str):
            day = last_day(parse_datetime(end))
        elif isinstance(reference_end, str):
            day = last_day(add_years(parse_datetime(reference_end), 3))
        else:
            return None
    except (ValueError, OverflowError):  # unreadable, or a calendar's edge ("9999-12-31T23:59:59Z")
        return None
    # Beyond what a verification day may be: no stated end (the default validity applies).
    return str(day) if day is not None and VERIFICATION_DAYS[0] <= day <= VERIFICATION_DAYS[1] else None


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise FootprintError(f"{name}: missing or empty")
    return value.strip()


def _optional_text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    return value.strip() if isinstance(value, str) else ""


def _number(pcf: Mapping[str, Any], name: str, *, required: bool) -> Decimal | None:
    """A decimal from a JSON string or number (hosts send both), or None when absent and optional."""
    value = pcf.get(name)
    if value is None:
        if required:
            raise FootprintError(f"pcf.{name}: missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FootprintError(f"pcf.{name}: not a number ({value!r})")
    try:
        number = Decimal(str(value).strip())
        if not number.is_finite() or abs(number) > MAX_MAGNITUDE:
            raise FootprintError(f"pcf.{name}: not a finite number of a sensible size ({value!r})")
        return number
    except DecimalException:  # unparsable, or an exponent beyond what arithmetic can handle
        raise FootprintError(f"pcf.{name}: not a number ({value!r})") from None


def _offer_unit(pcf: Mapping[str, Any], name: str) -> str:
    unit = pcf.get(name)
    if not isinstance(unit, str) or not unit.strip():
        raise FootprintError(f"pcf.{name}: missing")
    offer_unit = OFFER_UNIT_OF_PACT_UNIT.get(unit.strip().lower())
    if offer_unit is None:
        known = ", ".join(OFFER_UNIT_OF_PACT_UNIT)
        raise FootprintError(f"pcf.{name}: {unit!r} has no offer unit (known: {known})")
    return offer_unit


def _pcf_value(pcf: Mapping[str, Any], major: int) -> Decimal:
    # The headline figure first; the biogenic-inclusive one only when a host left the headline out.
    # The other version's names last: drafts mixed them.
    v3 = ("pcfExcludingBiogenicUptake", "pcfIncludingBiogenicUptake", "pcfIncludingBiogenicCO2Uptake")
    v2 = ("pCfExcludingBiogenic", "pCfIncludingBiogenic")
    names = v3 + v2 if major == 3 else v2 + v3
    for name in names:
        value = _number(pcf, name, required=False)
        if value is not None:
            return value
    raise FootprintError(f"pcf.{names[0]}: missing")


def _region(pcf: Mapping[str, Any]) -> str | None:
    """The region of a footprint's geography, by its code in `regions`: a subdivision outside mainland China
    (which the list does not hold) is its country; a geography no region has is none."""
    # Before 2.2.1, v2 nested the geography in `geographicScope`.
    scope = pcf.get("geographicScope")
    places = [pcf, scope] if isinstance(scope, dict) else [pcf]
    for name in ("geographyCountrySubdivision", "geographyCountry", "geographyRegionOrSubregion"):
        for place in places:
            value = place.get(name)
            if isinstance(value, str) and value.strip():
                found = regions.find(value.strip()) or regions.find(value.strip().split("-")[0])
                if found is not None:
                    return found.code
    return None


def _verified(pcf: Mapping[str, Any]) -> bool:
    if isinstance(pcf.get("verification"), dict):
        return True
    assurance = pcf.get("assurance")
    return isinstance(assurance, dict) and assurance.get("assurance") is True


def _standard(pcf: Mapping[str, Any]) -> str | None:
    for holder in ("verification", "assurance"):
        details = pcf.get(holder)
        name = details.get("standardName") if isinstance(details, dict) else None
        if isinstance(name, str) and name.strip():
            return name.strip()[:100].rstrip()
    named: list[str] = []
    for holder in ("crossSectoralStandards", "crossSectoralStandardsUsed"):
        values = pcf.get(holder)
        if isinstance(values, list):
            named.extend(value.strip() for value in values if isinstance(value, str) and value.strip())
    known = [_OFFER_STANDARDS[name] for name in named if name in _OFFER_STANDARDS]
    # A method standard says more about the number than the PACT methodology version does.
    methods = [name for name in known if not name.startswith("PACT")]
    candidates = methods or known or named
    return candidates[0][:100].rstrip() if candidates else None


def _status(footprint: Mapping[str, Any]) -> str | None:
    # `pfStatus` is Catena-X's name, not PACT's; read only when `status` is absent.
    for name in ("status", "pfStatus", "extWBCSD_pfStatus"):
        value = footprint.get(name)
        if isinstance(value, str):
            return value
    return None


def _pact_facts(footprint: Mapping[str, Any], pcf: Mapping[str, Any]) -> dict[str, Any]:
    """The footprint's identity and periods, kept beside the offer, with the original footprint itself."""
    facts: dict[str, Any] = {}
    for name in ("id", "specVersion", "productIds", "companyIds"):
        if footprint.get(name) is not None:
            facts[name] = copy.deepcopy(footprint[name])
    classifications = footprint.get("productClassifications")
    classes = (
        [item for item in classifications if isinstance(item, str)]
        if isinstance(classifications, list)
        else []
    )
    cpc = footprint.get("productCategoryCpc")
    if isinstance(cpc, str | int) and not isinstance(cpc, bool) and str(cpc).strip():
        # v2's plain CPC code, as the URN v3 classifications use.
        cpc_urn = f"urn:cpc:{str(cpc).strip()}"
        if cpc_urn not in classes:
            classes.append(cpc_urn)
    if classes:
        facts["productClassifications"] = classes
    for name in ("validityPeriodStart", "validityPeriodEnd"):
        if footprint.get(name) is not None:
            facts[name] = footprint[name]
    for name in ("referencePeriodStart", "referencePeriodEnd"):
        if pcf.get(name) is not None:
            facts[name] = pcf[name]
    if footprint.get("precedingPfIds") is not None:
        facts["precedingPfIds"] = copy.deepcopy(footprint["precedingPfIds"])
    facts["footprint"] = copy.deepcopy(dict(footprint))
    return facts


def _stated_quality(offer: Offer) -> dict[str, Any]:
    """The offer's primary data share and quality ratings as PACT writes them (the ratings only all three
    together: `dqi` requires each)."""
    stated: dict[str, Any] = {}
    if offer.primary_data_share is not None:
        stated["primaryDataShare"] = decimal_text(Decimal(repr(offer.primary_data_share)))
    ratings = (offer.dqr_technological, offer.dqr_temporal, offer.dqr_geographical)
    if all(rating is not None for rating in ratings):
        stated["dqi"] = {
            name: decimal_text(Decimal(repr(rating)))
            for name, rating in zip(
                ("technologicalDQR", "temporalDQR", "geographicalDQR"), ratings, strict=True
            )
        }
    return stated


def _data_quality(pcf: Mapping[str, Any]) -> dict[str, float]:
    """The footprint's primary data share and quality ratings, where stated and within their ranges (v2 and
    v3 name them alike; v3 writes decimals as strings). Anything else is left unstated, not refused: the
    footprint is still worth having."""
    stated: dict[str, float] = {}
    quality = pcf.get("dqi")
    ratings = quality if isinstance(quality, dict) else {}
    for name, value, low, high in (
        ("primary_data_share", pcf.get("primaryDataShare"), 0, 100),
        ("dqr_technological", ratings.get("technologicalDQR"), 1, 3),
        ("dqr_temporal", ratings.get("temporalDQR"), 1, 3),
        ("dqr_geographical", ratings.get("geographicalDQR"), 1, 3),
    ):
        number = _decimal_or_none(value)
        if number is not None and low <= number <= high:
            stated[name] = float(number)
    return stated


def _decimal_or_none(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
