"""The operator's pages: organisations (admission, keys) and alliances (memberships), seen through the API."""

from __future__ import annotations

import re
from contextlib import closing

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from matchmaker.db.models import Membership, Organisation
from tests.factories import Party, World
from tests.web_support import post_form, sign_in

_PLAINTEXT = re.compile(r'data-testid="new-key-plaintext">(mm_[^<]+)<')


def as_operator(client: TestClient, world: World) -> TestClient:
    assert sign_in(client, world.operator.key).status_code == 303
    return client


def rows(page: str, prefix: str) -> list[str]:
    return re.findall(rf'data-testid="{prefix}-(\d+)"', page)


def admission_of(client: TestClient, world: World, party: Party) -> str:
    """An organisation's admission status, as the API reports it to the operator."""
    return str(
        client.get(f"/organisations/{party.id}", headers=world.operator.headers).json()["admission_status"]
    )


def visible_offers(client: TestClient, world: World) -> set[str]:
    response = client.get("/offers?per_page=100", headers=world.buyer.headers)
    return {offer["external_id"] for offer in response.json()["items"]}


def test_the_operator_pages_are_refused_to_other_roles(client: TestClient, world: World) -> None:
    for party in (world.buyer, world.member_vendor):
        client.cookies.clear()
        sign_in(client, party.key)
        for path in (
            "/ui/organisations",
            f"/ui/organisations/{party.id}",
            "/ui/alliances",
            "/ui/alliances/CN100",
        ):
            page = client.get(path)
            assert page.status_code == 403, path
            assert page.headers["content-type"].startswith("text/html")
            assert "Not allowed for your account" in page.text
    refused = post_form(
        client,
        f"/ui/organisations/{world.member_vendor.id}/admission",
        {"admission_status": "suspended"},
        page="/ui/sign-in",
    )
    assert refused.status_code == 403
    assert admission_of(client, world, world.member_vendor) == "admitted"


def test_the_list_pages_twenty_at_a_time_and_filters(
    client: TestClient, world: World, session: Session
) -> None:
    session.add_all(
        Organisation(name=f"Bulk {n:02}", kind="buyer", admission_status="admitted") for n in range(20)
    )
    session.commit()  # 26 in all with the world's six
    as_operator(client, world)
    first = client.get("/ui/organisations")
    assert first.status_code == 200
    assert len(rows(first.text, "organisation")) == 20
    assert "Page 1 of 2 · 26 in all" in first.text
    assert 'href="/ui/organisations?page=2" rel="next"' in first.text
    second = client.get("/ui/organisations?page=2")
    assert len(rows(second.text, "organisation")) == 6
    assert set(rows(first.text, "organisation")).isdisjoint(rows(second.text, "organisation"))
    pending = client.get("/ui/organisations?admission=pending")
    assert rows(pending.text, "organisation") == [str(world.pending_vendor.id)]
    assert f'data-testid="admit-{world.pending_vendor.id}"' in pending.text
    vendors = client.get("/ui/organisations?kind=vendor&admission=suspended")
    assert rows(vendors.text, "organisation") == []
    assert "No organisation matches these filters." in vendors.text


