"""Request and response bodies for organisations and keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from matchmaker.auth import Role
from matchmaker.exchange import Region, RegionName
from matchmaker.schema_types import RequestModel

OrganisationKind = Literal["buyer", "vendor", "both", "operator"]
AdmissionStatus = Literal["pending", "admitted", "suspended"]
OrganisationName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class OrganisationCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    name: OrganisationName
    kind: OrganisationKind
    region: Region | None = None
    admission_status: AdmissionStatus = "pending"


class OrganisationUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    name: OrganisationName | None = None
    kind: OrganisationKind | None = None
    region: Region | None = None
    admission_status: AdmissionStatus | None = None


class OrganisationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: OrganisationKind
    region: RegionName | None
    admission_status: AdmissionStatus
    created_at: datetime
    updated_at: datetime


class KeyCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    label: Annotated[str, StringConstraints(max_length=200)] | None = None


class KeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organisation_id: int
    role: Role
    prefix: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyRead):
    """A new key; `key` is shown this once and cannot be recovered."""

    key: str
