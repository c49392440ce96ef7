"""Every page of each role, at a desktop's 1366 px and a phone's 390 px, in both languages: nothing is wider
than the window, no heading, badge, button or menu item breaks over lines (a Chinese word one character a
line), every form control has a label and every id is used once. On a phone the results come before the
filters, which are folded. Screenshots of each land in test-artifacts."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from tests.browser.conftest import Server
from tests.browser.test_journeys import shot, sign_in, wait

WIDTHS = {"desktop": 1366, "phone": 390}
# The pages of each role, by path; "first:<selector>" follows the first link the previous page matches.
PAGES = {
    "buyer": ["/ui/needs", "first:table.list td a[href^='/ui/needs/']", "/ui/needs/new", "/ui/search?q=绿氢",
              "/ui/inquiries", "/ui/alerts"],
    "vendor": ["/ui/offers", "first:table.list td a[href^='/ui/offers/']", "/ui/offers/new",
               "/ui/offers/upload", "/ui/find-needs?q=hydrogen", "/ui/inquiries", "/ui/alerts"],
    "operator": ["/ui/organisations", "first:table.list td a[href^='/ui/organisations/']", "/ui/alliances",
                 "/ui/metrics", "/ui/inquiries"],
}  # fmt: skip
# Form controls without a label: their ids (or names), for the message.
UNLABELLED = """
return [...document.querySelectorAll('input, select, textarea')]
  .filter(e => !['hidden', 'submit', 'button'].includes(e.type) && e.offsetParent !== null)
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
               && !e.getAttribute('aria-labelledby') && !e.title)
  .map(e => e.id || e.name || e.outerHTML.slice(0, 80));
"""
# Elements sticking out past the window's right edge: what a phone would have to scroll sideways for.
TOO_WIDE = """
const width = window.innerWidth;
return [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > width + 1 && e.offsetParent !== null)
  .filter(e => !e.closest('.table-scroll, table.list, .scroll-x'))
  .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + ' '
                        + Math.round(e.getBoundingClientRect().right) + 'px');
"""

# Headings, badges, buttons and menu items whose text runs over more than one line.
WRAPPED = """
return [...document.querySelectorAll('table.list th, .badge, button, .button, header nav a')]
  .filter(e => e.offsetParent !== null && e.textContent.trim())
  .filter(e => { const range = document.createRange(); range.selectNodeContents(e);
                 return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 1; })
  .slice(0, 5).map(e => e.textContent.trim().slice(0, 30));
"""
DUPLICATE_IDS = """
const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
return [...new Set(ids.filter((id, at) => ids.indexOf(id) !== at))];
"""

# English words on a Chinese page, outside what users wrote (marked translate="no": names, titles, texts),
# English content (lang="en") and codes. Units, standards and codes every Chinese user reads as they are are
# allowed.
ENGLISH_WORDS = """
const allowed = new Set(arguments[0]);
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const found = new Set();
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const parent = node.parentElement;
  if (!parent || parent.closest('[translate=no], [lang^=en], code, pre, kbd, script, style, datalist, option')
      || parent.offsetParent === null) continue;
  for (const word of node.textContent.match(/[A-Za-z][A-Za-z0-9_-]{2,}/g) || []) {
    // Codes and acronyms (CN100, ISO, HRB400E, YRD-LCA) are names, not English.
    if (!allowed.has(word) && !/^[A-Z0-9][A-Z0-9-]+$/.test(word)) found.add(word);
  }
}
return [...found].slice(0, 12);
"""
ALLOWED_WORDS = [
    # Units and product names every Chinese reader reads as they are.
    "kgCO2e", "tCO2e", "gCO2e", "CO2e", "kWh", "MWh", "kWp", "unit", "Matchmaker", "English",
    # Formats, fields and paths, as a file or an API spells them.
    "JSON", "Lines", "csv", "WebP", "UTF-8", "supplier", "certifications", "pcf_verified", "true", "false",
    "footprints", "events", "https", "Webhook", "OAuth", "Excel", "xlsx", "category", "declared_unit",
    "pcf_unit",
]  # fmt: skip


def _at_width(driver: Any, width: int) -> None:
    """The viewport of a phone (mobile, its viewport meta obeyed) or of a desktop window."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {
            "width": width,
            "height": 844 if width < 600 else 900,
            "deviceScaleFactor": 1,
            "mobile": width < 600,
        },
    )


def _in_language(driver: Any, language: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f"[data-testid=language-{language}]").click()
    wanted = "zh-CN" if language == "zh" else "en"
    wait(driver, 20).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == wanted)