def test_admitting_the_pending_vendor_shows_its_offer_to_buyers(client: TestClient, world: World) -> None:
    assert "p-public" not in visible_offers(client, world)
    as_operator(client, world)
    response = post_form(
        client,
        f"/ui/organisations/{world.pending_vendor.id}/admission",
        {"admission_status": "admitted", "next": "/ui/organisations?admission=pending"},
        page="/ui/organisations",
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/organisations?admission=pending"
    assert "p-public" in visible_offers(client, world)
    detail = client.get(f"/ui/organisations/{world.pending_vendor.id}")
    assert '<span class="badge status-admitted" data-testid="admission">Admitted</span>' in detail.text


def test_suspending_an_organisation_ends_its_session_and_its_key(client: TestClient, world: World) -> None:
    # A second browser, on the same app (no second start-up: the engine is already running).
    with closing(TestClient(client.app)) as vendor_browser:
        sign_in(vendor_browser, world.member_vendor.key)
        assert vendor_browser.get("/ui", follow_redirects=False).headers["location"] == "/ui/offers"
        as_operator(client, world)
        listed = client.get("/ui/organisations")
        assert 'data-confirm="Suspend Member Steel?' in listed.text
        # The operator's own organisation offers no Suspend button.
        assert f'data-testid="suspend-{world.operator.id}"' not in listed.text
        post_form(
            client,
            f"/ui/organisations/{world.member_vendor.id}/admission",
            {"admission_status": "suspended"},
            page="/ui/organisations",
        )
        assert vendor_browser.get("/ui", follow_redirects=False).headers["location"] == "/ui/sign-in"
        assert client.get("/organisations/me", headers=world.member_vendor.headers).status_code == 403
        assert admission_of(client, world, world.member_vendor) == "suspended"


def test_creating_an_organisation_and_the_errors_it_can_meet(client: TestClient, world: World) -> None:
    as_operator(client, world)
    created = post_form(
        client,
        "/ui/organisations",
        {"name": "Green Cement", "kind": "both", "region": "Hebei", "admitted": "on"},
        page="/ui/organisations",
        follow_redirects=False,
    )
    assert created.status_code == 303
    detail = client.get(created.headers["location"])
    assert '<h1 translate="no">Green Cement</h1>' in detail.text and "Buyer and vendor" in detail.text
    organisation_id = int(created.headers["location"].rsplit("/", 1)[1])
    api = client.get(f"/organisations/{organisation_id}", headers=world.operator.headers).json()
    assert (api["kind"], api["region"], api["admission_status"]) == ("both", "Hebei", "admitted")

    duplicate = post_form(
        client, "/ui/organisations", {"name": "Green Cement", "kind": "buyer"}, page="/ui/organisations"
    )
    assert duplicate.status_code == 409
    assert "an organisation named &#39;Green Cement&#39; already exists" in duplicate.text
    assert 'data-testid="form-error"' in duplicate.text
    assert 'value="Green Cement"' in duplicate.text  # what was typed is kept
    missing_kind = post_form(client, "/ui/organisations", {"name": "No Kind"}, page="/ui/organisations")
    assert missing_kind.status_code == 422
    assert 'id="f-kind" name="kind" aria-invalid="true"' in missing_kind.text
    listed = client.get("/organisations?per_page=100", headers=world.operator.headers).json()["items"]
    assert [o["name"] for o in listed].count("Green Cement") == 1
    assert "No Kind" not in {o["name"] for o in listed}


def test_a_key_is_shown_once_and_works_on_the_api(client: TestClient, world: World) -> None:
    as_operator(client, world)
    path = f"/ui/organisations/{world.buyer.id}"
    form = client.get(path).text
    # A buyer holds buyer keys only; the role select offers nothing else.
    assert re.findall(r'<option value="(\w+)"', form) == ["buyer"]
    issued = post_form(client, f"{path}/keys", {"role": "buyer", "label": "ERP sync"}, page=path)
    assert issued.status_code == 201
    assert 'class="key-once"' in issued.text and "It will not be shown again" in issued.text
    found = _PLAINTEXT.search(issued.text)
    assert found
    plaintext = found.group(1)
    assert issued.headers["cache-control"] == "no-store"
    me = client.get("/organisations/me", headers={"Authorization": f"Bearer {plaintext}"})
    assert me.status_code == 200 and me.json()["name"] == "Rail Buyer"
    again = client.get(path).text
    assert plaintext not in again
    assert "ERP sync" in again and f"mm_{plaintext.split('_')[1]}_…" in again

    wrong_role = post_form(client, f"{path}/keys", {"role": "vendor"}, page=path)
    assert wrong_role.status_code == 422
    assert "a vendor key needs an organisation of kind both or vendor" in wrong_role.text
    assert 'class="key-once"' not in wrong_role.text
    # The key page was shown at the form's address; reached again (e.g. by the language switch) it leads back.
    assert client.get(f"{path}/keys", follow_redirects=False).headers["location"] == path


def test_revoking_a_key(client: TestClient, world: World) -> None:
    as_operator(client, world)
    path = f"/ui/organisations/{world.member_vendor.id}"
    key_id = client.get(
        f"/organisations/{world.member_vendor.id}/keys", headers=world.operator.headers
    ).json()[0]["id"]
    page = client.get(path).text
    assert f'data-testid="revoke-{key_id}"' in page and "data-confirm=" in page
    response = post_form(client, f"{path}/keys/{key_id}/revoke", {}, page=path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == path
    assert client.get("/organisations/me", headers=world.member_vendor.headers).status_code == 401
    after = client.get(path).text
    assert f'data-testid="revoke-{key_id}"' not in after
    assert re.search(rf'data-testid="key-{key_id}">.*?<time datetime=.*?<time datetime=', after, re.S)
    missing = post_form(client, f"{path}/keys/999999/revoke", {}, page=path)
    assert missing.status_code == 404


def test_creating_an_alliance_and_a_duplicate_code(client: TestClient, world: World) -> None:
    as_operator(client, world)
    created = post_form(
        client,
        "/ui/alliances",
        {"code": "H2", "name": "Green hydrogen"},
        page="/ui/alliances",
        follow_redirects=False,
    )
    assert created.status_code == 303 and created.headers["location"] == "/ui/alliances/H2"
    page = client.get("/ui/alliances/H2")
    assert "H2 · Green hydrogen" in page.text and 'data-testid="empty"' in page.text
    assert client.get("/alliances/H2", headers=world.buyer.headers).json()["name"] == "Green hydrogen"
    listed = client.get("/ui/alliances").text
    assert 'data-testid="alliance-CN100"' in listed and 'data-testid="alliance-H2"' in listed

    duplicate = post_form(client, "/ui/alliances", {"code": "CN100", "name": "Again"}, page="/ui/alliances")
    assert duplicate.status_code == 409
    assert "alliance &#39;CN100&#39; already exists" in duplicate.text
    assert 'value="Again"' in duplicate.text
    bad_code = post_form(client, "/ui/alliances", {"code": "no spaces", "name": "Bad"}, page="/ui/alliances")
    assert bad_code.status_code == 422
    assert 'id="f-code" name="code" type="text" value="no spaces"' in bad_code.text
    assert "invalid alliance code" in bad_code.text
    assert client.get("/ui/alliances/NOPE").status_code == 404


def test_granting_suspending_and_reactivating_a_membership(client: TestClient, world: World) -> None:
    as_operator(client, world)
    page = "/ui/alliances/CN100"

    def memberships() -> dict[int, str]:
        body = client.get("/alliances/CN100/memberships", headers=world.operator.headers).json()
        return {m["organisation_id"]: m["status"] for m in body["items"]}

    assert f'<option value="{world.other_vendor.id}"' in client.get(page).text
    granted = post_form(
        client,
        f"{page}/members",
        {"organisation_id": str(world.other_vendor.id)},
        page=page,
        follow_redirects=False,
    )
    assert granted.status_code == 303 and granted.headers["location"] == page
    assert memberships()[world.other_vendor.id] == "active"
    assert f'data-testid="member-{world.other_vendor.id}"' in client.get(page).text

    status = f"{page}/members/{world.other_vendor.id}/status"
    post_form(client, status, {"status": "revoked"}, page=page)
    assert memberships()[world.other_vendor.id] == "revoked"
    shown = client.get(page).text
    assert f'data-testid="reactivate-member-{world.other_vendor.id}"' in shown
    organisation_page = client.get(f"/ui/organisations/{world.other_vendor.id}").text
    assert "CN100" in organisation_page and "Suspended" in organisation_page
    post_form(client, status, {"status": "active"}, page=page)
    assert memberships()[world.other_vendor.id] == "active"

    nobody = post_form(client, f"{page}/members", {"organisation_id": "999999"}, page=page)
    assert nobody.status_code == 422 and "organisation 999999 does not exist" in nobody.text
    assert 'aria-invalid="true" aria-describedby="e-organisation_id"' in nobody.text
    assert client.get(f"{page}/members", follow_redirects=False).headers["location"] == page
    assert post_form(client, status, {"status": "bogus"}, page=page).status_code == 422
    unknown = post_form(
        client, f"{page}/members/{world.other_buyer.id}/status", {"status": "revoked"}, page=page
    )
    assert unknown.status_code == 404


def test_the_pages_speak_chinese(client: TestClient, world: World) -> None:
    as_operator(client, world)
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    listed = client.get("/ui/organisations", headers=zh).text
    assert '<html lang="zh-CN">' in listed
    for text in ("登记新机构", "准入状态", "待审核", "已准入", "采购方", "确定暂停“Member Steel”吗？"):
        assert text in listed, text
    detail = client.get(f"/ui/organisations/{world.buyer.id}", headers=zh).text
    assert "发放密钥" in detail and "联盟成员资格" in detail
    alliance = client.get("/ui/alliances/CN100", headers=zh).text
    assert "授予成员资格" in alliance and "暂停成员资格" in alliance and "有效" in alliance
    assert "Pending Steel（供应方，待审核）" in alliance
    duplicate = post_form(
        client, "/ui/alliances", {"code": "CN100", "name": "x"}, page="/ui/alliances", headers=zh
    )
    assert duplicate.status_code == 409
    assert "<strong>未保存。</strong> 与已有内容冲突 · 联盟代码“CN100”已存在" in duplicate.text


def test_the_operator_issues_a_pact_client_whose_credentials_get_a_token(
    client: TestClient, world: World
) -> None:
    sign_in(client, world.operator.key)
    page = f"/ui/organisations/{world.buyer.id}"
    issued = post_form(client, f"{page}/pact-clients", {"label": "ERP"}, page=page)
    assert issued.status_code == 201
    client_id = re.search(r'data-testid="pact-client-id">([^<]+)<', issued.text)
    secret = re.search(r'data-testid="pact-client-secret">([^<]+)<', issued.text)
    assert client_id and secret
    token = client.post(
        "/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id.group(1), secret.group(1))
    )
    assert token.status_code == 200
    assert secret.group(1) not in client.get(page).text  # shown once
    row = re.search(r'action="(/ui/organisations/\d+/pact-clients/\d+/revoke)"', client.get(page).text)
    assert row
    post_form(client, row.group(1), {}, page=page)
    again = client.post(
        "/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id.group(1), secret.group(1))
    )
    assert again.status_code == 401


def test_the_organisation_page_title_is_its_name(client: TestClient, world: World) -> None:
    sign_in(client, world.operator.key)
    page = client.get(f"/ui/organisations/{world.buyer.id}").text
    assert re.search(r"<title>([^<]*)</title>", page).group(1) == "Rail Buyer · Matchmaker"  # type: ignore[union-attr]


def test_the_operator_finds_an_organisation_by_part_of_its_name(client: TestClient, world: World) -> None:
    as_operator(client, world)
    found = client.get("/ui/organisations", params={"q": world.other_vendor.organisation.name[3:9].lower()})
    names = re.findall(r'<td><a href="/ui/organisations/\d+" translate="no">([^<]+)</a></td>', found.text)
    assert names == [world.other_vendor.organisation.name]
    wildcard = client.get("/ui/organisations", params={"q": "%"})  # a name with no % in it is not found
    assert 'data-testid="organisations"' not in wildcard.text


def test_the_membership_picker_offers_only_suppliers_not_yet_members(
    client: TestClient, world: World, session: Session
) -> None:
    as_operator(client, world)
    page = client.get(f"/ui/alliances/{world.alliance.code}").text
    picker = page.split('id="f-organisation_id"', 1)[1].split("</select>", 1)[0]
    offered = set(re.findall(r'<option value="(\d+)"', picker))
    suppliers = {
        str(o.id) for o in session.query(Organisation).filter(Organisation.kind.in_(["vendor", "both"]))
    }
    members = {
        str(m.organisation_id)
        for m in session.query(Membership).filter(Membership.alliance_id == world.alliance.id)
    }
    assert offered == suppliers - members
    assert str(world.buyer.id) not in offered and str(world.member_vendor.id) not in offered
