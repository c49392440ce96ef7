"""The PACT v3 ProductFootprint as pydantic models: what this service emits as a PACT host must validate here.

The models follow the v3 OpenAPI schema (the conformance tool validates against it, not the prose) plus the
rules the spec states beside it (validity window, single geography, packaging). Everything is kept as the
JSON strings it arrives as, so that validating and dumping a footprint gives back the same JSON.

They are deliberately strict (`extra="forbid"`, no `null`, no JSON numbers for decimals): a removed v2 field
such as `version` fails. A *client* must be lenient with what other hosts send; `mapping.py` reads pulled
footprints as plain dicts and never through these models.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

# Patterns spell digits as [0-9]: `\d` would also accept other scripts' digits.
_DECIMAL = r"^[+-]?[0-9]+(\.[0-9]+)?$"
_POSITIVE_OR_ZERO = r"^[+]?[0-9]+(\.[0-9]+)?$"
_NEGATIVE_OR_ZERO = r"^(-[0-9]+(\.[0-9]+)?|0+(\.0+)?)$"
_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_URN = r"^[uU][rR][nN]:"
_URI = r"^[A-Za-z][A-Za-z0-9+.-]*:\S*$"
# RFC 3339 requires the offset (Z or +hh:mm); the date itself is checked by parsing.
_DATE_TIME = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_SPEC_VERSION = r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9]{8})?$"


def parse_datetime(text: str) -> datetime:
    """Parse an RFC 3339 timestamp with an offset (Z, z, +hh:mm), or raise ValueError."""
    value = datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset")
    return value


def add_years(moment: datetime, years: int) -> datetime:
    """The same calendar moment `years` later; 29 February falls back to the 28th (never past the spec's
    'reference period end + 3 years', whichever way a reader rounds it)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def _real_datetime(text: str) -> str:
    parse_datetime(text)
    return text


def _positive(text: str) -> str:
    if Decimal(text) <= 0:
        raise ValueError("must be greater than 0")
    return text


def _quality_rating(text: str) -> str:
    if not Decimal(1) <= Decimal(text) <= Decimal(5):
        raise ValueError("a data quality rating lies between 1 and 5")
    return text


def _unique(items: list[str]) -> list[str]:
    if len(set(items)) != len(items):
        raise ValueError("items must be unique")
    return items


DecimalString = Annotated[str, StringConstraints(pattern=_DECIMAL)]
PositiveOrZeroDecimal = Annotated[str, StringConstraints(pattern=_POSITIVE_OR_ZERO)]
PositiveNonZeroDecimal = Annotated[
    str, StringConstraints(pattern=_POSITIVE_OR_ZERO), AfterValidator(_positive)
]
NegativeOrZeroDecimal = Annotated[str, StringConstraints(pattern=_NEGATIVE_OR_ZERO)]
QualityRating = Annotated[str, StringConstraints(pattern=_DECIMAL), AfterValidator(_quality_rating)]
Uuid = Annotated[str, StringConstraints(pattern=_UUID)]
Urn = Annotated[str, StringConstraints(pattern=_URN)]
Uri = Annotated[str, StringConstraints(pattern=_URI)]
DateTime = Annotated[str, StringConstraints(pattern=_DATE_TIME), AfterValidator(_real_datetime)]
NonEmptyString = Annotated[str, StringConstraints(min_length=1)]
UniqueUrns = Annotated[list[Urn], Field(min_length=1), AfterValidator(_unique)]

DeclaredUnitOfMeasurement = Literal[
    "liter",
    "kilogram",
    "cubic meter",
    "kilowatt hour",
    "megajoule",
    "ton kilometer",
    "square meter",
    "piece",
    "hour",
    "megabit second",
]
FootprintStatus = Literal["Active", "Deprecated"]
CrossSectoralStandard = Literal[
    "ISO14067", "ISO14083", "ISO14040-44", "GHGP-Product", "PEF", "PACT-1.0", "PACT-2.0", "PACT-3.0"
]
RegionOrSubregion = Literal[
    "Africa",
    "Americas",
    "Asia",
    "Europe",
    "Oceania",
    "Australia and New Zealand",
    "Central Asia",
    "Eastern Asia",
    "Eastern Europe",
    "Latin America and the Caribbean",
    "Melanesia",
    "Micronesia",
    "Northern Africa",
    "Northern America",
    "Northern Europe",
    "Polynesia",
    "South-eastern Asia",
    "Southern Asia",
    "Southern Europe",
    "Sub-Saharan Africa",
    "Western Asia",
    "Western Europe",
]
VerificationCoverage = Literal["PCF calculation model", "PCF program", "product level"]


