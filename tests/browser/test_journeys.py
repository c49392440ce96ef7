"""End-to-end journeys in a real browser against a real server (see conftest.py)."""

from __future__ import annotations

from typing import Any

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.browser.conftest import SCREENSHOTS, Server

HAMI = "Solar-powered PEM electrolytic hydrogen, Hami"
NEED_ZH = "为氢基竖炉采购绿氢，碳足迹不高于2 kgCO2e/kg，需第三方核查"


def sign_in(driver: Any, server: Server, role: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{server.url}/ui/sign-in")
    driver.find_element(By.ID, "f-key").send_keys(server.keys[role])
    driver.find_element(By.CSS_SELECTOR, "form[action='/ui/sign-in'] button[type=submit]").click()
    wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=signed-in-as]")))


def wait(driver: Any, seconds: float) -> WebDriverWait[Any]:
    """A wait that looks again when the page changed under it (the list is replaced in place, pages load).

    Reading an element while its page unloads fails in more ways than stale references: chromium also
    answers "Node with given id does not belong to the document" as a bare WebDriverException. Those
    are all retried; a real failure still ends in the wait's timeout.
    """
    return WebDriverWait(driver, seconds, ignored_exceptions=(WebDriverException,))


def match_titles(driver: Any) -> list[str]:
    return [h.text for h in driver.find_elements(By.CSS_SELECTOR, "[data-testid=match] h3")]


def near_misses(driver: Any) -> str:
    return " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, "[data-testid=near-miss]"))


def shot(driver: Any, name: str) -> None:
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def post_need(driver: Any, server: Server, *, text: str, ceiling: str, unit: str) -> None:
    driver.get(f"{server.url}/ui/needs/new")
    driver.find_element(By.ID, "f-text").send_keys(text)
    Select(driver.find_element(By.ID, "f-category")).select_by_value("hydrogen")
    driver.find_element(By.ID, "f-max_pcf").send_keys(ceiling)
    driver.find_element(By.ID, "f-max_pcf_unit").send_keys(unit)
    driver.find_element(By.ID, "f-require_verified").click()
    driver.find_element(By.CSS_SELECTOR, "[data-testid=save-need]").click()
    wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=results]")))


def test_a_buyer_posts_a_chinese_need_sees_an_english_offer_tightens_the_ceiling_and_switches_language(
    server: Server, browser: Any
) -> None:
    driver = browser
    sign_in(driver, server, "buyer")
    post_need(driver, server, text=NEED_ZH, ceiling="2", unit="kgCO2e/kg")
    shot(driver, "buyer-matches")
    assert HAMI in " ".join(match_titles(driver))
    card = next(c for c in driver.find_elements(By.CSS_SELECTOR, "[data-testid=match]") if HAMI in c.text)
    assert "1.3 kgCO2e/kg against a ceiling of 2" in card.text
    assert "verified (vouched for by the platform operator)" in card.text  # imported by the operator
    bar = card.find_element(By.CSS_SELECTOR, ".bar > span")
    assert bar.get_attribute("style").replace(" ", "") == "width:65%;"

    # Tighten the ceiling in the filter panel: the list updates in place and the offer goes.
    ceiling = driver.find_element(By.CSS_SELECTOR, "[data-testid=refine] #f-max_pcf")
    ceiling.clear()
    ceiling.send_keys("1")
    unit = driver.find_element(By.CSS_SELECTOR, "[data-testid=refine] #f-max_pcf_unit")
    unit.clear()
    unit.send_keys("kgCO2e/kg")
    driver.find_element(By.CSS_SELECTOR, "[data-testid=apply-filters]").click()
    wait(driver, 30).until(lambda d: HAMI in near_misses(d))
    assert HAMI not in " ".join(match_titles(driver))
    assert match_titles(driver), "the offer under 1 kgCO2e/kg still matches"
    assert "Footprint ceiling" in near_misses(driver)
    assert "max_pcf=1" in driver.current_url  # the refined view can be bookmarked
    shot(driver, "buyer-tightened")

    # Switch to Chinese: the same page, now in Chinese, with the same refinement.
    driver.find_element(By.CSS_SELECTOR, "[data-testid=language-zh]").click()
    wait(driver, 20).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN")
    assert "需求匹配结果" in driver.page_source
    assert HAMI not in " ".join(match_titles(driver))
    shot(driver, "buyer-chinese")
    driver.find_element(By.CSS_SELECTOR, "[data-testid=language-en]").click()


