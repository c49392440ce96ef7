"""Exactness of the constraints read from text, on labelled texts (`evaluation/constraints/texts.jsonl`).

Each line: `id`, `split` (dev: written beside the patterns; heldout: written before the patterns were run on
them), `language`, `text`, and `expected` in the need's own field names. A text counts only when every
field is exactly right.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matchmaker.regions import english_name
from matchmaker.written_constraints import WrittenConstraints, read_constraints

# The alliances the labelled texts are read against, as the platform passes its known codes.
KNOWN_ALLIANCES = ("CN100", "YRD-LCA")
FIELDS = ("max_pcf", "max_pcf_unit", "require_verified", "alliance_only", "region_preference")


def as_fields(constraints: WrittenConstraints) -> dict[str, Any]:
    """The constraints in the need's field names."""
    ceiling = constraints.ceiling
    return {
        "max_pcf": ceiling.value if ceiling else None,
        "max_pcf_unit": ceiling.unit if ceiling else None,
        "require_verified": constraints.require_verified,
        "alliance_only": constraints.alliance,
        "region_preference": english_name(constraints.region),
    }


@dataclass(frozen=True, slots=True)
class Outcome:
    id: str
    split: str
    language: str
    text: str
    expected: dict[str, Any]
    got: dict[str, Any]

    @property
    def wrong_fields(self) -> list[str]:
        return [field for field in FIELDS if self.expected.get(field) != self.got.get(field)]

    @property
    def exact(self) -> bool:
        return not self.wrong_fields


class NotLabelled(ValueError):
    """A line of a labelled-texts file that is not a labelled text."""


def read_labelled(path: Path) -> list[dict[str, Any]]:
    """The labelled texts of a JSONL file; a line that is not one is refused with its number."""
    records = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                raise NotLabelled(f"{path}, line {number}: not JSON") from None
            if not (
                isinstance(record, dict)
                and isinstance(record.get("id"), str)
                and isinstance(record.get("text"), str)
                and isinstance(record.get("expected"), dict)
            ):
                raise NotLabelled(
                    f"{path}, line {number}: needs a string id and text, and an expected object"
                )
            records.append(record)
    return records


def evaluate(
    records: Iterable[dict[str, Any]], *, alliances: Sequence[str] = KNOWN_ALLIANCES
) -> list[Outcome]:
    """Read every labelled text and compare what is read with what is expected."""
    return [
        Outcome(
            id=record["id"],
            split=record.get("split", "dev"),
            language=record.get("language", ""),
            text=record["text"],
            expected={field: record["expected"].get(field) for field in FIELDS},
            got=as_fields(read_constraints(record["text"], alliances=alliances)),
        )
        for record in records
    ]


def accuracy(outcomes: Sequence[Outcome]) -> tuple[int, int]:
    """(exact, total)."""
    return sum(outcome.exact for outcome in outcomes), len(outcomes)


def report(outcomes: Sequence[Outcome]) -> list[str]:
    """Lines to print: exact-match accuracy overall, by split and by language, then every miss."""
    lines = []
    groups: list[tuple[str, list[Outcome]]] = [("all", list(outcomes))]
    for key in ("split", "language"):
        for value in sorted({getattr(outcome, key) for outcome in outcomes}):
            groups.append((f"{key}={value}", [o for o in outcomes if getattr(o, key) == value]))
    for name, group in groups:
        exact, total = accuracy(group)
        lines.append(f"{name:<16} exact {exact}/{total} = {exact / total:.3f}" if total else f"{name}: none")
    for outcome in outcomes:
        if not outcome.exact:
            wrong = ", ".join(
                f"{field}: expected {outcome.expected[field]!r}, got {outcome.got[field]!r}"
                for field in outcome.wrong_fields
            )
            lines.append(f"MISS {outcome.id} {outcome.text!r}: {wrong}")
    return lines
