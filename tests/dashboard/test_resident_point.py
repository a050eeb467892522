"""A report "at a point on the plan" from the resident page at phone size: the compound's
buildings are drawn, the resident taps beside one, and the case records that point in the
plan's frame (x west to east, y north to south, 0 to 1)."""

from __future__ import annotations

from typing import Any

import httpx
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from tests.api.conftest import ADMIN_PASSWORD, bearer, login
from tests.dashboard.test_resident_page import (  # noqa: F401 - the page's fixtures
    NUMBER,
    PHONE,
    app,
    mailbox,
    text_in,
    visible,
)
from tests.notify.conftest import Mailbox
from tests.residents.conftest import code_from, wait_mail


def test_a_resident_points_to_the_place_on_the_plan(
    browser: Any,
    base_url: str,
    client: httpx.Client,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    admin = bearer(login(client, "admin", ADMIN_PASSWORD))
    browser.set_window_size(*PHONE)
    browser.get(f"{base_url}/r/")
    browser.execute_script("localStorage.setItem('dayuan.resident.lang', 'en')")
    browser.refresh()
    visible(browser, "#phone").send_keys(NUMBER)
    browser.find_element(By.ID, "send-code").click()
    visible(browser, "#code").send_keys(code_from(wait_mail(mailbox, NUMBER, 1)))
    browser.find_element(By.ID, "sign-in").click()
    visible(browser, "#household-compound").send_keys("c1")
    browser.find_element(By.ID, "household-flat").send_keys("1-1-101")
    browser.find_element(By.ID, "household-submit").click()
    text_in(browser, "#household-status", "waiting for your grid worker")
    (link,) = client.get(
        "/api/v1/residents/links", params={"compound": "c1"}, headers=admin
    ).json()["data"]
    client.post(
        f"/api/v1/residents/links/{link['resident_id']}", json={"confirm": True}, headers=admin
    ).raise_for_status()
    browser.refresh()
    text_in(browser, "#household-status", "My home: 1-1-101")

    browser.find_element(By.ID, "report-open").click()
    visible(browser, "#description").send_keys("A broken bench by the path")
    browser.find_element(By.ID, "where-point").click()
    plan = visible(browser, "#plan-pick svg")
    buildings = client.get("/api/v1/buildings", params={"compound": "c1"}, headers=admin).json()
    drawn = browser.find_elements(By.CSS_SELECTOR, "#plan-pick rect.building")
    assert len(drawn) == buildings["count"] > 0
    assert not browser.find_element(By.ID, "place").is_displayed()
    # Sending before tapping says what is missing, and sends nothing.
    browser.find_element(By.ID, "submit-report").click()
    text_in(browser, "#message", "Tap the place on the plan")
    assert client.get("/api/v1/cases", headers=admin).json()["count"] == 0

    size = plan.size
    ActionChains(browser).move_to_element_with_offset(
        plan, int(size["width"] * 0.25), int(size["height"] * -0.25)
    ).click().perform()
    text_in(browser, "#plan-said", "Marked")
    browser.find_element(By.ID, "submit-report").click()
    text_in(browser, "#steps", "We received your report")

    (case,) = client.get("/api/v1/cases", headers=admin).json()["data"]
    kind, _, point = case["location"].partition(":")
    x, y = (float(v) for v in point.split(","))
    assert kind == "plan"
    assert abs(x - 0.75) < 0.03
    assert abs(y - 0.25) < 0.03