def test_an_offer_a_vendor_publishes_appears_for_the_buyer(server: Server, browser: Any) -> None:
    driver = browser
    title = "Offshore-wind PEM green hydrogen, Rudong"
    sign_in(driver, server, "vendor")
    driver.get(f"{server.url}/ui/offers/new")
    driver.find_element(By.ID, "f-title").send_keys(title)
    driver.find_element(By.ID, "f-description").send_keys(
        "Green hydrogen from PEM electrolysers on offshore wind power, delivered by tube trailer. "
        "Third-party verified footprint 0.7 kgCO2e/kg."
    )
    Select(driver.find_element(By.ID, "f-category")).select_by_value("hydrogen")
    driver.find_element(By.ID, "f-pcf_value").send_keys("0.7")
    unit = driver.find_element(By.ID, "f-pcf_unit")
    unit.send_keys("kgCO2e/furlong")
    # The unit is checked as it is typed.
    wait(driver, 10).until(
        lambda d: d.find_element(By.ID, "f-pcf_unit").get_attribute("aria-invalid") == "true"
    )
    shot(driver, "vendor-bad-unit")
    unit.clear()
    unit.send_keys("kgCO2e/kg")
    wait(driver, 10).until(
        lambda d: d.find_element(By.ID, "f-pcf_unit").get_attribute("aria-invalid") != "true"
    )
    driver.find_element(By.ID, "f-pcf_verified").click()
    driver.find_element(By.ID, "f-region").send_keys("Jiangsu")
    driver.find_element(By.CSS_SELECTOR, "form[data-busy] button[type=submit].primary").click()
    wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=publish]")))
    driver.find_element(By.CSS_SELECTOR, "[data-testid=publish]").click()
    wait(driver, 20).until(
        lambda d: "published" in d.find_element(By.CSS_SELECTOR, "[data-testid=offer-status]").text
    )
    shot(driver, "vendor-published")

    sign_in(driver, server, "buyer")
    driver.get(f"{server.url}/ui/search?q=" + "海上风电制绿氢")
    wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=results]")))
    assert title in " ".join(match_titles(driver))
    shot(driver, "buyer-sees-new-offer")


def test_the_operator_registers_a_supplier_and_issues_a_key_that_signs_in(
    server: Server, browser: Any
) -> None:
    driver = browser
    sign_in(driver, server, "operator")
    driver.get(f"{server.url}/ui/organisations")
    driver.find_element(By.ID, "f-name").send_keys("宁波绿钢科技有限公司")
    Select(driver.find_element(By.ID, "f-kind")).select_by_value("vendor")
    driver.find_element(By.ID, "f-name").submit()
    wait(driver, 20).until(EC.presence_of_element_located((By.ID, "f-role")))
    Select(driver.find_element(By.ID, "f-role")).select_by_value("vendor")
    driver.find_element(By.ID, "f-label").send_keys("browser test")
    driver.find_element(By.ID, "f-label").submit()
    plaintext = (
        wait(driver, 20)
        .until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=new-key-plaintext]")))
        .text
    )
    shot(driver, "operator-key-issued")
    assert plaintext.startswith("mm_")
    assert driver.find_element(
        By.CSS_SELECTOR, "[data-testid=copy-key]"
    ).is_displayed()  # shown once: copy it

    driver.delete_all_cookies()
    sign_in(driver, Server(url=server.url, keys={"new": plaintext}), "new")
    assert "宁波绿钢科技有限公司" in driver.find_element(By.CSS_SELECTOR, "[data-testid=signed-in-as]").text
    assert driver.current_url.endswith("/ui/offers")


def test_the_api_documentation_renders_without_leaving_the_host(server: Server, browser: Any) -> None:
    driver = browser
    driver.get(f"{server.url}/docs")
    title = wait(driver, 30).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, ".swagger-ui .info .title"))
    )
    assert "Matchmaker" in title.text
    wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".opblock-tag")))
    loaded = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(name.startswith(server.url) for name in loaded), loaded
    shot(driver, "api-docs-offline")
