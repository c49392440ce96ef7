"""Request and response bodies for organisations and keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as NumberInvalid

from matchmaker.auth import Role
from matchmaker.documents.schemas import DocumentRead
from matchmaker.exchange import InvalidValue, Region, RegionName
from matchmaker.schema_types import RequestModel

OrganisationKind = Literal["buyer", "vendor", "both", "operator"]
# A new organisation is pending until the operator admits or rejects it; an admitted one may be suspended.
AdmissionStatus = Literal["pending", "admitted", "rejected", "suspended"]
OrganisationName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
AdmissionReason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


def _valid_credit_code(value: str) -> str:
    """A unified social credit code (GB 32100-2015) as its 18 characters, its check character verified;
    empty clears it, as it does the other registration fields."""
    if not value:
        return value
    try:
        return str(uscc.validate(value))
    except NumberInvalid as error:
        raise InvalidValue(
            f"{value!r} is not a valid unified social credit code: {error}",
            code="credit_code.invalid",
            credit_code=value,
        ) from None


CreditCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40),
    AfterValidator(_valid_credit_code),
]
ContactName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
ContactPhone = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=40, pattern=r"^$|^\+?[0-9][0-9 ()\-]{4,38}$")
]
ContactEmail = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
# What an organisation may change about itself; everything else about it is the operator's decision.
REGISTRATION_FIELDS = frozenset({"credit_code", "contact_name", "contact_phone", "contact_email"})


class Registration(RequestModel):
    """Who the organisation is in law and whom to call: entered at registration, corrected by either side."""

    model_config = ConfigDict(extra="forbid")

    credit_code: CreditCode | None = None
    contact_name: ContactName | None = None
    contact_phone: ContactPhone | None = None
    contact_email: ContactEmail | None = None


class OrganisationCreate(Registration):
    name: OrganisationName
    kind: OrganisationKind
    region: Region | None = None
    admission_status: AdmissionStatus = "pending"
    admission_reason: AdmissionReason | None = None


class OrganisationUpdate(Registration):
    """A change by the operator (anything) or by the organisation itself (its registration only)."""

    name: OrganisationName | None = None
    kind: OrganisationKind | None = None
    region: Region | None = None
    admission_status: AdmissionStatus | None = None
    admission_reason: AdmissionReason | None = None


class OrganisationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: OrganisationKind
    region: RegionName | None
    admission_status: AdmissionStatus
    admission_reason: str | None
    credit_code: str | None
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    licence: DocumentRead | None
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
