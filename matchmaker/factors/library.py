"""The library files shipped with the package (library/<version>.csv) and what is read from them: pure, no
database. A file with a bad line is refused whole, naming each bad line: a library is published as one."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from matchmaker.factors.schemas import FactorRecord
from matchmaker.imports.readers import numbered_rows, open_csv
from matchmaker.schema_types import TEXT_INPUT

LIBRARY_DIR = Path(__file__).parent / "library"
COLUMNS = ("key", "kind", "name", "value", "unit", "region", "year", "source", "source_table", "licence")


class LibraryInvalid(ValueError):
    """A library file that cannot be loaded; `problems` name its bad lines."""

    def __init__(self, version: str, problems: list[str]) -> None:
        super().__init__(f"factor library {version}: " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class LibraryFile:
    version: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def shipped() -> list[LibraryFile]:
    """The versions shipped with the package, oldest first (versions sort as their names: 2026.12)."""
    return [
        LibraryFile(path.stem, path.read_text(encoding="utf-8"))
        for path in sorted(LIBRARY_DIR.glob("*.csv"), key=lambda path: path.stem)
    ]


def read(library: LibraryFile) -> list[FactorRecord]:
    """Every factor of the file, or LibraryInvalid naming each line that is not one (and repeated keys)."""
    reader = open_csv(library.text.lstrip("\ufeff"))
    missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise LibraryInvalid(library.version, [f"missing columns {', '.join(missing)}"])
    factors: list[FactorRecord] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, row, problem in numbered_rows(reader):
        if problem or row is None:
            problems.append(f"line {line}: {problem or 'empty'}")
            continue
        cells = {column: (row.get(column) or "").strip() or None for column in COLUMNS}
        try:
            factor = FactorRecord.model_validate(cells, context={TEXT_INPUT: True})
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            problems.append(f"line {line}: {where}: {first['msg']}")
            continue
        if factor.key in seen:
            problems.append(f"line {line}: key {factor.key!r} repeats line {seen[factor.key]}")
            continue
        seen[factor.key] = line
        factors.append(factor)
    if problems:
        raise LibraryInvalid(library.version, problems)
    return factors
