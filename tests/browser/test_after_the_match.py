"""After the match, in a real browser: a buyer (in Chinese) opens a matched offer, shortlists it beside
another, compares them, exports the shortlist and asks the supplier; the supplier (in English) quotes; the
buyer closes the inquiry as won; the operator sees it, in the metrics too. Screenshots of each step go to
test-artifacts."""

from __future__ import annotations

import io
from typing import Any

import httpx
from openpyxl import load_workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from matchmaker.shortlists.export import HEADER_ROW
from tests.browser.conftest import Server
from tests.browser.test_journeys import HAMI, NEED_ZH, post_need, shot, sign_in, wait

# The demo vendor key's own offer, which fits the green-hydrogen need.
OWN_OFFER = "风光耦合碱性电解绿氢"


def _card_link(driver: Any, title: str) -> Any:
    card = next(c for c in driver.find_elements(By.CSS_SELECTOR, "[data-testid=match]") if title in c.text)
    return card.find_element(By.CSS_SELECTOR, "[data-testid=offer-link]")


def _click(driver: Any, selector: str) -> None:
    wait(driver, 20).until(EC.element_to_be_clickable((By.CSS_SELECTOR, selector))).click()


def _choose_language(driver: Any, code: str) -> None:
    _click(driver, f"[data-testid=language-{code}]")
    wanted = "zh-CN" if code == "zh" else "en"
    wait(driver, 20).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == wanted)


def test_shortlist_compare_export_inquire_quote_and_win(server: Server, browser: Any) -> None:
    driver = browser
    sign_in(driver, server, "buyer")
    _choose_language(driver, "zh")
    post_need(driver, server, text=NEED_ZH, ceiling="2", unit="kgCO2e/kg")
    need_url = driver.current_url.split("?")[0]

    # The match card opens the offer's page, which says where it stands for this need.
    _card_link(driver, HAMI).click()
    wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=need-match]")))
    assert "针对您的需求" in driver.page_source and "供应商" in driver.page_source
    shot(driver, "after-offer-page-zh")
    _click(driver, "[data-testid=shortlist]")
    wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=unshortlist]")))
    driver.get(need_url)
    _card_link(driver, OWN_OFFER).click()
    _click(driver, "[data-testid=shortlist]")
    wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=unshortlist]")))

    # The shortlist, then the two side by side, drawn against the ceiling.
    driver.get(f"{need_url}/shortlist")
    assert len(driver.find_elements(By.CSS_SELECTOR, "[data-testid=shortlisted]")) == 2
    shot(driver, "after-shortlist-zh")
    _click(driver, "[data-testid=compare]")
    wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=chart]")))
    assert len(driver.find_elements(By.CSS_SELECTOR, "[data-testid=bar]")) == 2
    assert driver.find_elements(By.CSS_SELECTOR, "[data-testid=ceiling-line]")
    shot(driver, "after-compare-zh")

    # The export, fetched with the browser's own session: Chinese headings, the need's unit.
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
    exported = httpx.get(f"{need_url}/shortlist/export?format=xlsx", cookies=cookies, timeout=30)
    sheet = load_workbook(io.BytesIO(exported.content)).active
    header = [cell.value for cell in sheet[HEADER_ROW]]
    assert "碳足迹（kgCO2e/kg）" in header
    assert sheet.max_row == HEADER_ROW + 2

    # Ask the supplier about its offer.
    driver.get(need_url)
    _card_link(driver, OWN_OFFER).click()
    _click(driver, "[data-testid=ask-supplier]")
    driver.find_element(By.ID, "f-message").send_keys("请报2027年一季度500吨的价格与交货期")
    driver.find_element(By.ID, "f-quantity").send_keys("500")
    driver.find_element(By.ID, "f-quantity_unit").send_keys("t")
    _click(driver, "[data-testid=send-inquiry]")
    wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=thread]")))
    thread_url = driver.current_url.split("#")[0]
    assert "待回复" in driver.find_element(By.CSS_SELECTOR, "[data-testid=inquiry-status]").text
    shot(driver, "after-inquiry-sent-zh")

    # The supplier, in English, finds it in its inbox and quotes.
    sign_in(driver, server, "vendor")
    _choose_language(driver, "en")
    _click(driver, "[data-testid=nav-inquiries]")
    wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=inquiry]")))
    shot(driver, "after-vendor-inbox-en")
    driver.get(thread_url)
    quote = driver.find_element(By.CSS_SELECTOR, "[data-testid=step-quote]")
    assert quote.get_attribute("open") is not None  # the step that moves it on is the one open
    quote.find_element(By.ID, "f-price").send_keys("28")
    quote.find_element(By.ID, "f-lead_time_days").send_keys("30")
    quote.find_element(By.ID, "f-pcf_value").send_keys("0.9")
    quote.find_element(By.ID, "f-pcf_unit").send_keys("kgCO2e/kg")
    quote.find_element(By.CSS_SELECTOR, "[data-testid=submit-quote]").click()
    wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=quote]")))
    assert "Answered" in driver.find_element(By.CSS_SELECTOR, "[data-testid=inquiry-status]").text
    shot(driver, "after-vendor-quoted-en")

    # The buyer closes it as won.
    sign_in(driver, server, "buyer")
    _choose_language(driver, "zh")
    driver.get(thread_url)
    close = driver.find_element(By.CSS_SELECTOR, "[data-testid=step-close]")
    assert close.get_attribute("open") is not None
    close.find_element(By.CSS_SELECTOR, "input[value=won]").click()
    close.find_element(By.CSS_SELECTOR, "[data-testid=submit-close]").click()
    wait(driver, 20).until(
        lambda d: "成交" in d.find_element(By.CSS_SELECTOR, "[data-testid=inquiry-status]").text
    )
    shot(driver, "after-won-zh")

    # The operator sees it, closed and won, among all inquiries and in the metrics.
    sign_in(driver, server, "operator")
    _click(driver, "[data-testid=nav-inquiries]")
    rows = wait(driver, 20).until(
        EC.presence_of_all_elements_located((By.CSS_SELECTOR, "[data-testid=inquiry]"))
    )
    assert any(OWN_OFFER in row.text and ("won" in row.text or "成交" in row.text) for row in rows)
    shot(driver, "after-operator-inbox")
    _click(driver, "[data-testid=nav-metrics]")
    funnel = wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=funnel]")))
    assert "1 sent → 1 quoted → 1 won" in funnel.text
    shot(driver, "after-operator-metrics-en")