class _PactObject(BaseModel):
    """Strict JSON: no unknown keys, no type coercion, and `null` refused (the schema types reject it)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = [key for key, value in data.items() if value is None]
            if nulls:
                raise ValueError(f"{', '.join(map(str, nulls))}: null is not allowed, omit the field instead")
        return data


class DataQualityIndicators(_PactObject):
    technologicalDQR: QualityRating
    geographicalDQR: QualityRating
    temporalDQR: QualityRating


class Verification(_PactObject):
    """Its presence means the footprint is verified (v2 had `assurance.assurance`)."""

    coverage: VerificationCoverage | None = None
    providerName: str | None = None
    completedAt: DateTime | None = None
    standardName: str | None = None
    comments: str | None = None


class ProductOrSectorSpecificRule(_PactObject):
    operator: Literal["PEF", "EPD International", "Other"]
    ruleNames: Annotated[list[NonEmptyString], Field(min_length=1), AfterValidator(_unique)]
    otherOperatorName: NonEmptyString | None = None


class EmissionFactorSource(_PactObject):
    name: NonEmptyString
    version: NonEmptyString


class DataModelExtension(_PactObject):
    specVersion: Annotated[str, StringConstraints(pattern=_SPEC_VERSION)]
    dataSchema: Uri
    data: dict[str, Any]
    documentation: Uri | None = None


class CarbonFootprint(_PactObject):
    """The `pcf` object; values are kgCO2e (or kgC, kg) per declared unit amount."""

    declaredUnitOfMeasurement: DeclaredUnitOfMeasurement
    declaredUnitAmount: PositiveNonZeroDecimal
    productMassPerDeclaredUnit: DecimalString
    referencePeriodStart: DateTime
    referencePeriodEnd: DateTime
    geographyRegionOrSubregion: RegionOrSubregion | None = None
    geographyCountry: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    geographyCountrySubdivision: (
        Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$")] | None
    ) = None
    boundaryProcessesDescription: str | None = None
    pcfExcludingBiogenicUptake: DecimalString
    pcfIncludingBiogenicUptake: DecimalString
    fossilGhgEmissions: PositiveOrZeroDecimal
    fossilCarbonContent: PositiveOrZeroDecimal
    biogenicCarbonContent: PositiveOrZeroDecimal | None = None
    recycledCarbonContent: PositiveOrZeroDecimal | None = None
    packagingBiogenicCarbonContent: PositiveOrZeroDecimal | None = None
    ccuCarbonContent: PositiveOrZeroDecimal | None = None
    landUseChangeGhgEmissions: PositiveOrZeroDecimal | None = None
    landCarbonLeakage: PositiveOrZeroDecimal | None = None
    landManagementFossilGhgEmissions: PositiveOrZeroDecimal | None = None
    landManagementBiogenicCO2Emissions: PositiveOrZeroDecimal | None = None
    biogenicNonCO2Emissions: PositiveOrZeroDecimal | None = None
    landAreaOccupation: PositiveOrZeroDecimal | None = None
    aircraftGhgEmissions: PositiveOrZeroDecimal | None = None
    packagingGhgEmissions: PositiveOrZeroDecimal | None = None
    outboundLogisticsGhgEmissions: PositiveOrZeroDecimal | None = None
    landManagementBiogenicCO2Removals: NegativeOrZeroDecimal | None = None
    biogenicCO2Uptake: NegativeOrZeroDecimal | None = None
    ccsTechnologicalCO2Capture: NegativeOrZeroDecimal | None = None
    technologicalCO2Removals: NegativeOrZeroDecimal | None = None
    packagingEmissionsIncluded: bool | None = None
    ccsTechnologicalCO2CaptureIncluded: bool | None = None
    technologicalCO2CaptureOrigin: str | None = None
    ccuCalculationApproach: Literal["Cut-off", "Credit"] | None = None
    ccuCreditCertification: Uri | None = None
    ipccCharacterizationFactors: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^AR[0-9]+$")]],
        Field(min_length=1),
        AfterValidator(_unique),
    ]
    crossSectoralStandards: Annotated[
        list[CrossSectoralStandard], Field(min_length=1), AfterValidator(_unique)
    ]
    productOrSectorSpecificRules: Annotated[list[ProductOrSectorSpecificRule], Field(min_length=1)] | None = (
        None
    )
    exemptedEmissionsPercent: DecimalString
    exemptedEmissionsDescription: str | None = None
    allocationRulesDescription: str | None = None
    secondaryEmissionFactorSources: Annotated[list[EmissionFactorSource], Field(min_length=1)] | None = None
    primaryDataShare: DecimalString | None = None
    dqi: DataQualityIndicators | None = None
    verification: Verification | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CarbonFootprint:
        geographies = [
            name
            for name in ("geographyRegionOrSubregion", "geographyCountry", "geographyCountrySubdivision")
            if getattr(self, name) is not None
        ]
        if len(geographies) > 1:
            # The schema's oneOf: a reader could not tell which of two places the footprint is about.
            raise ValueError(f"at most one geography field may be set, got {', '.join(geographies)}")
        if self.packagingEmissionsIncluded is False and self.packagingGhgEmissions is not None:
            raise ValueError("packagingGhgEmissions must be absent when packagingEmissionsIncluded is false")
        if parse_datetime(self.referencePeriodEnd) <= parse_datetime(self.referencePeriodStart):
            raise ValueError("referencePeriodEnd must be after referencePeriodStart")
        return self


class ProductFootprintV3(_PactObject):
    """A PACT v3 ProductFootprint."""

    id: Uuid
    specVersion: Annotated[str, StringConstraints(pattern=_SPEC_VERSION)]
    precedingPfIds: Annotated[list[Uuid], Field(min_length=1), AfterValidator(_unique)] | None = None
    created: DateTime
    status: FootprintStatus
    validityPeriodStart: DateTime | None = None
    validityPeriodEnd: DateTime | None = None
    companyName: NonEmptyString
    companyIds: UniqueUrns
    productDescription: str
    productIds: UniqueUrns
    productClassifications: UniqueUrns | None = None
    productNameCompany: NonEmptyString
    comment: str | None = None
    pcf: CarbonFootprint
    extensions: Annotated[list[DataModelExtension], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _validity_window(self) -> ProductFootprintV3:
        reference_end = parse_datetime(self.pcf.referencePeriodEnd)
        start = reference_end
        if self.validityPeriodStart is not None:
            start = parse_datetime(self.validityPeriodStart)
            if start < reference_end:
                raise ValueError("validityPeriodStart must not be before pcf.referencePeriodEnd")
        if self.validityPeriodEnd is not None:
            end = parse_datetime(self.validityPeriodEnd)
            if end <= start:
                raise ValueError("validityPeriodEnd must be after the start of the validity period")
            if end > add_years(reference_end, 3):
                raise ValueError("validityPeriodEnd must be at most 3 years after pcf.referencePeriodEnd")
        return self


class ListResponse(_PactObject):
    """The body of ListFootprints: `{"data": [...]}`, an empty list when nothing matches."""

    data: list[ProductFootprintV3]


class SingleResponse(_PactObject):
    """The body of GetFootprint: `{"data": {...}}`."""

    data: ProductFootprintV3


def validate_footprint(data: dict[str, Any]) -> ProductFootprintV3:
    """Validate one v3 footprint as JSON data; raise pydantic.ValidationError naming each broken field."""
    return ProductFootprintV3.model_validate(data)
