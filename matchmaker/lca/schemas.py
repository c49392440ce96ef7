"""What an LCA import reports: each data set of the file, imported or not and why."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Outcome = Literal["created", "updated", "unchanged", "failed"]


class DataSetOutcome(BaseModel):
    path: str = Field(description="where the data set is in the file (a zip entry, or the file itself)")
    outcome: Outcome
    name: str | None = None
    dataset_uuid: str | None = None
    offer_id: int | None = None
    pcf_value: float | None = None
    pcf_unit: str | None = None
    message: str | None = Field(default=None, description="why it was not imported")


class LcaImportReport(BaseModel):
    file: str
    format: str | None = Field(description="openlca-jsonld-v1, openlca-jsonld-v2, ilcd or ilcd+epd")
    data_sets: list[DataSetOutcome]
    warnings: list[str] = Field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(item.outcome == outcome for item in self.data_sets)
