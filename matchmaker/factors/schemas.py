"""A factor as a library file states it, and as the API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from matchmaker.schema_types import RequestModel

FactorKind = Literal["gwp", "fuel_combustion", "fuel_ncv", "electricity", "transport"]
# What a factor is per: kg CO2e per kg of a gas (GWP100); kg of a gas per TJ of fuel burnt (net calorific
# basis); TJ per Gg of fuel (its net calorific value); kg CO2 or CO2e per kWh of electricity; kg CO2e per
# tonne-kilometre of freight.
FactorUnit = Literal["kgCO2e/kg", "kg/TJ", "TJ/Gg", "kgCO2/kWh", "kgCO2e/kWh", "kgCO2e/tkm"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class FactorRecord(RequestModel):
    """One line of a library file: every factor says where it was published and under which terms."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.:-]*$", max_length=120)]
    kind: FactorKind
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    value: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    unit: FactorUnit
    region: Annotated[str, StringConstraints(max_length=100)] | None = None
    year: Annotated[int, Field(ge=1990, le=2100)] | None = None
    source: Text
    source_table: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    licence: Text


class FactorRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    library_version: str
    kind: str
    name: str
    value: float
    unit: str
    region: str | None
    year: int | None
    source: str = Field(description="the document that publishes it")
    source_table: str = Field(description="where in that document")
    licence: str = Field(description="the terms it is published under")


class LibraryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: str
    sha256: str
    factor_count: int
    loaded_at: datetime