@pytest.mark.parametrize("device", WIDTHS)
@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("role", PAGES)
def test_no_page_is_wider_than_the_window_and_every_control_is_labelled(
    server: Server, browser: Any, role: str, language: str, device: str
) -> None:
    driver = browser
    _at_width(driver, WIDTHS[device])
    sign_in(driver, server, role)
    _in_language(driver, language)
    problems: list[str] = []
    for number, page in enumerate(PAGES[role]):
        if page.startswith("first:"):
            links = driver.find_elements(By.CSS_SELECTOR, page.removeprefix("first:"))
            if not links:
                problems.append(f"no link {page} on {driver.current_url}")
                continue
            driver.get(links[0].get_attribute("href"))
        else:
            driver.get(server.url + page)
        wait(driver, 30).until(EC.presence_of_element_located((By.ID, "main")))
        path = driver.current_url.removeprefix(server.url)
        shot(driver, f"layout-{role}-{language}-{device}-{number}")
        scroll_width, inner_width = driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]"
        )
        if scroll_width > inner_width:
            problems.append(
                f"{path}: {scroll_width} px wide in {inner_width}: {driver.execute_script(TOO_WIDE)}"
            )
        for script, what in ((UNLABELLED, "controls without a label"), (WRAPPED, "text broken over lines"),
                             (DUPLICATE_IDS, "ids used twice")):  # fmt: skip
            found = driver.execute_script(script)
            if found:
                problems.append(f"{path}: {what}: {found}")
        if language == "zh":
            english = driver.execute_script(ENGLISH_WORDS, ALLOWED_WORDS)
            if english:
                problems.append(f"{path}: English on a Chinese page: {english}")
        if device == "phone" and driver.find_elements(By.CSS_SELECTOR, "aside.filters"):
            results_first = driver.execute_script(
                "return document.querySelector('#results').getBoundingClientRect().top"
                " < document.querySelector('aside.filters').getBoundingClientRect().top"
                " && !document.querySelector('aside.filters details').open"
            )
            if not results_first:
                problems.append(f"{path}: the filters come before the results, or are not folded")
    assert not problems, "\n".join(problems)


# Every page a role can reach, found by following the links of its pages; pages of one shape (an offer's
# page, another offer's page) are visited once. Downloads and the sign-out are not pages.
NOT_PAGES = ("/ui/static/", "/ui/sign-out", "/export", "template.", ".csv", "/licence", "/ui/language")
MAX_PAGES = 45
# A page that is not there, visited on purpose: its error page must speak Chinese too.
MISSING = "/ui/offers/999999"
LINKS = "return [...document.querySelectorAll('a[href^=\"/ui\"]')].map(a => a.getAttribute('href'));"
# Bullets drawn beside cards or beside a near miss's ✗ lines (they had both); and space above the filter
# panel's heading beyond its padding (it had a heading's margin).
BULLETED_CARDS = """
return [...document.querySelectorAll('.cards > li, .card.miss li')]
  .filter(e => getComputedStyle(e).display === 'list-item' && getComputedStyle(e).listStyleType !== 'none')
  .length;
"""
FILTER_PANEL_GAP = """
const panel = document.querySelector('aside.filters');
if (!panel) return 0;
return panel.querySelector('h2').getBoundingClientRect().top - panel.getBoundingClientRect().top;
"""


def _shape(href: str) -> str:
    """/ui/offers/12?page=2 -> /ui/offers/N?page: one visit for every page built by one template."""
    path, _, query = href.partition("#")[0].partition("?")
    keys = sorted(part.split("=")[0] for part in query.split("&") if part)
    return re.sub(r"/\d+", "/N", path) + ("?" + "&".join(keys) if keys else "")


