"""Loading the shipped factor libraries, and reading them.

A version is loaded once and never changed: loading it again changes nothing, and a shipped file whose
content differs from the version loaded under its name is refused (a correction is a new version, so that
what a footprint was calculated with can always be read back)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy.orm import Session

from matchmaker.db.models import EmissionFactor, FactorLibrary
from matchmaker.errors import Conflict, NotFound
from matchmaker.factors import repository
from matchmaker.factors.library import LibraryFile, read, shipped
from matchmaker.pagination import PageRequest

Outcome = Literal["loaded", "unchanged"]


def load(*, session: Session, library: LibraryFile) -> Outcome:
    """Load one library version (LibraryInvalid for a bad file, Conflict for a changed one)."""
    loaded = repository.library(session, library.version)
    if loaded is not None:
        if loaded.sha256 != library.sha256:
            raise Conflict(
                f"factor library {library.version} was loaded with other content; "
                "a corrected library needs a new version",
                code="factors.version_changed",
                values={"version": library.version},
            )
        return "unchanged"
    factors = read(library)
    repository.add(
        session,
        FactorLibrary(version=library.version, sha256=library.sha256, factor_count=len(factors)),
        [EmissionFactor(library_version=library.version, **factor.model_dump()) for factor in factors],
    )
    return "loaded"


def load_shipped(*, session: Session) -> list[tuple[str, Outcome]]:
    """Load every version shipped with the package that the database lacks."""
    return [(library.version, load(session=session, library=library)) for library in shipped()]


def libraries(*, session: Session) -> Sequence[FactorLibrary]:
    return repository.libraries(session)


def factors(
    *, session: Session, version: str | None, kind: str | None, region: str | None, year: int | None,
    page: PageRequest,
) -> tuple[Sequence[EmissionFactor], int]:  # fmt: skip
    """A page of one version's factors (the latest loaded by default), by key."""
    if version is not None:
        if repository.library(session, version) is None:
            raise NotFound(f"factor library {version} is not loaded", code="factors.unknown_version")
        chosen = version
    else:
        latest = repository.latest_version(session)
        if latest is None:
            raise NotFound(
                "no factor library is loaded: run `matchmaker db upgrade`", code="factors.none_loaded"
            )
        chosen = latest
    return repository.factors_page(session, version=chosen, kind=kind, region=region, year=year, page=page)
