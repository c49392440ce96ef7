"""PACT mapping: v2/v3 footprints become offer records, offers become v3 footprints that validate."""

from __future__ import annotations

import copy
import uuid
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session

from matchmaker.db.models import Offer, Organisation
from matchmaker.exchange import OfferRecord
from matchmaker.pact.mapping import (
    FootprintError,
    decimal_text,
    footprint_of_offer,
    geography_of_region,
    offer_record_of_footprint,
)
from matchmaker.pact.model import ListResponse, SingleResponse, validate_footprint
from matchmaker.units import Footprint
from tests.factories import make_offer, make_party

ISSUER = "matchmaker.example"

STEEL_COIL: dict[str, Any] = {
    "id": "3f1c2a9e-7b4d-4e2a-9c1f-5a6b7c8d9e01",
    "specVersion": "3.0.0",
    "created": "2025-02-01T00:00:00Z",
    "status": "Active",
    "validityPeriodStart": "2025-01-01T00:00:00Z",
    "validityPeriodEnd": "2027-12-31T00:00:00Z",
    "companyName": "Example Steel Co.",
    "companyIds": ["urn:pact:example-steel.com:company-id:1001"],
    "productDescription": "Hot-rolled steel coil, electric arc furnace route, no packaging",
    "productIds": ["urn:pact:example-steel.com:supplier-id:HRC-001"],
    "productClassifications": ["urn:pact:example-steel.com:category-id:steel-hrc"],
    "productNameCompany": "HRC-001 hot-rolled coil",
    "pcf": {
        "declaredUnitOfMeasurement": "kilogram",
        "declaredUnitAmount": "1",
        "productMassPerDeclaredUnit": "1",
        "referencePeriodStart": "2024-01-01T00:00:00Z",
        "referencePeriodEnd": "2025-01-01T00:00:00Z",
        "geographyCountry": "CN",
        "pcfExcludingBiogenicUptake": "0.8",
        "pcfIncludingBiogenicUptake": "0.8",
        "fossilGhgEmissions": "0.8",
        "fossilCarbonContent": "0.002",
        "ipccCharacterizationFactors": ["AR6"],
        "crossSectoralStandards": ["ISO14067", "PACT-3.0"],
        "exemptedEmissionsPercent": "0",
        "packagingEmissionsIncluded": False,
        "primaryDataShare": "60",
        "dqi": {"technologicalDQR": "2", "geographicalDQR": "1.5", "temporalDQR": "1"},
        "verification": {
            "coverage": "product level",
            "providerName": "Example Verifier GmbH",
            "completedAt": "2025-01-20T00:00:00Z",
            "standardName": "ISO 14067",
        },
    },
}

BRACKET_PACK: dict[str, Any] = {
    "id": "9b2e4f60-1c3d-4a5b-8e7f-0a1b2c3d4e02",
    "specVersion": "3.0.0",
    "created": "2025-03-01T00:00:00Z",
    "status": "Deprecated",
    "companyName": "Example Steel Co.",
    "companyIds": ["urn:pact:example-steel.com:company-id:1001"],
    "productDescription": "Steel bracket, 12-piece pack (mass excludes packaging)",
    "productIds": ["urn:pact:example-steel.com:supplier-id:BRK-12"],
    "productNameCompany": "BRK-12 bracket pack",
    "pcf": {
        "declaredUnitOfMeasurement": "piece",
        "declaredUnitAmount": "12",
        "productMassPerDeclaredUnit": "2.4",
        "referencePeriodStart": "2024-01-01T00:00:00Z",
        "referencePeriodEnd": "2025-01-01T00:00:00Z",
        "geographyRegionOrSubregion": "Eastern Asia",
        "pcfExcludingBiogenicUptake": "9.6",
        "pcfIncludingBiogenicUptake": "9.6",
        "fossilGhgEmissions": "9.6",
        "fossilCarbonContent": "0.02",
        "ipccCharacterizationFactors": ["AR6"],
        "crossSectoralStandards": ["GHGP-Product"],
        "exemptedEmissionsPercent": "1.5",
    },
}