def _with_something_after_the_match(server: Server) -> dict[str, list[str]]:
    """A shortlist, an inquiry with a reply and a pending applicant, so that their pages exist; the pages
    of each role that no link leads to (a comparison is a form's answer; a page that is not there)."""
    buyer = {"Authorization": f"Bearer {server.keys['buyer']}"}
    vendor = {"Authorization": f"Bearer {server.keys['vendor']}"}
    operator = {"Authorization": f"Bearer {server.keys['operator']}"}
    with httpx.Client(base_url=server.url, timeout=60) as api:
        need = api.get("/needs?per_page=1", headers=buyer).json()["items"][0]["id"]
        own = api.get("/organisations/me", headers=vendor).json()["id"]
        offer = api.get(f"/offers?per_page=1&status=published&owner_id={own}", headers=vendor).json()
        listed = offer["items"][0]
        offer = listed["id"]
        # A tenth of its own footprint, as another listing: held for the operator's plausibility review.
        tenth = {
            key: listed[key]
            for key in ("title", "description", "kind", "category", "pcf_unit", "declared_unit")
        }
        tenth.update(pcf_value=listed["pcf_value"] / 10, status="published")
        held = api.post("/offers", json=tenth, headers=vendor)
        held.raise_for_status()
        assert held.json()["status"] == "held", held.json()
        api.put(f"/needs/{need}/shortlist/{offer}", json={}, headers=buyer).raise_for_status()
        body = {"offer_id": offer, "need_id": need, "message": "请报500吨的价格与交货期"}
        inquiry = api.post("/inquiries", json=body, headers=buyer).json()["id"]
        reply = {"kind": "message", "body": "价格随量而定，请告知交货地点。"}
        api.post(f"/inquiries/{inquiry}/messages", json=reply, headers=vendor).raise_for_status()
        applicant = api.post(
            "/organisations", json={"name": "被驳回的申请方", "kind": "vendor"}, headers=operator
        )
        applicant.raise_for_status()
        applicant_id = applicant.json()["id"]
        key = api.post(f"/organisations/{applicant_id}/keys", json={"role": "vendor"}, headers=operator)
        reason = {"admission_status": "rejected", "admission_reason": "请上传营业执照。"}
        api.patch(f"/organisations/{applicant_id}", json=reason, headers=operator).raise_for_status()
    server.keys["applicant"] = key.json()["key"]
    return {
        # A ceiling nothing meets: the page of near misses.
        "buyer": [
            f"/ui/needs/{need}/compare?offer={offer}",
            f"/ui/inquiries/{inquiry}",
            MISSING,
            "/ui/search?q=绿氢&max_pcf=0.001&max_pcf_unit=kgCO2e/kg",
        ],
        "vendor": [f"/ui/inquiries/{inquiry}", MISSING],
        "operator": [f"/ui/organisations/{applicant_id}", MISSING],
        "applicant": [],
    }


def test_every_page_of_every_role_speaks_chinese_and_fits_a_phone(server: Server, browser: Any) -> None:
    driver = browser
    unlinked = _with_something_after_the_match(server)
    _at_width(driver, WIDTHS["phone"])
    problems: list[str] = []
    visited: dict[str, list[str]] = {}
    near_misses = 0
    for role in (*PAGES, "applicant"):  # the applicant: a rejected vendor, told why on every page
        sign_in(driver, server, role)
        _in_language(driver, "zh")
        queue = [page for page in PAGES.get(role, PAGES["vendor"]) if not page.startswith("first:")]
        queue += unlinked[role]
        queue.append("/ui/organisation")
        seen: set[str] = set()
        while queue and len(visited.setdefault(role, [])) < MAX_PAGES:
            href = queue.pop(0)
            if _shape(href) in seen or any(part in href for part in NOT_PAGES):
                continue
            seen.add(_shape(href))
            driver.get(server.url + href)
            wait(driver, 30).until(EC.presence_of_element_located((By.ID, "main")))
            visited[role].append(href)
            if href != MISSING and driver.find_elements(By.CSS_SELECTOR, "[data-testid=error-detail]"):
                problems.append(
                    f"{role} {href}: an error page: {driver.find_element(By.TAG_NAME, 'h1').text}"
                )
            near_misses += len(driver.find_elements(By.CSS_SELECTOR, ".card.miss"))
            if driver.execute_script(BULLETED_CARDS):
                problems.append(f"{role} {href}: cards with bullets beside them")
            if driver.execute_script(FILTER_PANEL_GAP) > 20:
                problems.append(f"{role} {href}: empty space at the top of the filter panel")
            told = driver.find_elements(By.CSS_SELECTOR, "[data-testid=admission-notice]")
            if role == "applicant" and not told:
                problems.append(f"{role} {href}: no word of the rejection")
            shot(driver, f"every-page-{role}-{len(visited[role]):02}")
            english = driver.execute_script(ENGLISH_WORDS, ALLOWED_WORDS)
            if english:
                problems.append(f"{role} {href}: English on a Chinese page: {english}")
            scroll_width, inner_width = driver.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]"
            )
            if scroll_width > inner_width:
                problems.append(f"{role} {href}: {scroll_width} px wide: {driver.execute_script(TOO_WIDE)}")
            for script, what in ((UNLABELLED, "controls without a label"), (DUPLICATE_IDS, "ids used twice")):
                found = driver.execute_script(script)
                if found:
                    problems.append(f"{role} {href}: {what}: {found}")
            queue += [link for link in driver.execute_script(LINKS) if _shape(link) not in seen]
    # The pages after the match are among them, so the crawl did reach past the lists.
    shapes = {_shape(href) for hrefs in visited.values() for href in hrefs}
    for expected in ("/ui/needs/N/shortlist", "/ui/needs/N/compare?offer", "/ui/inquiries/N", "/ui/offers/N",
                     "/ui/organisations/N", "/ui/organisation", "/ui/plausibility"):  # fmt: skip
        assert expected in shapes, f"never reached {expected}: {sorted(shapes)}"
    assert near_misses, "no page of near misses was reached"
    assert not problems, "\n".join(problems)
