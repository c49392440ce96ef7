"""A bill of materials and activities, as a vendor writes it (a JSON file, the API's body, the page's form):
what one batch of the product takes, line by line. Units are checked here, as they are typed: each kind of
line takes the units of its quantity and no other (electricity in Wh..GWh, a fuel in a mass or an energy,
transport in tonne-kilometres). What only the database knows (an offer's footprint, a factor's existence)
is checked by the calculator.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from matchmaker.exchange import InvalidValue, Quantity
from matchmaker.schema_types import BodyId, NotText, RequestModel
from matchmaker.units import DECLARED_UNITS, UnitError, UnitFamily, canonical_declared_unit

# Units a line's quantity may be counted in beyond the declared units of footprints (units.DECLARED_UNITS):
# fuel inventories count in TJ and Gg (the IPCC factors' own units), grids in GWh.
EXTRA_UNITS: dict[str, tuple[UnitFamily, Decimal]] = {
    "Gg": (UnitFamily.MASS, Decimal(1_000_000)),
    "GWh": (UnitFamily.ELECTRIC_ENERGY, Decimal(1_000_000)),
    "TJ": (UnitFamily.FUEL_ENERGY, Decimal(1_000_000)),
}
# What each kind of line may be counted in (None: any unit; an offer's own footprint says which family).
LINE_FAMILIES: dict[str, frozenset[UnitFamily] | None] = {
    "offer": None,
    "factor": None,
    "electricity": frozenset({UnitFamily.ELECTRIC_ENERGY}),
    "fuel": frozenset({UnitFamily.MASS, UnitFamily.FUEL_ENERGY}),
    "process": frozenset({UnitFamily.MASS}),
    "transport": frozenset({UnitFamily.TRANSPORT_WORK}),
}
# The life-cycle stage a line is counted in unless it names one.
DEFAULT_STAGE = {
    "offer": "materials",
    "factor": "materials",
    "electricity": "energy",
    "fuel": "energy",
    "process": "process",
    "transport": "transport",
}

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Key = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_.:-]*$", max_length=120)
]
Stage = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Price = Annotated[float, NotText, Field(allow_inf_nan=False, gt=0, le=1e12)]


def unit_size(unit: str) -> tuple[UnitFamily, Decimal]:
    """The family of a quantity's unit and its size in the family's base unit (kg, kWh, MJ, tkm ...)."""
    if unit in EXTRA_UNITS:
        return EXTRA_UNITS[unit]
    return DECLARED_UNITS[unit]


def units_for(kind: str) -> list[str]:
    """The units a kind of line may be counted in (every one, for a kind whose offer or factor decides)."""
    families = LINE_FAMILIES[kind]
    every = [*DECLARED_UNITS, *EXTRA_UNITS]
    return [unit for unit in every if families is None or unit_size(unit)[0] in families]


def _quantity_unit(text: str) -> str:
    stripped = text.strip()
    if stripped in EXTRA_UNITS:
        return stripped
    try:
        return canonical_declared_unit(stripped)
    except UnitError as error:
        raise InvalidValue(str(error), code="unit.unknown_declared", unit=text) from None


QuantityUnit = Annotated[str, StringConstraints(max_length=32), AfterValidator(_quantity_unit)]


class _Line(BaseModel):
    """A line's text is checked by the bill that holds it (RequestModel's check of every field, nested)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: str
    name: Name | None = None
    stage: Stage | None = None
    amount: Quantity
    unit: QuantityUnit

    @model_validator(mode="after")
    def _unit_of_its_kind(self) -> _Line:
        wanted_units = units_for(self.kind)
        if self.unit not in wanted_units:
            wanted = ", ".join(wanted_units)
            raise InvalidValue(
                f"a {self.kind} line is counted in {wanted}, not {self.unit}",
                code="pcf.line_unit",
                unit=self.unit,
                wanted=wanted,
            )
        return self

    @property
    def counted_stage(self) -> str:
        return self.stage or DEFAULT_STAGE[self.kind]


