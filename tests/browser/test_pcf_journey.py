"""PCF accounting in a real browser: the vendor builds a bill of materials on its offer's page, a unit that
does not fit its line is flagged as it is typed, a line is added, the footprint is previewed and saved, and
a buyer reads it as calculated and not verified. Screenshots of each step go to test-artifacts."""

from __future__ import annotations

from typing import Any

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from tests.browser.conftest import Server
from tests.browser.test_after_the_match import _choose_language, _click
from tests.browser.test_journeys import shot, sign_in, wait

OFFER = {
    "title": "短流程电炉钢坯",
    "description": "废钢电弧炉冶炼的钢坯。",
    "kind": "product",
    "category": "steel",
    "region": "江苏",
    "status": "published",
}


def _fill(row: Any, name: str, value: str) -> None:
    field = row.find_element(By.CSS_SELECTOR, f"[name$='-{name}']")
    field.clear()
    field.send_keys(value)


def test_vendor_builds_a_bill_sees_units_checked_saves_and_a_buyer_reads_calculated(
    server: Server, browser: Any
) -> None:
    driver = browser
    vendor = {"Authorization": f"Bearer {server.keys['vendor']}"}
    created = httpx.post(f"{server.url}/offers", json=OFFER, headers=vendor, timeout=60)
    assert created.status_code == 201, created.text
    offer_id = created.json()["id"]

    sign_in(driver, server, "vendor")
    _choose_language(driver, "zh")
    driver.get(f"{server.url}/ui/offers/{offer_id}")
    _click(driver, "[data-testid=calculate-footprint]")
    wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=bom-form]")))
    output = driver.find_element(By.ID, "f-output_amount")
    output.clear()
    output.send_keys("2")
    rows = driver.find_elements(By.CSS_SELECTOR, "[data-bom-line]")
    first = rows[0]
    Select(first.find_element(By.CSS_SELECTOR, "select")).select_by_value("electricity")
    _fill(first, "ref", "cn.east")
    _fill(first, "year", "2023")
    _fill(first, "amount", "1000")
    _fill(first, "unit", "kg")  # electricity is not counted in kg: said as it is typed
    error = first.find_element(By.CSS_SELECTOR, "[data-unit-error]")
    wait(driver, 10).until(lambda d: error.is_displayed())
    assert "kWh" in error.text
    assert first.find_element(By.CSS_SELECTOR, "[data-line-unit]").get_attribute("aria-invalid") == "true"
    shot(driver, "pcf-unit-checked")
    _fill(first, "unit", "kWh")
    wait(driver, 10).until(lambda d: not error.is_displayed())

    count = len(rows)
    _click(driver, "[data-testid=add-line]")
    rows = driver.find_elements(By.CSS_SELECTOR, "[data-bom-line]")
    assert len(rows) == count + 1
    added = rows[-1]
    assert (
        added.find_element(By.CSS_SELECTOR, "[name$='-amount']").get_attribute("name")
        == f"line-{count}-amount"
    )
    Select(added.find_element(By.CSS_SELECTOR, "select")).select_by_value("process")
    _fill(added, "ref", "co2")
    _fill(added, "amount", "450")
    _fill(added, "unit", "kg")

    _click(driver, "[data-testid=bom-preview]")
    total = wait(driver, 20).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=bom-total]"))
    )
    # (1000 kWh x 0.55 + 450 kg) over 2 t
    assert "500 kgCO2e/t" in total.text
    shot(driver, "pcf-preview")
    _click(driver, "[data-testid=bom-save]")
    wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=pcf-origin]")))
    assert driver.find_elements(By.CSS_SELECTOR, "[data-testid=pcf-origin-calculated]")
    shot(driver, "pcf-saved")

    sign_in(driver, server, "buyer")
    _choose_language(driver, "zh")
    driver.get(f"{server.url}/ui/offers/{offer_id}")
    badge = wait(driver, 20).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=pcf-origin-calculated]"))
    )
    assert "计算值，未经核查" in badge.text
    assert "500" in driver.find_element(By.CSS_SELECTOR, "[data-testid=footprint]").text
