"""The operator's metrics over HTTP: the inquiries' funnel and precision at 5 follow what buyers did."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from tests.markets import METRO_REBAR_NEED, Market

REBAR_NEED = METRO_REBAR_NEED


def test_the_funnel_and_precision_follow_inquiries_and_feedback(client: TestClient, market: Market) -> None:
    need = client.post("/needs", json=REBAR_NEED, headers=market.buyer.headers).json()["id"]
    matches = client.get(f"/needs/{need}/matches", headers=market.buyer.headers).json()["matches"]
    first, second = matches[0]["offer"]["id"], matches[1]["offer"]["id"]
    client.put(f"/needs/{need}/feedback/{first}", json={"verdict": "relevant"}, headers=market.buyer.headers)
    client.put(
        f"/needs/{need}/feedback/{second}", json={"verdict": "not_relevant"}, headers=market.buyer.headers
    )
    inquiry = client.post(
        "/inquiries",
        json={"offer_id": first, "need_id": need, "message": "price?"},
        headers=market.buyer.headers,
    ).json()["id"]
    vendor = next(p for p in (market.eaf_steel, market.zh_steel, market.bof_steel, market.outsider_steel)
                  if client.get(f"/inquiries/{inquiry}", headers=p.headers).status_code == 200)  # fmt: skip
    quote = {"kind": "quote", "price": 4200, "currency": "CNY"}
    assert (
        client.post(f"/inquiries/{inquiry}/messages", json=quote, headers=vendor.headers).status_code == 201
    )
    won = {"kind": "close", "outcome": "won"}
    assert (
        client.post(f"/inquiries/{inquiry}/messages", json=won, headers=market.buyer.headers).status_code
        == 201
    )

    metrics = client.get("/metrics", headers=market.operator.headers)
    assert metrics.status_code == 200, metrics.text
    body = metrics.json()
    assert body["inquiries"] == {"sent": 1, "quoted": 1, "won": 1, "lost": 0, "declined": 0}
    assert (body["feedback"]["precision_at_5"], body["feedback"]["judged_in_top_5"]) == (0.5, 2)
    row = next(r for r in body["needs"] if r["need_id"] == need)
    assert (row["inquiries"], row["quotes"], row["won"]) == (1, 1, 1)
    assert row["matches"] == len(matches) - 1  # the dismissed one is out of the list
    exported = client.get("/metrics?format=csv", headers=market.operator.headers)
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert any(r["need_id"] == str(need) and r["won"] == "1" for r in rows)
    for other in (market.buyer, market.eaf_steel):
        assert client.get("/metrics", headers=other.headers).status_code == 403
