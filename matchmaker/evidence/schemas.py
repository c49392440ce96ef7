"""Verification evidence as the API takes and shows it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from matchmaker.documents.schemas import DocumentRead
from matchmaker.exchange import InvalidValue, VerificationDay, VerificationParty
from matchmaker.schema_types import RequestModel

EvidenceStatus = Literal["submitted", "accepted", "rejected"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class EvidenceCreate(RequestModel):
    """Who verified the offer's footprint, under which report, when, and until when."""

    model_config = ConfigDict(extra="forbid")

    verifier: Name
    accreditation: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    report_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    standard: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    # Who the verifier is to the vendor: an independent body unless said otherwise.
    party: VerificationParty = "third"
    verified_on: VerificationDay
    valid_until: VerificationDay

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        if self.valid_until < self.verified_on:
            raise InvalidValue(
                "valid_until is before verified_on",
                code="evidence.dates_reversed",
                field="valid_until",
            )
        return self


class EvidenceReview(RequestModel):
    """The operator's decision; a rejection says why (the vendor reads it)."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["accepted", "rejected"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class EvidenceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    offer_id: int
    verifier: str
    accreditation: str | None
    report_number: str
    standard: str | None
    party: str
    verified_on: date
    valid_until: date
    pcf_value: float | None
    pcf_unit: str | None
    status: EvidenceStatus
    review_reason: str | None
    document: DocumentRead | None
    submitted_at: datetime
    reviewed_at: datetime | None