class OfferLine(_Line):
    """An input bought from a supplier on the platform: its offer's footprint, converted to this unit."""

    kind: Literal["offer"]
    offer: BodyId


class FactorLine(_Line):
    """An input counted with a factor of the library (key), or one without a factor yet (no key): a gap."""

    kind: Literal["factor"]
    factor: Key | None = None


class ElectricityLine(_Line):
    """Electricity bought from a grid, counted with the grid's factor for the year
    (`electricity.<grid>.<year>`)."""

    kind: Literal["electricity"]
    grid: Key = Field(description="cn, cn.east, cn.footprint, gb, us ...")
    year: Annotated[int, NotText, Field(ge=1990, le=2100)]


class FuelLine(_Line):
    """A fuel burnt on site: IPCC stationary-combustion defaults for CO2, CH4 and N2O, by its energy (a mass
    is turned into energy with the fuel's net calorific value)."""

    kind: Literal["fuel"]
    fuel: Key = Field(description="natural_gas, gas_diesel_oil, other_bituminous_coal ...")


class ProcessLine(_Line):
    """A greenhouse gas released by the process itself (measured on site), weighted by its GWP100."""

    kind: Literal["process"]
    gas: Key = Field(description="co2, ch4_fossil, ch4_non_fossil, n2o")


class TransportLine(_Line):
    """Freight to the site in tonne-kilometres, by mode (`transport.<mode>`)."""

    kind: Literal["transport"]
    mode: Key = Field(description="road.hgv_average_laden, rail.freight_train, sea.container_ship ...")


Line = Annotated[
    OfferLine | FactorLine | ElectricityLine | FuelLine | ProcessLine | TransportLine,
    Field(discriminator="kind"),
]


class Amount(RequestModel):
    model_config = ConfigDict(extra="forbid")

    amount: Quantity
    unit: QuantityUnit


class CoProduct(Amount):
    """Another product the same batch yields; it takes its share of the emissions."""

    name: Name
    price: Price | None = Field(
        default=None, description="per one of its unit; needed for economic allocation"
    )


class BillOfMaterials(RequestModel):
    """What one batch of the product (`output`) takes; the footprint is given per one `declared_unit`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    declared_unit: QuantityUnit
    output: Amount
    output_price: Price | None = Field(default=None, description="per one of the output's unit")
    lines: list[Line] = Field(min_length=1, max_length=500)
    co_products: list[CoProduct] = Field(default_factory=list, max_length=50)
    allocation: Literal["mass", "economic"] | None = None
    library: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        default=None, description="a factor library version; the latest loaded by default"
    )
    gwp: Literal["ar6", "ar5"] = "ar6"
    region: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="where the product is made (ISO code), for the geographical rating"
    )
    year: Annotated[int, NotText, Field(ge=1990, le=2100)] | None = Field(
        default=None, description="the year the data are for, for the temporal rating"
    )

    @model_validator(mode="after")
    def _consistent(self) -> BillOfMaterials:
        if unit_size(self.declared_unit)[0] != unit_size(self.output.unit)[0]:
            raise InvalidValue(
                f"the declared unit {self.declared_unit} and the output's unit {self.output.unit} "
                "measure different things",
                code="pcf.declared_unit_family",
                unit=self.declared_unit,
            )
        if self.co_products and self.allocation is None:
            raise InvalidValue(
                "co-products need an allocation basis: mass or economic", code="pcf.allocation_missing"
            )
        if self.allocation == "mass":
            for product in (self.output, *self.co_products):
                if unit_size(product.unit)[0] != UnitFamily.MASS:
                    raise InvalidValue(
                        f"mass allocation needs every product in a mass unit, not {product.unit}",
                        code="pcf.allocation_unit",
                        unit=product.unit,
                    )
        if self.allocation == "economic" and (
            self.output_price is None or any(product.price is None for product in self.co_products)
        ):
            raise InvalidValue(
                "economic allocation needs the output's price and every co-product's",
                code="pcf.allocation_price",
            )
        return self
