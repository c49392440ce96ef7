"""After the match, in a real browser, once with the buyer in Chinese (the supplier and the operator in
English) and once the other way round: the buyer opens a matched offer, shortlists it beside another,
compares them, exports the shortlist and asks the supplier; the supplier quotes; the buyer closes the
inquiry as won; the operator sees it among the inquiries and in the metrics. Screenshots of each step go to
test-artifacts."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from matchmaker.shortlists.export import HEADER_ROW
from matchmaker.web.i18n import Translator
from tests.browser.conftest import Server
from tests.browser.test_journeys import HAMI, NEED_ZH, post_need, shot, sign_in, wait

# The demo vendor key's own offer, which fits the green-hydrogen need.
OWN_OFFER = "风光耦合碱性电解绿氢"
OTHER = {"zh": "en", "en": "zh"}


def _card_link(driver: Any, title: str) -> Any:
    card = next(c for c in driver.find_elements(By.CSS_SELECTOR, "[data-testid=match]") if title in c.text)
    return card.find_element(By.CSS_SELECTOR, "[data-testid=offer-link]")


def _click(driver: Any, selector: str) -> None:
    wait(driver, 20).until(EC.element_to_be_clickable((By.CSS_SELECTOR, selector))).click()


def _choose_language(driver: Any, code: str) -> None:
    _click(driver, f"[data-testid=language-{code}]")
    wanted = "zh-CN" if code == "zh" else "en"
    wait(driver, 20).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == wanted)


def _status(driver: Any) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, "[data-testid=inquiry-status]").text)


@pytest.mark.parametrize("buyer_language", ["zh", "en"])
def test_shortlist_compare_export_inquire_quote_and_win(
    server: Server, browser: Any, buyer_language: str
) -> None:
    driver, lang, other = browser, buyer_language, OTHER[buyer_language]
    t, t_other = Translator(lang), Translator(other)  # type: ignore[arg-type]
    sign_in(driver, server, "buyer")
    _choose_language(driver, lang)
    post_need(driver, server, text=NEED_ZH, ceiling="2", unit="kgCO2e/kg")
    need_url = driver.current_url.split("?")[0]

    # The match card opens the offer's page, which says where it stands for this need.
    _card_link(driver, HAMI).click()
    wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=need-match]")))
    assert t("offer_page.for_need") in driver.page_source and t("offer_page.supplier") in driver.page_source
    shot(driver, f"after-offer-page-{lang}")
    _click(driver, "[data-testid=shortlist]")
    wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=unshortlist]")))
    driver.get(need_url)
    _card_link(driver, OWN_OFFER).click()
    _click(driver, "[data-testid=shortlist]")
    wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=unshortlist]")))

    # The shortlist, then the two side by side, drawn against the ceiling.
    driver.get(f"{need_url}/shortlist")
    assert len(driver.find_elements(By.CSS_SELECTOR, "[data-testid=shortlisted]")) == 2
    shot(driver, f"after-shortlist-{lang}")
    _click(driver, "[data-testid=compare]")
    wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=chart]")))
    assert len(driver.find_elements(By.CSS_SELECTOR, "[data-testid=bar]")) == 2
    assert driver.find_elements(By.CSS_SELECTOR, "[data-testid=ceiling-line]")
    assert t("compare.title") in driver.page_source
    shot(driver, f"after-compare-{lang}")

    # The export, fetched with the browser's own session: headings in the page's language, the need's unit.
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
    exported = httpx.get(f"{need_url}/shortlist/export?format=xlsx", cookies=cookies, timeout=30)
    sheet = load_workbook(io.BytesIO(exported.content)).active
    header = [cell.value for cell in sheet[HEADER_ROW]]
    assert ("碳足迹（kgCO2e/kg）" if lang == "zh" else "Footprint (kgCO2e/kg)") in header
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
    assert t("inquiry.status.pending") in _status(driver)
    shot(driver, f"after-inquiry-sent-{lang}")

    # The supplier, in the other language, finds it in its inbox and quotes.
    sign_in(driver, server, "vendor")
    _choose_language(driver, other)
    _click(driver, "[data-testid=nav-inquiries]")
    wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=inquiry]")))
    shot(driver, f"after-vendor-inbox-{other}")
    driver.get(thread_url)
    quote = driver.find_element(By.CSS_SELECTOR, "[data-testid=step-quote]")
    assert quote.get_attribute("open") is not None  # the step that moves it on is the one open
    quote.find_element(By.ID, "f-price").send_keys("28")
    quote.find_element(By.ID, "f-lead_time_days").send_keys("30")
    quote.find_element(By.ID, "f-pcf_value").send_keys("0.9")
    quote.find_element(By.ID, "f-pcf_unit").send_keys("kgCO2e/kg")
    quote.find_element(By.CSS_SELECTOR, "[data-testid=submit-quote]").click()
    wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=quote]")))
    assert t_other("inquiry.status.answered") in _status(driver)
    shot(driver, f"after-vendor-quoted-{other}")

    # The buyer closes it as won.
    sign_in(driver, server, "buyer")
    _choose_language(driver, lang)
    driver.get(thread_url)
    close = driver.find_element(By.CSS_SELECTOR, "[data-testid=step-close]")
    assert close.get_attribute("open") is not None
    close.find_element(By.CSS_SELECTOR, "input[value=won]").click()
    close.find_element(By.CSS_SELECTOR, "[data-testid=submit-close]").click()
    wait(driver, 20).until(lambda d: t("inquiry.outcome.won") in _status(d))
    shot(driver, f"after-won-{lang}")

    # The operator sees it, closed and won, among all inquiries and in the metrics (its need's row).
    sign_in(driver, server, "operator")
    _choose_language(driver, other)
    _click(driver, "[data-testid=nav-inquiries]")
    rows = wait(driver, 20).until(
        EC.presence_of_all_elements_located((By.CSS_SELECTOR, "[data-testid=inquiry]"))
    )
    assert any(OWN_OFFER in row.text and t_other("inquiry.outcome.won") in row.text for row in rows)
    shot(driver, f"after-operator-inbox-{other}")
    _click(driver, "[data-testid=nav-metrics]")
    wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=funnel]")))
    need_id = need_url.rsplit("/", 1)[1]
    row = driver.find_element(
        By.XPATH, f"//table[@data-testid='need-metrics']//tr[.//a[text()='#{need_id}']]"
    )
    assert "1 / 1 / 1" in row.text  # inquiries / quotes / won
    shot(driver, f"after-operator-metrics-{other}")
