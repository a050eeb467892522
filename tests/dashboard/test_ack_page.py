"""The acknowledgement page in headless Chromium at a phone's size: it shows the case,
and "I am going" acknowledges it."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

import cases
from tests.api.test_ack_link import sos_with_links
from tests.dashboard.conftest import PAGE_WAIT_S

PHONE = (390, 844)


def test_the_page_on_a_phone_shows_the_case_and_its_button_acknowledges(
    browser: Any, base_url: str, client: httpx.Client, api_db: str
) -> None:
    case_id, links = sos_with_links(api_db, base_url)
    browser.set_window_size(*PHONE)
    browser.get(links["s-care"] + "?lang=en")
    wait = WebDriverWait(browser, PAGE_WAIT_S)
    title = wait.until(expected_conditions.visibility_of_element_located((By.ID, "title")))
    assert "SOS button pressed" in title.text
    assert browser.find_element(By.ID, "flat").text == "3-2-301"
    going = browser.find_element(By.ID, "going")
    assert going.size["width"] > PHONE[0] * 0.7  # a button a thumb finds
    assert float(going.value_of_css_property("font-size").removesuffix("px")) >= 20
    assert browser.execute_script("return document.body.scrollWidth <= window.innerWidth")
    going.click()
    notice = wait.until(expected_conditions.visibility_of_element_located((By.ID, "notice")))
    assert "you are going" in notice.text
    with psycopg.connect(api_db) as conn:
        assert cases.get_case(conn, case_id).state is cases.State.ACKNOWLEDGED
    logs = browser.get_log("browser")
    errors = [e for e in logs if e["level"] == "SEVERE" and "favicon" not in e["message"]]
    assert errors == []  # nothing refused by the Content-Security-Policy

    browser.find_element(By.ID, "lang").click()
    refused = wait.until(expected_conditions.visibility_of_element_located((By.ID, "notice")))
    assert "used" in refused.text  # the switch reloads the page: the link is spent
