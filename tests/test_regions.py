"""One bilingual region list: every name of a region finds the one region, stored as its code, shown in the
page's language, met by what it covers; an unknown name is refused with the closest names."""

from __future__ import annotations

import json
from pathlib import Path

import pycountry
import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from matchmaker import regions
from matchmaker.db import migrate
from matchmaker.db.models import Offer
from matchmaker.db.session import make_engine
from tests.factories import World
from tests.markets import Market
from tests.web_support import post_form, sign_in

JIANGSU_NAMES = ["江苏", "Jiangsu", "江苏省", "jiangsu province", "CN-JS", "Jiangsu Sheng", " JIANGSU "]


@pytest.mark.parametrize("name", JIANGSU_NAMES)
def test_every_name_of_jiangsu_finds_the_one_region(name: str) -> None:
    found = regions.find(name)
    assert found is not None and found.code == "CN-JS"
    assert (found.name("zh"), found.name("en")) == ("江苏", "Jiangsu")


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("内蒙古", "CN-NM"), ("内蒙古自治区", "CN-NM"), ("Inner Mongolia", "CN-NM"),
        ("Nei Mongol", "CN-NM"), ("上海市", "CN-SH"), ("Hong Kong", "HK"), ("香港特别行政区", "HK"),
        ("Macao", "MO"), ("台湾", "TW"), ("USA", "US"), ("美国", "US"), ("UK", "GB"), ("South Korea", "KR"),
        ("韩国", "KR"), ("DEU", "DE"), ("德国", "DE"), ("Viet Nam", "VN"), ("长三角", "YRD"),
        ("Yangtze River Delta", "YRD"), ("京津冀", "BTH"), ("粤港澳大湾区", "GBA"), ("EU", "EU"),
        ("欧洲", "EUROPE"), ("Global", "WORLD"), ("Eastern Asia", "M49-030"),
        ("Suzhou, Jiangsu, China", "CN-JS"),
    ],
)  # fmt: skip
def test_provinces_countries_and_groups_are_found_by_their_names_and_aliases(name: str, code: str) -> None:
    found = regions.find(name)
    assert found is not None and found.code == code


def test_the_list_holds_every_mainland_province_every_country_and_the_groups() -> None:
    codes = {region.code for region in regions.every_region()}
    assert len({code for code in codes if code.startswith("CN-")}) == 31
    assert {country.alpha_2 for country in pycountry.countries} <= codes
    assert {"YRD", "BTH", "GBA", "EU", "EUROPE", "WORLD"} <= codes
    # Every region has a name in both languages, and no two regions share one.
    for language in ("en", "zh"):
        names = [region.name(language) for region in regions.every_region()]
        assert all(names) and len(names) == len(set(names)), language


@pytest.mark.parametrize(
    ("preference", "region", "met"),
    [
        ("CN", "CN-JS", True), ("CN", "HK", True), ("CN", "DE", False), ("YRD", "CN-SH", True),
        ("YRD", "CN-BJ", False), ("GBA", "CN-GD", True), ("EUROPE", "DE", True), ("EU", "NO", False),
        ("EUROPE", "NO", True), ("CN-NM", "CN-NM", True), ("CN-JS", "CN", False), (None, None, True),
        ("CN", None, False),
    ],
)  # fmt: skip
def test_a_region_is_met_by_itself_and_what_it_covers(
    preference: str | None, region: str | None, met: bool
) -> None:
    assert regions.in_region(preference, region) is met


@pytest.mark.parametrize(
    ("typed", "suggested"), [("Jiangsuu", "Jiangsu"), ("Germny", "Germany"), ("江苏南京", "Jiangsu")]
)
def test_an_unknown_name_is_refused_with_the_closest_names(typed: str, suggested: str) -> None:
    with pytest.raises(regions.UnknownRegion) as refused:
        regions.region_code(typed)
    assert suggested in [region.english for region in refused.value.suggestions]
    assert suggested in str(refused.value)


