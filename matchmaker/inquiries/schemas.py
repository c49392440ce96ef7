"""Request and response bodies for inquiries and their threads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from matchmaker.exchange import FootprintUnitText
from matchmaker.inquiries.workflow import Outcome, Side, Status, StepKind
from matchmaker.schema_types import BodyId, FootprintNumber, NotText, RequestModel

MessageText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5_000)]
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5_000)]
UnitText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Amount = Annotated[float, NotText, Field(allow_inf_nan=False, gt=0, le=1e12)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
LeadTimeDays = Annotated[int, NotText, Field(ge=0, le=3650)]


class _Strict(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class InquiryCreate(_Strict):
    """A buyer's inquiry about an offer, for one of its needs or none."""

    offer_id: BodyId
    need_id: BodyId | None = None
    message: MessageText
    quantity: Amount | None = None
    quantity_unit: UnitText | None = Field(default=None, description="t, MWh, units ... (with quantity)")
    delivery_from: date | None = None
    delivery_until: date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.quantity is None) != (self.quantity_unit is None):
            raise ValueError("give quantity and quantity_unit together")
        if self.delivery_from and self.delivery_until and self.delivery_until < self.delivery_from:
            raise ValueError("delivery_until is before delivery_from")
        return self


class StepWrite(_Strict):
    """A step in the thread (`inquiries.workflow`). `message` (either side) and `question` (the vendor asks
    back) need a body; `quote` (the vendor) a price and currency, and may carry the lead time and the
    footprint that applies; `decline` (the vendor) its reason in the body; `close` (the buyer) an outcome."""

    kind: StepKind
    body: OptionalText = ""
    price: Amount | None = None
    currency: Currency | None = Field(default=None, description="ISO 4217, e.g. CNY, EUR, USD")
    price_unit: UnitText | None = Field(default=None, description="what the price is per: t, MWh, unit ...")
    lead_time_days: LeadTimeDays | None = None
    pcf_value: FootprintNumber | None = Field(default=None, description="the footprint a quote carries")
    pcf_unit: FootprintUnitText | None = None
    outcome: Outcome | None = Field(default=None, description="with close: won or lost")

    @model_validator(mode="after")
    def _fields_of_the_kind(self) -> Self:
        quote_fields = (self.price, self.currency, self.price_unit, self.lead_time_days, self.pcf_value)
        if self.kind == "quote":
            if self.price is None or self.currency is None:
                raise ValueError("a quote needs a price and a currency")
            if (self.pcf_value is None) != (self.pcf_unit is None):
                raise ValueError("give pcf_value and pcf_unit together")
        elif any(value is not None for value in quote_fields) or self.pcf_unit is not None:
            raise ValueError(f"price, lead time and footprint belong to a quote, not a {self.kind}")
        if self.kind in ("message", "question", "decline") and not self.body:
            raise ValueError(
                f"a {self.kind} needs a body" + (" (the reason)" if self.kind == "decline" else "")
            )
        if (self.kind == "close") != (self.outcome is not None):
            raise ValueError("close takes an outcome (won or lost), and only close does")
        return self


class PartyRead(BaseModel):
    id: int
    name: str


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: Literal["inquiry"] | StepKind
    author: PartyRead
    body: str
    price: float | None
    currency: str | None
    price_unit: str | None
    lead_time_days: int | None
    pcf_value: float | None
    pcf_unit: str | None
    created_at: datetime


class InquirySummary(BaseModel):
    id: int
    status: Status
    outcome: Outcome | None
    buyer: PartyRead
    vendor: PartyRead
    offer_id: int | None = Field(description="null once the offer is deleted; offer_title stays")
    offer_title: str
    need_id: int | None
    quantity: float | None
    quantity_unit: str | None
    delivery_from: date | None
    delivery_until: date | None
    created_at: datetime
    updated_at: datetime
    your_side: Side | None = Field(description="the caller's side; null for the operator")
    next_steps: list[StepKind] = Field(description="the steps the caller may take now")


class InquiryRead(InquirySummary):
    messages: list[MessageRead]
