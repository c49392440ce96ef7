"""What a calculation answers: the footprint per declared unit and how it was reached."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from matchmaker.pcf.calculator import Calculation, Factor, LineResult


class LineRead(BaseModel):
    line: int = Field(description="its place in the bill, from 1")
    kind: str
    name: str
    stage: str
    emissions: float | None = Field(description="kg CO2e for the whole batch, before allocation")
    per_declared_unit: float | None = Field(
        description="its part of the footprint, kg CO2e per declared unit"
    )
    share: float | None = Field(description="its part of the total, 0..1")
    primary: bool = Field(
        description="primary data: a verified supplier's footprint, or gases measured on site"
    )
    factors: list[str] = Field(description="the library factors it was counted with")
    gap: str | None = Field(description="why it could not be counted: the result is incomplete")


class QualityRead(BaseModel):
    technological: float
    temporal: float
    geographical: float
    overall: float = Field(description="the mean of the three (PACT's DQR, 1 good .. 3 poor)")


class CalculationRead(BaseModel):
    library_version: str
    unit: str = Field(description="kgCO2e per declared unit")
    total: float | None = Field(description="the footprint per declared unit; null while a line is a gap")
    complete: bool
    covered: float = Field(description="what the counted lines add up to (the total when complete)")
    allocation_share: float = Field(description="the product's share of the batch's emissions")
    lines: list[LineRead]
    by_stage: dict[str, float]
    hotspots: list[int] = Field(description="the lines that make most of the footprint, largest first")
    primary_data_share: float | None = Field(description="percent of the footprint from primary data")
    dqr: QualityRead | None
    factors: list[Factor] = Field(description="the factors cited, each with its document, table and licence")
    gaps: list[LineRead] = Field(description="the lines without a factor")
    notes: list[str]

    @classmethod
    def of(cls, calculation: Calculation, *, library_version: str) -> CalculationRead:
        lines = [_line(line) for line in calculation.lines]
        dqr = calculation.dqr
        return cls(
            library_version=library_version,
            unit=calculation.unit,
            total=_float(calculation.total),
            complete=calculation.complete,
            covered=float(calculation.covered),
            allocation_share=float(calculation.allocation_share),
            lines=lines,
            by_stage={stage: float(value) for stage, value in calculation.by_stage.items()},
            hotspots=[line.line for line in calculation.hotspots],
            primary_data_share=_float(calculation.primary_share),
            dqr=None
            if dqr is None
            else QualityRead(
                technological=float(dqr[0]),
                temporal=float(dqr[1]),
                geographical=float(dqr[2]),
                overall=float(sum(dqr) / 3),
            ),
            factors=calculation.factors,
            gaps=[line for line in lines if line.gap is not None],
            notes=calculation.notes,
        )


class SavedCalculationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    offer_id: int
    library_version: str
    reason: str = Field(description="bom (a vendor's bill) or recalculation (a newer library)")
    total: float | None
    unit: str
    created_at: datetime
    result: CalculationRead
    bom: dict[str, object]


class Recalculation(BaseModel):
    offer_id: int
    title: str
    unit: str
    old_total: float | None
    old_library_version: str
    new_total: float | None = Field(
        description="null: it cannot be calculated again (a factor the newer library lacks, an input offer "
        "gone or hidden); `gaps` says why"
    )
    gaps: list[str]


class RecalculationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(max_length=32, description="the library version to calculate with")


def _line(line: LineResult) -> LineRead:
    return LineRead(
        line=line.line,
        kind=line.kind,
        name=line.name,
        stage=line.stage,
        emissions=_float(line.emissions),
        per_declared_unit=_float(line.per_declared_unit),
        share=_float(line.share),
        primary=line.primary,
        factors=line.factors,
        gap=line.gap,
    )


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
