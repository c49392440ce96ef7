"""PCF accounting on the pages: a vendor fills its offer's bill of materials, previews the footprint with its
lines, gaps and factors, saves it and reads it on the offer page as calculated and not verified; a unit
that does not fit its line is named; an LCA file uploaded is reported per data set."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from matchmaker.factors import service as factors
from tests.markets import Market
from tests.web_support import csrf_token, post_form, sign_in

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture(autouse=True)
def library(session: Session) -> None:
    factors.load_shipped(session=session)
    session.commit()


def bill(offer_id: int, **changes: str) -> dict[str, str]:
    return {
        "output_amount": "2", "output_unit": "t", "declared_unit": "t", "region": "CN", "year": "2023",
        "gwp": "ar6",
        "line-0-kind": "electricity", "line-0-ref": "cn.east", "line-0-year": "2023", "line-0-amount": "1000",
        "line-0-unit": "kWh",
        "line-1-kind": "process", "line-1-ref": "co2", "line-1-amount": "450", "line-1-unit": "kg",
        "line-2-kind": "offer", "line-2-ref": str(offer_id), "line-2-amount": "0.5", "line-2-unit": "t",
        **changes,
    }  # fmt: skip


def test_a_vendor_previews_and_saves_its_offers_calculated_footprint(
    client: TestClient, market: Market
) -> None:
    offer = market.offers["eaf-rebar"]
    scrap = market.offers["outsider-rebar"]  # 0.45 tCO2e/t
    sign_in(client, market.eaf_steel.key)
    page = f"/ui/offers/{offer.id}/calculate"
    form = client.get(page, headers=ZH)
    assert form.status_code == 200 and "核算碳足迹" in form.text
    preview = post_form(client, page, bill(scrap.id), page=page, headers={"Accept-Language": "en"})
    assert preview.status_code == 200, preview.text
    # (550 + 450 + 225) kg over 2 t
    assert 'data-testid="bom-total"' in preview.text and "612.5 kgCO2e/t" in preview.text
    assert "electricity.cn.east.2023" in preview.text and "hotspot" in preview.text
    saved = post_form(client, page, {**bill(scrap.id), "action": "save"}, page=page, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"].endswith("done=calculated")
    shown = client.get(f"/ui/offers/{offer.id}", headers=ZH)
    assert "计算值，未经核查" in shown.text and 'data-testid="pcf-origin"' in shown.text
    # the form comes back with the saved bill
    again = client.get(page)
    assert 'value="cn.east"' in again.text and 'value="450' in again.text


def test_a_unit_that_does_not_fit_its_line_and_a_gap_are_named(client: TestClient, market: Market) -> None:
    offer = market.offers["eaf-rebar"]
    sign_in(client, market.eaf_steel.key)
    page = f"/ui/offers/{offer.id}/calculate"
    wrong = post_form(
        client, page, bill(market.offers["outsider-rebar"].id, **{"line-0-unit": "kg"}), page=page
    )
    assert wrong.status_code == 422 and 'data-testid="bom-problems"' in wrong.text and "Line 1" in wrong.text
    gap = post_form(
        client, page,
        bill(market.offers["outsider-rebar"].id, **{"line-3-kind": "factor", "line-3-name": "ferro-alloy",
                                                     "line-3-amount": "8", "line-3-unit": "kg"}),
        page=page,
    )  # fmt: skip
    assert gap.status_code == 200 and 'data-testid="bom-incomplete"' in gap.text and "ferro-alloy" in gap.text
    refused = post_form(
        client, page,
        {**bill(market.offers["outsider-rebar"].id, **{"line-3-kind": "factor", "line-3-amount": "8",
                                                        "line-3-unit": "kg"}), "action": "save"},
        page=page,
    )  # fmt: skip
    assert refused.status_code == 422
    # another supplier may not open it
    sign_in(client, market.bof_steel.key)
    assert client.get(page).status_code in (403, 404)


def test_an_lca_file_uploaded_on_the_page_is_reported_per_data_set(
    client: TestClient, market: Market
) -> None:
    sign_in(client, market.eaf_steel.key)
    body = (Path(__file__).parent / "lca_files" / "ibu-2-layer-parquet.xml").read_bytes()
    token = csrf_token(client, "/ui/lca")
    answer = client.post(
        "/ui/lca",
        data={"csrf_token": token, "declared_unit": "m2"},
        files={"file": ("parquet.xml", body, "application/xml")},
    )
    assert answer.status_code == 200, answer.text
    assert 'data-outcome="created"' in answer.text and "6.529" in answer.text
    missing = client.post("/ui/lca", data={"csrf_token": token}, files={"file": ("", b"", "")})
    assert missing.status_code == 422