# A v2.3 footprint: a 12 L canister whose footprint is stated per litre (v2 does not divide).
SOLVENT_V2: dict[str, Any] = {
    "id": "d9be4477-e351-45b3-acd9-e1da05e6f633",
    "specVersion": "2.3.0",
    "version": 2,
    "created": "2024-06-01T00:00:00Z",
    "updated": "2024-07-01T00:00:00Z",
    "status": "Active",
    "precedingPfIds": ["c3028ee9-d595-4779-a73a-290bfa7505d6"],
    "companyName": "Example Chemicals",
    "companyIds": ["urn:uuid:51131FB5-42A2-4267-A402-0ECFEFAD1619"],
    "productDescription": "Bio-based solvent, 12 L canister",
    "productIds": ["urn:gtin:4712345060507"],
    "productCategoryCpc": "6398",
    "productNameCompany": "Green Solvent 12L",
    "comment": "Cradle-to-gate",
    "pcf": {
        "declaredUnit": "liter",
        "unitaryProductAmount": "12",
        "pCfExcludingBiogenic": "1.5",
        "pCfIncludingBiogenic": "1.2",
        "fossilGhgEmissions": "1.5",
        "fossilCarbonContent": "0",
        "biogenicCarbonContent": "0.1",
        "characterizationFactors": "AR6",
        "ipccCharacterizationFactorsSources": ["AR6"],
        "crossSectoralStandardsUsed": ["ISO Standard 14067"],
        "boundaryProcessesDescription": "cradle to gate",
        "exemptedEmissionsPercent": 0,
        "exemptedEmissionsDescription": "",
        "packagingEmissionsIncluded": True,
        "referencePeriodStart": "2023-01-01T00:00:00Z",
        "referencePeriodEnd": "2024-01-01T00:00:00Z",
        "geographyCountry": "DE",
        "assurance": {"assurance": True, "providerName": "X"},
    },
}


REMOVE = object()


