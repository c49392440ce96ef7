"""The emission-factor library: every shipped factor is a published one, with its document, table and
licence; a version loads once and never changes; the API lists a version's factors with their sources."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.db.models import EmissionFactor
from matchmaker.errors import Conflict
from matchmaker.factors import service
from matchmaker.factors.library import LibraryFile, LibraryInvalid, read, shipped
from tests.cli_support import db_session, ok
from tests.markets import Market

HEADER = "key,kind,name,value,unit,region,year,source,source_table,licence\n"
GOOD_LINE = 'gwp.ch4_fossil,gwp,"CH4, fossil",29.8,kgCO2e/kg,,,IPCC AR6 WG1,Table 7.15,cited\n'


def test_every_shipped_factor_is_published_and_cited() -> None:
    libraries = shipped()
    assert libraries, "no factor library shipped"
    for library in libraries:
        factors = read(library)
        kinds = {factor.kind for factor in factors}
        assert kinds == {"gwp", "fuel_combustion", "fuel_ncv", "electricity", "transport"}, library.version
        for factor in factors:
            assert factor.source and factor.source_table and factor.licence, factor.key


def test_the_latest_library_holds_the_ar6_global_warming_potentials() -> None:
    gwp = {factor.key: factor.value for factor in read(shipped()[-1]) if factor.kind == "gwp"}
    # IPCC AR6 WG1, Chapter 7, Table 7.15 (GWP100).
    assert gwp["gwp.ar6.co2"] == 1
    assert gwp["gwp.ar6.ch4_fossil"] == 29.8
    assert gwp["gwp.ar6.ch4_non_fossil"] == 27.0
    assert gwp["gwp.ar6.n2o"] == 273


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (HEADER + GOOD_LINE + GOOD_LINE, "line 3: key 'gwp.ch4_fossil' repeats line 2"),
        (HEADER + GOOD_LINE.replace("29.8", "-1"), "line 2: value"),
        (HEADER + GOOD_LINE.replace(",cited", ","), "line 2: licence"),
        (HEADER + GOOD_LINE.replace("kgCO2e/kg", "furlongs"), "line 2: unit"),
        ("key,value\n", "missing columns kind, name"),
    ],
)
def test_a_bad_library_file_is_refused_naming_its_lines(text: str, fragment: str) -> None:
    with pytest.raises(LibraryInvalid) as refused:
        read(LibraryFile("9999.1", text))
    assert fragment in str(refused.value)


def test_a_version_loads_once_and_a_changed_one_is_refused(session: Session) -> None:
    library = LibraryFile("2000.1", HEADER + GOOD_LINE)
    assert service.load(session=session, library=library) == "loaded"
    assert service.load(session=session, library=library) == "unchanged"
    changed = LibraryFile("2000.1", HEADER + GOOD_LINE.replace("29.8", "30"))
    with pytest.raises(Conflict):
        service.load(session=session, library=changed)
    stored = session.scalars(select(EmissionFactor).where(EmissionFactor.library_version == "2000.1")).all()
    assert [(factor.key, factor.value) for factor in stored] == [("gwp.ch4_fossil", 29.8)]


def test_the_api_lists_a_versions_factors_with_their_sources(
    client: TestClient, session: Session, market: Market
) -> None:
    assert client.get("/factors", headers=market.buyer.headers).status_code == 404  # none loaded yet
    service.load_shipped(session=session)
    session.commit()
    versions = client.get("/factors/libraries", headers=market.buyer.headers).json()
    assert [version["version"] for version in versions] == [library.version for library in shipped()]
    listed = client.get("/factors?kind=gwp&per_page=100", headers=market.eaf_steel.headers).json()
    assert {factor["kind"] for factor in listed["items"]} == {"gwp"}
    assert all(factor["source"] and factor["licence"] for factor in listed["items"])
    unknown = client.get("/factors?version=1999.1", headers=market.buyer.headers)
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert client.get("/factors").status_code == 401


def test_db_upgrade_loads_the_shipped_libraries_once(cli_env: dict[str, str]) -> None:
    first = ok("db", "upgrade", env=cli_env)
    assert f"factor library {shipped()[-1].version} loaded" in first.stdout
    again = ok("db", "upgrade", env=cli_env)
    assert "factor library" not in again.stdout
    with db_session(cli_env) as session:
        count = len(session.scalars(select(EmissionFactor)).all())
    assert count == sum(len(read(library)) for library in shipped())