def test_a_value_stored_before_the_list_is_shown_as_written() -> None:
    assert regions.display_name("Atlantis", "zh") == "Atlantis"
    assert regions.display_name("CN-JS", "zh") == "江苏"
    assert regions.display_name("Jiangsu", "zh") == "江苏"
    assert regions.code_of("Atlantis") == "Atlantis"


# --- through the API ---------------------------------------------------------------------------------


def _jsonl(*records: dict[str, object]) -> str:
    return "\n".join(json.dumps(record, ensure_ascii=False) for record in records) + "\n"


def _offer(identifier: str, region: str) -> dict[str, object]:
    return {
        "id": identifier, "title": "Green hydrogen from wind", "kind": "product", "category": "hydrogen",
        "supplier": "H2 Co", "region": region, "pcf_value": 1.2, "pcf_unit": "kgCO2e/kg",
        "pcf_verified": True,
    }  # fmt: skip


def test_an_import_of_jiangsu_in_three_spellings_finds_one_region_and_names_a_bad_line(
    client: TestClient, world: World, session: Session
) -> None:
    body = _jsonl(_offer("a", "江苏"), _offer("b", "Jiangsu"), _offer("c", "Jiangsuu"), _offer("d", "江苏省"))
    report = client.post("/imports/offers", content=body, headers=world.operator.headers).json()

    assert (report["created"], report["failed"]) == (3, 1), report
    assert report["errors"][0]["line"] == 3
    assert "did you mean Jiangsu" in report["errors"][0]["message"]
    stored = session.scalars(select(Offer.region).where(Offer.external_id.in_(["a", "b", "d"]))).all()
    assert set(stored) == {"CN-JS"}
    listed = client.get("/offers?category=hydrogen", headers=world.buyer.headers).json()["items"]
    assert {item["region"] for item in listed if item["external_id"] in "abd"} == {"Jiangsu"}
    for name in ("江苏", "jiangsu", "中国", "长三角"):
        found = client.get("/offers", params={"region": name}, headers=world.buyer.headers).json()["items"]
        assert {"a", "b", "d"} <= {item["external_id"] for item in found}, name
    elsewhere = client.get("/offers", params={"region": "德国"}, headers=world.buyer.headers).json()["items"]
    assert not {"a", "b", "d"} & {item["external_id"] for item in elsewhere}


def test_filtering_and_preferring_a_region_works_whichever_language_names_it(
    client: TestClient, world: World
) -> None:
    body = _jsonl(_offer("wind-h2", "内蒙古"), _offer("coast-h2", "Jiangsu"))
    assert client.post("/imports/offers", content=body, headers=world.operator.headers).json()["created"] == 2
    need = client.post(
        "/needs",
        json={
            "text": "Green hydrogen for a steel plant",
            "category": "hydrogen",
            "region_preference": "Inner Mongolia",
        },
        headers=world.buyer.headers,
    ).json()

    def matches(**params: object) -> dict[str, dict[str, object]]:
        response = client.get(f"/needs/{need['id']}/matches", params=params, headers=world.buyer.headers)
        assert response.status_code == 200, response.text
        return {m["offer"]["external_id"]: m for m in response.json()["matches"]}

    preferred = matches()
    assert preferred["wind-h2"]["explanation"]["region_preferred"] is True  # entered as 内蒙古
    assert preferred["coast-h2"]["explanation"]["region_preferred"] is False
    for name in ("江苏", "Jiangsu", "江苏省", "长三角", "中国"):
        assert "coast-h2" in matches(region=[name]), name
    assert "wind-h2" not in matches(region=["江苏"])
    assert set(matches(region=["Germany"])) == set()