def fixture(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of a fixture; `pcf__name=value` changes a pcf field, value REMOVE removes the field."""
    result = copy.deepcopy(data)
    for key, value in changes.items():
        target, name = (
            (result["pcf"], key.removeprefix("pcf__")) if key.startswith("pcf__") else (result, key)
        )
        if value is REMOVE:
            target.pop(name, None)
        else:
            target[name] = value
    return result


@pytest.fixture
def vendor(session: Session) -> Organisation:
    return make_party(session, name="Jiangsu Green Steel", kind="vendor", role="vendor").organisation


# --- the model -------------------------------------------------------------------------------------------


def test_the_fixtures_validate() -> None:
    for footprint in (STEEL_COIL, BRACKET_PACK):
        assert validate_footprint(copy.deepcopy(footprint)).model_dump(exclude_none=True) == footprint
    ListResponse.model_validate({"data": [STEEL_COIL, BRACKET_PACK]})
    SingleResponse.model_validate({"data": STEEL_COIL})


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"version": 1}, "version"),
        ({"productCategoryCpc": "6398"}, "productCategoryCpc"),
        ({"id": "{3f1c2a9e-7b4d-4e2a-9c1f-5a6b7c8d9e01}"}, "id"),
        ({"specVersion": "3.0"}, "specVersion"),
        ({"created": "2025-02-01T00:00:00"}, "created"),
        ({"created": "2025-02-30T00:00:00Z"}, "created"),
        ({"companyIds": []}, "companyIds"),
        ({"companyIds": ["pact:example-steel.com:company-id:1001"]}, "companyIds"),
        ({"productIds": ["urn:a", "urn:a"]}, "unique"),
        ({"comment": None}, "null"),
        ({"productNameCompany": ""}, "productNameCompany"),
        ({"validityPeriodEnd": "2028-01-02T00:00:00Z"}, "3 years"),
        ({"validityPeriodStart": "2024-12-31T00:00:00Z"}, "validityPeriodStart"),
        ({"pcf__geographyRegionOrSubregion": "Eastern Asia"}, "at most one geography"),
        ({"pcf__geographyCountry": "cn"}, "geographyCountry"),
        ({"pcf__pcfExcludingBiogenicUptake": "8e-1"}, "pcfExcludingBiogenicUptake"),
        ({"pcf__pcfExcludingBiogenicUptake": 0.8}, "pcfExcludingBiogenicUptake"),
        ({"pcf__pcfExcludingBiogenicUptake": ".8"}, "pcfExcludingBiogenicUptake"),
        ({"pcf__fossilGhgEmissions": "-0.1"}, "fossilGhgEmissions"),
        ({"pcf__declaredUnitAmount": "0"}, "greater than 0"),
        ({"pcf__declaredUnitOfMeasurement": "ton"}, "declaredUnitOfMeasurement"),
        ({"pcf__crossSectoralStandards": ["PAS2050"]}, "crossSectoralStandards"),
        ({"pcf__ipccCharacterizationFactors": ["6"]}, "ipccCharacterizationFactors"),
        ({"pcf__exemptedEmissionsPercent": REMOVE}, "exemptedEmissionsPercent"),
        ({"pcf__dqi": {"technologicalDQR": "2", "geographicalDQR": "1.5"}}, "temporalDQR"),
        ({"pcf__packagingGhgEmissions": "0.1"}, "packagingGhgEmissions"),
        ({"pcf__verification": {"coverage": "corporate level"}}, "coverage"),
        ({"pcf__biogenicCO2Uptake": "0.5"}, "biogenicCO2Uptake"),
        ({"pcf__referencePeriodEnd": "2024-01-01T00:00:00Z"}, "referencePeriodEnd"),
    ],
)
def test_the_model_refuses_what_the_schema_refuses(changes: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        validate_footprint(fixture(STEEL_COIL, **changes))


# --- footprint -> offer record ---------------------------------------------------------------------------


def test_a_verified_v3_footprint_becomes_a_verified_offer() -> None:
    pulled = offer_record_of_footprint(copy.deepcopy(STEEL_COIL), infer_category=lambda text: "steel")
    record = pulled.record
    assert pulled.footprint_id == STEEL_COIL["id"]
    assert pulled.preceding_ids == []
    assert record["id"] == STEEL_COIL["id"]
    assert record["supplier"] == "Example Steel Co."
    assert record["title"] == "HRC-001 hot-rolled coil"
    assert record["category"] == "steel"
    assert (record["pcf_value"], record["pcf_unit"], record["declared_unit"]) == (0.8, "kgCO2e/kg", "kg")
    assert record["pcf_verified"] is True
    assert record["standard"] == "ISO 14067"
    assert record["region"] == "CN"
    assert record["status"] == "published"
    pact = record["attributes"]["pact"]
    assert pact["productClassifications"] == STEEL_COIL["productClassifications"]
    assert pact["referencePeriodEnd"] == "2025-01-01T00:00:00Z"
    assert pact["validityPeriodEnd"] == "2027-12-31T00:00:00Z"
    assert pact["footprint"] == STEEL_COIL
    assert "precedingPfIds" not in pact
    OfferRecord.model_validate(record)


def test_a_v3_value_is_divided_by_the_declared_amount() -> None:
    record = offer_record_of_footprint(copy.deepcopy(BRACKET_PACK), supplier="Bracket Importer").record
    # 9.6 kgCO2e for 12 pieces.
    assert (record["pcf_value"], record["pcf_unit"]) == (0.8, "kgCO2e/unit")
    assert record["status"] == "archived"
    assert record["pcf_verified"] is False
    assert record["standard"] == "GHG Protocol Product"
    assert record["region"] == "M49-030"  # Eastern Asia, by its code in the region list
    assert record["supplier"] == "Bracket Importer"
    assert record["category"] == "other"
    assert "productClassifications" not in record["attributes"]["pact"]
    OfferRecord.model_validate(record)


def test_a_v2_value_is_per_declared_unit_and_not_divided() -> None:
    pulled = offer_record_of_footprint(copy.deepcopy(SOLVENT_V2))
    record = pulled.record
    assert (record["pcf_value"], record["pcf_unit"], record["declared_unit"]) == (1.5, "kgCO2e/L", "L")
    assert record["pcf_verified"] is True
    assert record["standard"] == "ISO 14067"
    assert record["region"] == "DE"
    assert record["description"] == "Bio-based solvent, 12 L canister\nCradle-to-gate"
    assert pulled.preceding_ids == ["c3028ee9-d595-4779-a73a-290bfa7505d6"]
    pact = record["attributes"]["pact"]
    assert pact["productClassifications"] == ["urn:cpc:6398"]
    assert pact["specVersion"] == "2.3.0"
    assert pact["precedingPfIds"] == ["c3028ee9-d595-4779-a73a-290bfa7505d6"]
    OfferRecord.model_validate(record)


def test_old_v2_payloads_are_read_leniently() -> None:
    old = fixture(
        SOLVENT_V2,
        specVersion="2.0.0",
        pcf__geographyCountry=REMOVE,
        pcf__geographicScope={"geographyCountrySubdivision": "DE-BW"},
        pcf__pCfExcludingBiogenic=1.5,
        pcf__assurance={"assurance": False, "providerName": ""},
        pcf__crossSectoralStandardsUsed=["GHG Protocol Product standard"],
    )
    record = offer_record_of_footprint(old).record
    assert (record["pcf_value"], record["region"]) == (1.5, "DE")  # the list holds Germany, not its states
    assert record["pcf_verified"] is False
    assert record["standard"] == "GHG Protocol Product"


def test_a_client_tolerates_fields_v3_removed() -> None:
    record = offer_record_of_footprint(fixture(STEEL_COIL, version=1, updated="2025-02-02T00:00:00Z")).record
    assert record["pcf_value"] == 0.8


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": REMOVE}, "id: missing"),
        ({"companyName": REMOVE}, "companyName: missing"),
        ({"productNameCompany": "  "}, "productNameCompany: missing"),
        ({"pcf": REMOVE}, "pcf: missing"),
        (
            {"pcf__declaredUnitOfMeasurement": "hour"},
            "pcf.declaredUnitOfMeasurement: 'hour' has no offer unit",
        ),
        ({"pcf__declaredUnitOfMeasurement": "megabit second"}, "'megabit second' has no offer unit"),
        ({"pcf__declaredUnitOfMeasurement": REMOVE}, "pcf.declaredUnitOfMeasurement: missing"),
        ({"pcf__declaredUnitAmount": "0"}, "pcf.declaredUnitAmount: must be greater than 0"),
        ({"pcf__declaredUnitAmount": -2}, "pcf.declaredUnitAmount: must be greater than 0"),
        ({"pcf__declaredUnitAmount": REMOVE}, "pcf.declaredUnitAmount: missing"),
        ({"pcf__pcfExcludingBiogenicUptake": "about 9"}, "pcf.pcfExcludingBiogenicUptake: not a number"),
        ({"pcf__pcfExcludingBiogenicUptake": "NaN"}, "pcf.pcfExcludingBiogenicUptake: not a finite number"),
        ({"pcf__pcfExcludingBiogenicUptake": True}, "pcf.pcfExcludingBiogenicUptake: not a number"),
        (
            {"pcf__pcfExcludingBiogenicUptake": REMOVE, "pcf__pcfIncludingBiogenicUptake": REMOVE},
            "pcf.pcfExcludingBiogenicUptake: missing",
        ),
    ],
)
def test_a_footprint_that_cannot_be_an_offer_is_refused_by_field(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(FootprintError, match=message) as caught:
        offer_record_of_footprint(fixture(BRACKET_PACK, **changes))
    assert "\n" not in str(caught.value)


def test_a_v2_footprint_with_a_bad_amount_is_refused() -> None:
    with pytest.raises(FootprintError, match="pcf.unitaryProductAmount: must be greater than 0"):
        offer_record_of_footprint(fixture(SOLVENT_V2, pcf__unitaryProductAmount="0"))
    with pytest.raises(FootprintError, match="pcf.declaredUnit: 'barrel' has no offer unit"):
        offer_record_of_footprint(fixture(SOLVENT_V2, pcf__declaredUnit="barrel"))


# --- offer -> footprint ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "pact_unit", "expected", "mass"),
    [
        (0.62, "tCO2e/t", "kilogram", "0.62", "1"),
        (800, "kgCO2e/t", "kilogram", "0.8", "1"),
        (74, "tCO2e/MWh", "kilowatt hour", "74", "0"),
        (28, "gCO2e/tkm", "ton kilometer", "0.028", "0"),
        (19, "kgCO2e/GJ", "megajoule", "0.019", "0"),
        (0.21, "tCO2e/m3", "cubic meter", "210", "0"),
        (1.5, "kgCO2e/L", "liter", "1.5", "0"),
        (12, "kgCO2e/m2", "square meter", "12", "0"),
        (3, "kgCO2e/unit", "piece", "3", "0"),
        (1e-7, "kgCO2e/kg", "kilogram", "0.0000001", "1"),
    ],
)
def test_an_offer_is_served_per_one_base_unit(
    session: Session, vendor: Organisation, value: float, unit: str, pact_unit: str, expected: str, mass: str
) -> None:
    offer = make_offer(session, owner=vendor, external_id="x1", pcf_value=value, pcf_unit=unit)
    footprint = footprint_of_offer(offer, issuer=ISSUER)
    assert footprint is not None
    validate_footprint(footprint)
    pcf = footprint["pcf"]
    assert (pcf["declaredUnitOfMeasurement"], pcf["declaredUnitAmount"]) == (pact_unit, "1")
    assert pcf["pcfExcludingBiogenicUptake"] == pcf["pcfIncludingBiogenicUptake"] == expected
    assert pcf["fossilGhgEmissions"] == expected
    assert pcf["productMassPerDeclaredUnit"] == mass


def test_a_synthesised_footprint_describes_the_offer(session: Session, vendor: Organisation) -> None:
    offer = make_offer(
        session, owner=vendor, external_id="coil-7", title="Green coil", description="EAF coil"
    )
    footprint = footprint_of_offer(offer, issuer=ISSUER)
    assert footprint is not None
    expected_id = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:pact:{ISSUER}:offer:{vendor.id}:coil-7")
    assert footprint["id"] == str(expected_id)
    assert footprint["specVersion"] == "3.0.0"
    assert footprint["status"] == "Active"
    assert footprint["created"].endswith("Z") and "+00:00" not in footprint["created"]
    assert footprint["companyName"] == "Jiangsu Green Steel"
    assert footprint["companyIds"] == [f"urn:pact:{ISSUER}:company:{vendor.id}"]
    assert footprint["productIds"] == [f"urn:pact:{ISSUER}:product:{offer.id}"]
    assert footprint["productClassifications"] == [f"urn:pact:{ISSUER}:category:steel"]
    assert (footprint["productNameCompany"], footprint["productDescription"]) == ("Green coil", "EAF coil")
    assert "precedingPfIds" not in footprint
    pcf = footprint["pcf"]
    assert pcf["geographyCountry"] == "CN"
    assert pcf["crossSectoralStandards"] == ["ISO14067"]
    assert pcf["verification"] == {"coverage": "product level", "standardName": "ISO 14067"}
    assert pcf["referencePeriodEnd"] == footprint["validityPeriodStart"]
    assert pcf["referencePeriodStart"][:4] == str(int(pcf["referencePeriodEnd"][:4]) - 1)
    assert footprint["validityPeriodEnd"][:4] == str(int(pcf["referencePeriodEnd"][:4]) + 3)
    assert all(value is not None for value in [*footprint.values(), *pcf.values()])
    validate_footprint(footprint)
    # The same offer gives the same footprint (ids and all) on every request.
    assert footprint_of_offer(offer, issuer=ISSUER) == footprint


def test_an_archived_unverified_negative_offer(session: Session, vendor: Organisation) -> None:
    offer = make_offer(
        session,
        owner=vendor,
        external_id="bio-1",
        pcf_value=-0.5,
        pcf_unit="kgCO2e/kg",
        status="archived",
        pcf_verified=False,
        standard="GHG Protocol Product Standard",
        region="Atlantis",
    )
    footprint = footprint_of_offer(offer, issuer=ISSUER)
    assert footprint is not None
    validate_footprint(footprint)
    pcf = footprint["pcf"]
    assert footprint["status"] == "Deprecated"
    assert (pcf["pcfExcludingBiogenicUptake"], pcf["fossilGhgEmissions"]) == ("-0.5", "0")
    assert "verification" not in pcf
    assert pcf["crossSectoralStandards"] == ["GHGP-Product"]
    assert not {"geographyCountry", "geographyRegionOrSubregion", "geographyCountrySubdivision"} & set(pcf)


def test_offers_pact_cannot_express_are_not_served(session: Session, vendor: Organisation) -> None:
    peak_power = make_offer(session, owner=vendor, external_id="pv-1", pcf_value=350, pcf_unit="kgCO2e/kWp")
    without = make_offer(session, owner=vendor, external_id="none-1", pcf_value=None, pcf_unit=None)
    assert footprint_of_offer(peak_power, issuer=ISSUER) is None
    assert footprint_of_offer(without, issuer=ISSUER) is None


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("Jiangsu", {"geographyCountry": "CN"}),
        ("江苏", {"geographyCountry": "CN"}),
        ("江苏省", {"geographyCountry": "CN"}),
        ("Inner Mongolia", {"geographyCountry": "CN"}),
        ("内蒙古自治区", {"geographyCountry": "CN"}),
        ("Shanghai", {"geographyCountry": "CN"}),
        ("China", {"geographyCountry": "CN"}),
        ("Suzhou, Jiangsu, China", {"geographyCountry": "CN"}),
        ("Germany", {"geographyCountry": "DE"}),
        ("united kingdom", {"geographyCountry": "GB"}),
        ("Korea", {"geographyCountry": "KR"}),
        ("Hong Kong", {"geographyCountry": "HK"}),
        ("DE", {"geographyCountry": "DE"}),
        ("UK", {"geographyCountry": "GB"}),
        ("Europe", {"geographyRegionOrSubregion": "Europe"}),
        ("DE-BW", {"geographyCountrySubdivision": "DE-BW"}),
        ("Eastern Asia", {"geographyRegionOrSubregion": "Eastern Asia"}),
        ("Yangtze River Delta", {}),
        ("Atlantis", {}),
        (None, {}),
        ("", {}),
    ],
)
def test_a_region_becomes_at_most_one_geography(region: str | None, expected: dict[str, str]) -> None:
    assert geography_of_region(region) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("1E+6", "1000000"),
        ("-0", "0"),
        ("-0.000", "0"),
        ("0.500", "0.5"),
        ("0.028", "0.028"),
        ("1E-7", "0.0000001"),
    ],
)
def test_decimals_are_written_without_exponent(value: str, text: str) -> None:
    assert decimal_text(Decimal(value)) == text


# --- round trips -----------------------------------------------------------------------------------------


def _offer_of_record(session: Session, owner: Organisation, record: dict[str, Any]) -> Offer:
    """Store a pulled record as an offer, as the import would (its relevant fields)."""
    return make_offer(
        session,
        owner=owner,
        external_id=record["id"],
        title=record["title"],
        description=record["description"],
        region=record["region"],
        pcf_value=record["pcf_value"],
        pcf_unit=record["pcf_unit"],
        pcf_verified=record["pcf_verified"],
        standard=record["standard"],
        status=record["status"],
        attributes=record["attributes"],
    )


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        (0.62, "tCO2e/t"),
        (74, "tCO2e/MWh"),
        (28, "gCO2e/tkm"),
        (0.21, "tCO2e/m3"),
        (1.5, "kgCO2e/L"),
        (-2, "kgCO2e/unit"),
    ],
)
def test_offer_to_footprint_to_record_keeps_the_footprint(
    session: Session, vendor: Organisation, value: float, unit: str
) -> None:
    offer = make_offer(session, owner=vendor, external_id="rt-1", pcf_value=value, pcf_unit=unit)
    footprint = footprint_of_offer(offer, issuer=ISSUER)
    assert footprint is not None
    record = offer_record_of_footprint(footprint).record
    back = Footprint.parse(record["pcf_value"], record["pcf_unit"])
    stated = Footprint.parse(value, unit)
    assert back.family == stated.family
    assert back.canonical_value == stated.canonical_value
    assert record["pcf_verified"] is True and record["standard"] == "ISO 14067"
    assert record["supplier"] == vendor.name


@pytest.mark.parametrize("source", [STEEL_COIL, BRACKET_PACK])
def test_a_pulled_footprint_is_served_as_it_came(
    session: Session, vendor: Organisation, source: dict[str, Any]
) -> None:
    # A 3.0.0 example still carries `version`: the served copy leaves out what v3 removed.
    pulled = offer_record_of_footprint(fixture(source, version=1)).record
    offer = _offer_of_record(session, vendor, pulled)
    assert footprint_of_offer(offer, issuer=ISSUER) == source


def test_a_pulled_footprint_changed_here_is_described_afresh(session: Session, vendor: Organisation) -> None:
    pulled = offer_record_of_footprint(copy.deepcopy(STEEL_COIL)).record
    offer = _offer_of_record(session, vendor, {**pulled, "pcf_value": 0.7})
    footprint = footprint_of_offer(offer, issuer=ISSUER)
    assert footprint is not None
    validate_footprint(footprint)
    assert footprint["id"] != STEEL_COIL["id"]
    assert footprint["precedingPfIds"] == [STEEL_COIL["id"]]
    assert footprint["pcf"]["pcfExcludingBiogenicUptake"] == "0.7"
    # The period the supplier measured is kept.
    assert footprint["pcf"]["referencePeriodStart"] == "2024-01-01T00:00:00Z"
    assert footprint["pcf"]["referencePeriodEnd"] == "2025-01-01T00:00:00Z"
    assert footprint["validityPeriodEnd"] == "2028-01-01T00:00:00Z"


def test_a_pulled_v2_footprint_is_served_as_v3(session: Session, vendor: Organisation) -> None:
    pulled = offer_record_of_footprint(copy.deepcopy(SOLVENT_V2)).record
    offer = _offer_of_record(session, vendor, pulled)
    footprint = footprint_of_offer(offer, issuer=ISSUER)
    assert footprint is not None
    validate_footprint(footprint)
    assert footprint["specVersion"] == "3.0.0"
    assert footprint["pcf"]["declaredUnitOfMeasurement"] == "liter"
    assert footprint["pcf"]["pcfExcludingBiogenicUptake"] == "1.5"
    assert footprint["pcf"]["geographyCountry"] == "DE"
    assert footprint["precedingPfIds"] == [SOLVENT_V2["id"]]


def test_an_invalid_pulled_footprint_is_not_served_as_it_came(session: Session, vendor: Organisation) -> None:
    # The spec's example-1 sets all three geography fields; our host must not repeat that.
    broken = fixture(STEEL_COIL, pcf__geographyRegionOrSubregion="Eastern Asia")
    offer = _offer_of_record(session, vendor, offer_record_of_footprint(broken).record)
    footprint = footprint_of_offer(offer, issuer=ISSUER)
    assert footprint is not None
    validate_footprint(footprint)
    assert footprint["id"] != STEEL_COIL["id"]


def test_an_archived_pulled_offer_is_served_deprecated(session: Session, vendor: Organisation) -> None:
    pulled = offer_record_of_footprint(copy.deepcopy(STEEL_COIL)).record
    offer = _offer_of_record(session, vendor, {**pulled, "status": "archived"})
    footprint = footprint_of_offer(offer, issuer=ISSUER)
    assert footprint == {**STEEL_COIL, "status": "Deprecated"}
