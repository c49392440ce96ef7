"""The exchange format (../shared/spec/exchange-format.md): validated records for offers and needs.

The same validators serve the bulk import and the HTTP API, so a value refused on one is refused on the
other with the same message.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from matchmaker import regions
from matchmaker.schema_types import Flag, FootprintNumber, NotText, RequestModel
from matchmaker.units import DECLARED_UNITS, UnitError, canonical_declared_unit, parse_unit

CATEGORIES: tuple[str, ...] = (
    "steel",
    "aluminium",
    "cement_concrete",
    "hydrogen",
    "ccus",
    "energy_storage",
    "solar_pv",
    "wind",
    "ev_logistics",
    "green_fuels",
    "biobased_chemicals",
    "pesticide_formulation",
    "building_materials_insulation",
    "energy_management_software",
    "recycling",
    "industrial_electrification",
    "other",
)

OfferKind = Literal["product", "technology", "service"]
OFFER_KINDS: tuple[str, ...] = get_args(OfferKind)
Language = Literal["zh", "en"]
OfferStatus = Literal["draft", "published", "archived"]
OfferVisibility = Literal["public", "alliance"]
NeedStatus = Literal["open", "closed"]
NeedVisibility = Literal["private", "vendors"]
# Who verified a footprint: the vendor itself, a related party (a customer, its parent), an independent body.
VerificationParty = Literal["first", "second", "third"]
# Whether a footprint was measured over a past period or is expected of future production (Catena-X).
PcfBasis = Literal["retrospective", "prospective"]
# What a need does with offers whose verification expired.
ExpiredFootprints = Literal["rank_down", "exclude"]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def detect_language(*texts: str | None) -> Language:
    """Guess zh or en: any Chinese character makes the text Chinese (mixed listings are mostly Chinese)."""
    return "zh" if any(text and _CJK.search(text) for text in texts) else "en"


class InvalidValue(ValueError):
    """A value the validators refuse. `code` and `values` name the reason for the pages' translations (the
    message stays the English one); `values["field"]`, when set, is the field a whole-record check blames."""

    def __init__(self, message: str, *, code: str = "value_error", **values: str) -> None:
        super().__init__(message)
        self.code = code
        self.values = values


def _known_category(value: str) -> str:
    if value not in CATEGORIES:
        known = ", ".join(CATEGORIES)
        raise InvalidValue(
            f"unknown category {value!r}; use one of: {known}",
            code="category.unknown",
            category=value,
            known=known,
        )
    return value


def _known_unit(value: str) -> str:
    # An unknown unit raises UnknownUnitError: a ValueError with its own code and values, as pydantic wants.
    return str(parse_unit(value))


def _alliance_code(value: str) -> str:
    code = value.strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}", code):
        raise InvalidValue(
            f"invalid alliance code {value!r}: 1-32 letters, digits, '-', '_' or '.'",
            code="alliance.code_invalid",
            alliance=value,
        )
    return code


Category = Annotated[str, AfterValidator(_known_category)]
FootprintUnitText = Annotated[str, AfterValidator(_known_unit)]
AllianceCode = Annotated[str, AfterValidator(_alliance_code)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _known_declared_unit(value: str) -> str:
    try:
        return canonical_declared_unit(value)
    except UnitError as error:
        raise InvalidValue(str(error), code="unit.unknown_declared", unit=value) from None


# A declared unit a quantity is counted in (t, kg, MWh, kWp, m2, unit ...), in its canonical spelling.
DeclaredUnitText = Annotated[str, StringConstraints(max_length=32), AfterValidator(_known_declared_unit)]
Quantity = Annotated[float, NotText, Field(allow_inf_nan=False, gt=0, le=1e12)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
# The footprint's data quality, as an offer states it (`Offer`'s columns of the same names).
DATA_QUALITY_FIELDS = (
    "primary_data_share",
    "dqr_technological",
    "dqr_temporal",
    "dqr_geographical",
    "pcf_basis",
)
# A share of primary data, in percent; a data quality rating as PACT's DQR, from 1 (good) to 3 (fair).
PrimaryShare = Annotated[float, NotText, Field(allow_inf_nan=False, ge=0, le=100)]
QualityRating = Annotated[float, NotText, Field(allow_inf_nan=False, ge=1, le=3)]
# A day a verification was made or holds until: within reason (a calendar's last day cannot end).
VERIFICATION_DAYS = (date(1990, 1, 1), date(2199, 12, 31))
VerificationDay = Annotated[date, Field(ge=VERIFICATION_DAYS[0], le=VERIFICATION_DAYS[1])]


def _known_region(value: str) -> str:
    try:
        return regions.region_code(value)
    except regions.UnknownRegion as error:
        closest = ", ".join(f"{region.english} ({region.chinese})" for region in error.suggestions)
        code = "region.unknown" if closest else "region.unknown_far"
        raise InvalidValue(str(error), code=code, region=value, suggestions=closest) from None


# A region named in either language, by any of its names or its code; stored as its code (`regions`).
Region = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_known_region)
]
# A stored region as the API and the exchange format write it: its English name.
RegionName = Annotated[str, BeforeValidator(regions.english_name)]


def check_footprint_pair(value: float | None, unit: str | None, *, value_field: str, unit_field: str) -> None:
    """A footprint needs both a value and a unit, or neither."""
    if (value is None) != (unit is None):
        raise InvalidValue(
            f"{value_field} and {unit_field} must both be set or both be null",
            code="footprint.incomplete",
            value_field=value_field,
            unit_field=unit_field,
            field=unit_field if unit is None else value_field,
        )


def declared_unit_of(pcf_unit: str) -> str:
    return parse_unit(pcf_unit).declared_unit


class OfferFields(RequestModel):
    """The offer fields shared by the import record and the API's create schema."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    title: Title
    description: Annotated[str, Field(max_length=20_000)] = ""
    language: Language | None = None
    kind: OfferKind
    category: Category
    region: Region | None = None
    pcf_value: FootprintNumber | None = None
    pcf_unit: FootprintUnitText | None = None
    declared_unit: Annotated[str, StringConstraints(max_length=32)] | None = None
    pcf_verified: Flag = False
    # The last day the verification holds (in Shanghai); counted only from the operator (`verification`).
    pcf_valid_until: VerificationDay | None = None
    # Who verified it; counted only from the operator, with the verification (`verification.third_party`).
    verification_party: VerificationParty | None = None
    standard: Annotated[str, StringConstraints(max_length=100)] | None = None
    certifications: list[Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=list, max_length=50
    )
    primary_data_share: PrimaryShare | None = None
    dqr_technological: QualityRating | None = None
    dqr_temporal: QualityRating | None = None
    dqr_geographical: QualityRating | None = None
    pcf_basis: PcfBasis | None = None

    @field_validator("description", mode="before")
    @classmethod
    def _empty_description(cls, value: Any) -> Any:
        # An empty CSV cell arrives as None; an offer without a description is fine.
        return "" if value is None else value

    @model_validator(mode="after")
    def _consistent_footprint(self) -> OfferFields:
        check_footprint_pair(self.pcf_value, self.pcf_unit, value_field="pcf_value", unit_field="pcf_unit")
        if self.pcf_unit is not None:
            expected = declared_unit_of(self.pcf_unit)
            if self.declared_unit in (None, ""):
                self.declared_unit = expected
            elif self.declared_unit != expected:
                raise InvalidValue(
                    f"declared_unit {self.declared_unit!r} does not match pcf_unit {self.pcf_unit!r}"
                    f" (expected {expected!r})",
                    code="footprint.declared_unit_mismatch",
                    declared_unit=self.declared_unit,
                    pcf_unit=self.pcf_unit,
                    expected=expected,
                    field="declared_unit",
                )
        if self.language is None:
            self.language = detect_language(self.title, self.description)
        return self


