"""Request and response bodies for alliances and memberships."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from matchmaker.exchange import AllianceCode
from matchmaker.schema_types import BodyId, RequestModel

MembershipStatus = Literal["active", "revoked"]
AllianceName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class AllianceCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    code: AllianceCode
    name: AllianceName
    admin_organisation_id: BodyId | None = None


class AllianceUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    name: AllianceName | None = None
    admin_organisation_id: BodyId | None = None


class AllianceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    admin_organisation_id: int | None
    created_at: datetime


class MembershipCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    organisation_id: BodyId


class MembershipUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    status: MembershipStatus


class MembershipRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    alliance_code: str
    organisation_id: int
    organisation_name: str
    status: MembershipStatus
    since: datetime
    updated_at: datetime
