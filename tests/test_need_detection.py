"""Constraints a need's text states that its fields do not: reported by the API, pre-filled on the page,
never applied to the stored need; a search text's ceiling applied in the wider wordings."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matchmaker.db.models import Need
from tests.factories import World, make_need
from tests.web_support import post_form, sign_in

TEXT = (
    "为氢基竖炉采购绿氢，碳足迹不高于１．８千克二氧化碳当量每千克，"
    "需第三方核查，CN100联盟成员，长三角地区供应商优先。"
)
DETECTED = {
    "max_pcf": 1.8,
    "max_pcf_unit": "kgCO2e/kg",
    "require_verified": True,
    "alliance_only": "CN100",
    "region_preference": "Yangtze River Delta",
}
UNSET = {
    "max_pcf": None,
    "max_pcf_unit": None,
    "require_verified": False,
    "alliance_only": None,
    "region_preference": None,
}


def constraints_of(need: dict[str, Any]) -> dict[str, Any]:
    return {field: need[field] for field in UNSET}


def test_a_new_need_reports_what_its_text_states_and_stores_none_of_it(
    client: TestClient, world: World
) -> None:
    response = client.post("/needs", json={"text": TEXT, "category": "hydrogen"}, headers=world.buyer.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["detected"] == DETECTED
    assert [w["field"] for w in body["warnings"]] == [
        "max_pcf",
        "require_verified",
        "alliance_only",
        "region_preference",
    ]
    assert body["warnings"][0]["code"] == "need.text_states_ceiling"
    assert "1.8 kgCO2e/kg" in body["warnings"][0]["message"]
    # Not applied: the need as stored and as read again has none of them.
    assert constraints_of(body) == UNSET
    stored = client.get(f"/needs/{body['id']}", headers=world.buyer.headers).json()
    assert constraints_of(stored) == UNSET and "detected" not in stored


def test_fields_that_state_the_same_constraints_leave_nothing_detected(
    client: TestClient, world: World
) -> None:
    # The same ceiling in another unit of the family (1,800 kgCO2e/t is 1.8 kgCO2e/kg) is the same ceiling.
    fields = {**DETECTED, "max_pcf": 1800, "max_pcf_unit": "kgCO2e/t", "region_preference": "长三角"}
    response = client.post("/needs", json={"text": TEXT, **fields}, headers=world.buyer.headers)
    assert response.status_code == 201, response.text
    assert (response.json()["detected"], response.json()["warnings"]) == (None, [])


def test_a_field_that_says_otherwise_is_reported(client: TestClient, world: World) -> None:
    response = client.post(
        "/needs", json={"text": TEXT, **DETECTED, "max_pcf": 2.5}, headers=world.buyer.headers
    )
    body = response.json()
    assert body["detected"] == {
        **{field: None for field in DETECTED},
        "max_pcf": 1.8,
        "max_pcf_unit": "kgCO2e/kg",
    }
    assert "it is 2.5 kgCO2e/kg" in body["warnings"][0]["message"]
    assert body["max_pcf"] == 2.5


def test_a_change_of_text_reports_and_sending_the_detected_values_applies_them(
    client: TestClient, world: World
) -> None:
    need = world.needs["shared"]
    headers = world.buyer.headers
    before = constraints_of(client.get(f"/needs/{need.id}", headers=headers).json())
    changed = client.patch(
        f"/needs/{need.id}",
        json={"text": "Hot-rolled coil, PCF at most 1,900 kg CO2-eq per tonne"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["detected"]["max_pcf"] == 1900
    assert changed.json()["detected"]["max_pcf_unit"] == "kgCO2e/t"
    assert constraints_of(changed.json()) == before
    applied = client.patch(
        f"/needs/{need.id}", json={"max_pcf": 1900, "max_pcf_unit": "kgCO2e/t"}, headers=headers
    )
    assert applied.json()["max_pcf"] == 1900 and applied.json()["detected"] is None


def test_numbers_that_are_not_footprints_and_unknown_alliances_are_not_detected(
    client: TestClient, world: World
) -> None:
    text = "年需求2000吨热轧卷板，配套2.5 t lifting capacity cranes and 300 kWh storage, XX9 members only"
    response = client.post("/needs", json={"text": text}, headers=world.buyer.headers)
    assert response.status_code == 201, response.text
    assert response.json()["detected"] is None


def test_a_long_need_in_mixed_scripts_with_full_width_digits_is_no_500(
    client: TestClient, world: World
) -> None:
    unit = "碳足迹不高于１．８ tCO₂e/t，年需求２０００吨；Ünïcödé ракета ≤≤ 9 "
    text = (unit * 200)[:5_000]
    response = client.post("/needs", json={"text": text}, headers=world.buyer.headers)
    assert response.status_code == 201, response.text
    assert response.json()["detected"]["max_pcf"] == 1.8


def test_the_openapi_document_declares_detected_and_warnings(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for method, path, status in (("post", "/needs", "201"), ("patch", "/needs/{need_id}", "200")):
        ref = spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"][
            "$ref"
        ]
        schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert {"detected", "warnings", "max_pcf", "text"} <= set(schema["properties"])
    detected = spec["components"]["schemas"]["DetectedConstraints"]["properties"]
    assert set(detected) == set(DETECTED)


def test_search_applies_a_ceiling_in_the_wider_wordings(client: TestClient, world: World) -> None:
    def criteria(text: str) -> dict[str, Any]:
        response = client.post("/search", json={"text": text}, headers=world.buyer.headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["criteria"]
        return result

    written = criteria("热轧卷板，碳足迹上限为１．８吨二氧化碳当量每吨")
    assert (written["max_pcf"], written["max_pcf_unit"]) == (1.8, "tCO2e/t")
    written = criteria("PV modules, no more than 400 kg CO2-eq per kW")
    assert (written["max_pcf"], written["max_pcf_unit"]) == (400, "kgCO2e/kWp")
    assert criteria("年需求2000吨热轧卷板")["max_pcf"] is None


# --- the need form ---------------------------------------------------------------------------------------


def _field_value(html: str, name: str) -> str | None:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html
    )
    return found.group(1) if found else None


def _needs_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Need)) or 0


def test_the_form_prefills_what_the_text_states_and_saves_only_when_the_buyer_saves(
    client: TestClient, world: World, session: Session
) -> None:
    sign_in(client, world.buyer.key)
    count = _needs_count(session)
    shown = post_form(client, "/ui/needs", {"text": TEXT}, page="/ui/needs/new", follow_redirects=False)
    assert shown.status_code == 200, shown.text
    html = shown.text
    assert 'data-testid="detected"' in html and "Nothing is saved yet" in html
    assert _field_value(html, "max_pcf") == "1.8" and _field_value(html, "max_pcf_unit") == "kgCO2e/kg"
    assert _field_value(html, "region_preference") == "Yangtze River Delta"
    assert re.search(r'<option value="CN100" selected>', html)
    assert re.search(r'name="require_verified"[^>]*checked', html)
    assert _field_value(html, "reviewed") == "1"
    session.expire_all()
    assert _needs_count(session) == count  # nothing saved yet

    # The buyer keeps the ceiling and the alliance, clears the region and unticks verified-only, and saves.
    confirmed = {
        "text": TEXT,
        "max_pcf": "1.8",
        "max_pcf_unit": "kgCO2e/kg",
        "alliance_only": "CN100",
        "region_preference": "",
        "reviewed": "1",
    }
    saved = post_form(client, "/ui/needs", confirmed, page="/ui/needs/new", follow_redirects=False)
    assert saved.status_code == 303, saved.text
    need_id = int(saved.headers["location"].rsplit("/", 1)[1])
    need = client.get(f"/needs/{need_id}", headers=world.buyer.headers).json()
    assert constraints_of(need) == {
        **UNSET,
        "max_pcf": 1.8,
        "max_pcf_unit": "kgCO2e/kg",
        "alliance_only": "CN100",
    }


def test_the_notice_speaks_chinese(client: TestClient, world: World) -> None:
    sign_in(client, world.buyer.key)
    shown = post_form(
        client,
        "/ui/needs",
        {"text": TEXT},
        page="/ui/needs/new",
        headers={"Accept-Language": "zh-CN,zh;q=0.9"},
    )
    assert "我们已在下方代为填入" in shown.text and "尚未保存" in shown.text


def test_a_form_whose_fields_state_the_text_saves_at_once(client: TestClient, world: World) -> None:
    sign_in(client, world.buyer.key)
    fields = {
        "text": TEXT,
        "max_pcf": "1.8",
        "max_pcf_unit": "kgCO2e/kg",
        "require_verified": "on",
        "alliance_only": "CN100",
        "region_preference": "Yangtze River Delta",
    }
    saved = post_form(client, "/ui/needs", fields, page="/ui/needs/new", follow_redirects=False)
    assert saved.status_code == 303, saved.text


def test_editing_a_need_whose_text_states_more_prefills_it_and_changes_nothing_until_saved(
    client: TestClient, world: World, session: Session
) -> None:
    need = make_need(session, owner=world.buyer.organisation, external_id="text-only", text=TEXT)
    session.commit()
    sign_in(client, world.buyer.key)
    page = client.get(f"/ui/needs/{need.id}/edit")
    assert page.status_code == 200 and 'data-testid="detected"' in page.text
    assert _field_value(page.text, "max_pcf") == "1.8"
    assert constraints_of(client.get(f"/needs/{need.id}", headers=world.buyer.headers).json()) == UNSET

    # A changed text on the edit form is shown before it is saved, too.
    edited = post_form(
        client,
        f"/ui/needs/{need.id}",
        {"text": "Steel plate under 2 tCO2e/t", "version": str(need.version), "visibility": "vendors"},
        page=f"/ui/needs/{need.id}/edit",
        follow_redirects=False,
    )
    assert edited.status_code == 200 and _field_value(edited.text, "max_pcf") == "2"
    assert client.get(f"/needs/{need.id}", headers=world.buyer.headers).json()["text"] == TEXT


def test_an_import_warns_of_needs_whose_text_states_more_and_applies_none_of_it(
    client: TestClient, world: World
) -> None:
    lines = [
        {"id": "stated", "buyer": "ignored", "text": TEXT, **DETECTED},
        {"id": "unstated", "buyer": "ignored", "text": TEXT},
        {"id": "plain", "buyer": "ignored", "text": "年需求2000吨热轧卷板"},
    ]
    body = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
    report = client.post("/imports/needs", content=body, headers=world.buyer.headers).json()
    assert report["created"] == 3
    assert [w for w in report["warnings"] if "not applied" in w] == [
        "1 need(s) state constraints in their text that their fields do not (a ceiling, verified-only, "
        "an alliance or a region); they were not applied: unstated"
    ]
    needs = client.get("/needs", headers=world.buyer.headers).json()["items"]
    unstated = next(n for n in needs if n["external_id"] == "unstated")
    assert constraints_of(unstated) == UNSET


def test_the_need_page_says_when_its_text_states_what_it_does_not_apply(
    client: TestClient, world: World, session: Session
) -> None:
    unapplied = make_need(session, owner=world.buyer.organisation, external_id="text-only", text=TEXT)
    applied = make_need(
        session,
        owner=world.buyer.organisation,
        external_id="applied",
        text=TEXT,
        max_pcf=1.8,
        max_pcf_unit="kgCO2e/kg",
        require_verified=True,
        alliance_only_id=world.alliance.id,
        region_preference="Yangtze River Delta",
    )
    session.commit()
    sign_in(client, world.buyer.key)
    page = client.get(f"/ui/needs/{unapplied.id}").text
    assert 'data-testid="unapplied"' in page and f'href="/ui/needs/{unapplied.id}/edit">Review' in page
    assert 'data-testid="unapplied"' not in client.get(f"/ui/needs/{applied.id}").text


def test_the_notice_lists_only_what_the_text_states(client: TestClient, world: World) -> None:
    """A text that asks for verified footprints and states no ceiling: the notice names no ceiling."""
    sign_in(client, world.buyer.key)
    text = "Low-carbon rebar HRB400E for a rail bridge, third-party verified footprints only."
    shown = post_form(client, "/ui/needs", {"text": text}, page="/ui/needs/new", follow_redirects=False)
    notice = re.search(r'data-testid="detected">(.*?)</div>', shown.text, re.S)
    assert shown.status_code == 200 and notice, shown.text[:500]
    assert "Footprint ceiling" not in notice.group(1)
    assert "verified" in notice.group(1).lower()
