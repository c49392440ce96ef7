"""Verification in a real browser: the vendor files evidence with its report on its offer's page, the operator
accepts it in the review queue, and a buyer sees "verified by X until DATE" and the footprint's history.
Screenshots of each step go to test-artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from tests.browser.conftest import Server
from tests.browser.test_after_the_match import _choose_language, _click
from tests.browser.test_journeys import shot, sign_in, wait

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
OFFER = {
    "title": "包头风电制绿氢（管道直供）",
    "description": "碱性电解槽制氢，风电直供。",
    "kind": "product",
    "category": "hydrogen",
    "region": "内蒙古",
    "pcf_value": 0.7,
    "pcf_unit": "kgCO2e/kg",
    "pcf_verified": True,
    "status": "published",
}


def _type_date(driver: Any, field_id: str, value: str) -> None:
    # A date input takes what a person types in their locale's order; setting the value is the same act.
    driver.execute_script("document.getElementById(arguments[0]).value = arguments[1]", field_id, value)


def test_vendor_files_evidence_operator_accepts_buyer_sees_badge_and_history(
    server: Server, browser: Any, tmp_path: Path
) -> None:
    driver = browser
    vendor = {"Authorization": f"Bearer {server.keys['vendor']}"}
    created = httpx.post(f"{server.url}/offers", json=OFFER, headers=vendor, timeout=60)
    assert created.status_code == 201, created.text
    offer_id = created.json()["id"]
    assert created.json()["verification_status"] == "self_declared"  # the tick alone
    page = f"{server.url}/ui/offers/{offer_id}"
    report = tmp_path / "核查报告.pdf"
    report.write_bytes(PDF)

    sign_in(driver, server, "vendor")
    _choose_language(driver, "zh")
    driver.get(page)
    assert driver.find_elements(By.CSS_SELECTOR, "[data-testid=self-declared]")
    _click(driver, "[data-testid=evidence-form] summary")
    driver.find_element(By.ID, "f-verifier").send_keys("中国质量认证中心")
    driver.find_element(By.ID, "f-report_number").send_keys("CQC-PCF-2026-0042")
    driver.find_element(By.ID, "f-standard").send_keys("ISO 14067")
    _type_date(driver, "f-verified_on", "2026-10-01")
    _type_date(driver, "f-valid_until", "2029-09-30")
    driver.find_element(By.ID, "f-document").send_keys(str(report))
    shot(driver, "verification-vendor-files")
    _click(driver, "[data-testid=submit-evidence]")
    wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=evidence-status]")))
    assert "待审核" in driver.find_element(By.CSS_SELECTOR, "[data-testid=evidence-status]").text
    shot(driver, "verification-vendor-filed")

    sign_in(driver, server, "operator")
    _choose_language(driver, "zh")
    _click(driver, "[data-testid=nav-evidence]")
    queued = wait(driver, 20).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid^=queued-]"))
    )
    assert "CQC-PCF-2026-0042" in queued.text and "核查报告.pdf" in queued.text
    shot(driver, "verification-operator-queue")
    queued.find_element(By.CSS_SELECTOR, "[data-testid^=accept-]").click()
    wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=empty]")))
    shot(driver, "verification-operator-accepted")

    sign_in(driver, server, "buyer")
    _choose_language(driver, "zh")
    driver.get(page)
    badge = wait(driver, 20).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=verified]"))
    )
    assert "中国质量认证中心" in badge.text and "2029-09-30" in badge.text
    history = driver.find_elements(By.CSS_SELECTOR, "[data-testid=history] tbody tr")
    assert len(history) >= 2  # created self-declared, then verified
    assert "中国质量认证中心" in history[0].text
    shot(driver, "verification-buyer-sees")