class OfferRecord(OfferFields):
    """One offer line of an import file."""

    id: ShortText
    supplier: ShortText
    alliance: list[AllianceCode] = Field(default_factory=list, max_length=20)
    status: OfferStatus = "published"
    visibility: OfferVisibility = "public"
    visibility_alliance: AllianceCode | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _alliance_visibility(self) -> OfferRecord:
        if self.visibility == "alliance" and not self.visibility_alliance:
            raise InvalidValue(
                "visibility 'alliance' needs visibility_alliance (an alliance code)",
                code="offer.visibility_alliance_missing",
                field="visibility_alliance",
            )
        if self.visibility == "public":
            self.visibility_alliance = None
        return self


class NeedFields(RequestModel):
    """The need fields shared by the import record and the API's create schema."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5_000)]
    language: Language | None = None
    category: Category | None = None
    max_pcf: FootprintNumber | None = None
    max_pcf_unit: FootprintUnitText | None = None
    require_verified: Flag = False
    require_third_party: Flag = False
    min_primary_share: PrimaryShare | None = None
    expired_footprints: ExpiredFootprints = "rank_down"
    alliance_only: AllianceCode | None = None
    region_preference: Region | None = None
    # A year's quantity, and the footprint of what is bought today: each match's abatement from them.
    quantity: Quantity | None = None
    quantity_unit: DeclaredUnitText | None = None
    baseline_pcf: FootprintNumber | None = None
    baseline_pcf_unit: FootprintUnitText | None = None
    delivery_from: date | None = None
    delivery_until: date | None = None
    # The last day offers are wanted: after it the need closes itself and the suppliers told of it hear so.
    respond_by: date | None = None

    @field_validator("expired_footprints", mode="before")
    @classmethod
    def _ranked_down_unless_said(cls, value: Any) -> Any:
        return "rank_down" if value is None else value  # an empty CSV cell arrives as None

    @model_validator(mode="after")
    def _consistent_ceiling(self) -> NeedFields:
        check_footprint_pair(
            self.max_pcf, self.max_pcf_unit, value_field="max_pcf", unit_field="max_pcf_unit"
        )
        check_footprint_pair(
            self.baseline_pcf,
            self.baseline_pcf_unit,
            value_field="baseline_pcf",
            unit_field="baseline_pcf_unit",
        )
        if (self.quantity is None) != (self.quantity_unit is None):
            raise InvalidValue(
                "quantity and quantity_unit must both be set or both be null",
                code="quantity.incomplete",
                field="quantity_unit" if self.quantity_unit is None else "quantity",
            )
        if self.quantity_unit and self.baseline_pcf_unit:
            family, baseline = (
                DECLARED_UNITS[self.quantity_unit][0],
                parse_unit(self.baseline_pcf_unit).family,
            )
            if family != baseline:
                raise InvalidValue(
                    f"quantity_unit {self.quantity_unit} ({family.value}) does not multiply a footprint "
                    f"per {parse_unit(self.baseline_pcf_unit).declared_unit} ({baseline.value})",
                    code="quantity.unit_family",
                    field="quantity_unit",
                )
        if self.delivery_from and self.delivery_until and self.delivery_until < self.delivery_from:
            raise InvalidValue(
                "delivery_until is before delivery_from", code="delivery.order", field="delivery_until"
            )
        if self.language is None:
            self.language = detect_language(self.text)
        return self


class NeedRecord(NeedFields):
    """One need line of an import file."""

    id: ShortText
    buyer: ShortText
    status: NeedStatus = "open"
    visibility: NeedVisibility = "vendors"