def test_an_unknown_region_is_a_422_problem_naming_the_closest(client: TestClient, world: World) -> None:
    response = client.post(
        "/needs",
        json={"text": "Green hydrogen", "category": "hydrogen", "region_preference": "Jiangsuu"},
        headers=world.buyer.headers,
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "did you mean Jiangsu" in response.text


def test_the_migration_stores_regions_written_by_name_as_codes(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'regions.sqlite3'}")
    config = migrate.alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0010")
            for name, region in (("a", "江苏"), ("b", "Jiangsu"), ("c", "Atlantis"), ("d", "内蒙古自治区")):
                connection.execute(
                    text(
                        "INSERT INTO organisations "
                        "(name, kind, region, admission_status, created_at, updated_at) "
                        "VALUES (:n, 'vendor', :r, 'admitted', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"n": name, "r": region},
                )
            command.upgrade(config, "0011")
            stored = dict(connection.execute(text("SELECT name, region FROM organisations")).all())
        assert stored == {"a": "CN-JS", "b": "CN-JS", "c": "Atlantis", "d": "CN-NM"}
    finally:
        engine.dispose()


# --- on the pages ---------------------------------------------------------------------------------------


def test_a_chinese_page_filters_by_江苏_and_names_every_region_in_chinese(
    market: Market, client: TestClient
) -> None:
    sign_in(client, market.buyer.key)
    post_form(client, "/ui/language", {"language": "zh", "next": "/ui/needs/new"}, page="/ui/needs/new")
    form = client.get("/ui/needs/new").text
    assert 'list="regions"' in form
    assert '<option value="内蒙古">' in form and '<option value="长三角">' in form
    created = post_form(
        client,
        "/ui/needs",
        {"text": "电炉短流程低碳螺纹钢", "category": "steel", "region_preference": "长三角"},
        page="/ui/needs/new",
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    need = created.headers["location"]

    page = client.get(need, params={"region": "江苏"}).text
    assert "Scrap-based EAF rebar HRB400E" in page  # in Jiangsu
    assert (
        "Rebar HRB400 from the blast furnace route"
        not in page.split('data-testid="matches"')[-1].split("</ol>")[0]
    )  # in Hebei: a near miss at most
    shown = page.replace("Jiangsu Green Steel", "")  # a supplier's name, not a region
    for english in ("Jiangsu", "Hebei", "Yangtze River Delta"):
        assert english not in shown, english
    assert "江苏" in page and "长三角" in page
    unknown = client.get(need, params={"region": "Jiangsuu"}).text
    assert "Jiangsu (江苏)" in unknown  # the closest name, in a message on the page


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("Georgia, USA", "US"),  # the place within the widest one named, not the country Georgia
        ("苏州，江苏", "CN-JS"),
        ("NA", None),  # a spreadsheet's "none", not Namibia
        ("no", None), ("in", None), ("deu", None), ("DEU", "DE"),  # codes are written in capitals
        ("Jersey City", None),  # "city" is stripped from China's own divisions only
        ("South America", "M49-419"),
    ],
)  # fmt: skip
def test_codes_and_lists_of_places_resolve_as_a_person_means_them(written: str, code: str | None) -> None:
    found = regions.find(written)
    assert (found.code if found else None) == code


def test_the_world_covers_every_region_and_a_text_about_reach_states_no_preference() -> None:
    assert regions.in_region("WORLD", "CN-JS") and regions.in_region("WORLD", "DE")
    written = regions.written_names()
    assert not {"Global", "世界", "全球", "America"} & written
    assert "撒哈拉以南非洲" in written  # so that 南非 inside it is not read as South Africa


def test_a_vendor_searching_needs_for_jiangsu_finds_those_preferring_长三角_or_china(
    client: TestClient, world: World
) -> None:
    for preference in ("长三角", "中国", "德国"):
        created = client.post(
            "/needs",
            json={
                "text": f"绿氢采购（{preference}）",
                "category": "hydrogen",
                "region_preference": preference,
            },
            headers=world.buyer.headers,
        )
        assert created.status_code == 201, created.text
    found = client.post(
        "/needs/search", json={"text": "绿氢", "region": ["江苏"]}, headers=world.member_vendor.headers
    )
    assert found.status_code == 200, found.text
    preferred = {match["need"]["region_preference"] for match in found.json()["matches"]}
    assert preferred == {"Yangtze River Delta", "China"}
