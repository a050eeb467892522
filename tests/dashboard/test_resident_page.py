"""The resident page (/r/) in headless Chromium at phone size (390 x 844): sign in with
the code read from the mail the resident channel sends, ask to be linked to a home
(an admin confirms), report with a photo, see the status move as staff handle it,
rate it; the page breaks no CSP rule and reads the last status with the network off.
And announcements: staff publish, the resident reads one on the page, staff see it read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from api import create_app
from tests.api.conftest import ADMIN_PASSWORD, FakeClock, bearer, config_for, login
from tests.dashboard.conftest import PAGE_WAIT_S, WINDOW
from tests.fix_mqtt import Broker
from tests.notify.conftest import Mailbox, free_port, mail_url
from tests.residents.conftest import POLICY, body_of, code_from, wait_mail

PHONE = (390, 844)
NUMBER = "+8613800000042"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def app(api_db: str, broker: Broker, mailbox: Mailbox) -> FastAPI:
    config = config_for(
        api_db,
        broker,
        resident_channel=mail_url(mailbox.port, "{digits}@sms.example.org"),
        resident_outcome_poll_s=0.2,
    )
    return create_app(config, clock=FakeClock(), policy=POLICY)


def wait(driver: Any) -> WebDriverWait[Any]:
    return WebDriverWait(driver, PAGE_WAIT_S, poll_frequency=0.05)


def visible(driver: Any, css: str) -> Any:
    return wait(driver).until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))


def text_in(driver: Any, css: str, text: str) -> None:
    wait(driver).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))


def _act(
    client: httpx.Client, admin: dict[str, str], case_id: int, action: str, **body: Any
) -> None:
    version = client.get(f"/api/v1/cases/{case_id}", headers=admin).json()["version"]
    done = client.post(
        f"/api/v1/cases/{case_id}/{action}", json={"version": version, **body}, headers=admin
    )
    assert done.status_code == 200, done.text


def test_sign_in_report_with_a_photo_see_status_and_rate_on_a_phone(
    browser: Any, base_url: str, client: httpx.Client, mailbox: Mailbox, tmp_path: Path
) -> None:
    admin = bearer(login(client, "admin", ADMIN_PASSWORD))
    browser.set_window_size(*PHONE)
    browser.get(f"{base_url}/r/")
    browser.execute_script("localStorage.setItem('dayuan.resident.lang', 'en')")
    browser.refresh()

    visible(browser, "#phone").send_keys(NUMBER)
    browser.find_element(By.ID, "send-code").click()
    code = code_from(wait_mail(mailbox, NUMBER, 1))
    visible(browser, "#code").send_keys(code)
    browser.find_element(By.ID, "sign-in").click()

    visible(browser, "#household-compound").send_keys("c1")
    browser.find_element(By.ID, "household-flat").send_keys("1-1-101")
    browser.find_element(By.ID, "household-submit").click()
    text_in(browser, "#household-status", "waiting for your grid worker")
    pending = client.get("/api/v1/residents/links", params={"compound": "c1"}, headers=admin)
    (link,) = pending.json()["data"]
    confirmed = client.post(
        f"/api/v1/residents/links/{link['resident_id']}", json={"confirm": True}, headers=admin
    )
    assert confirmed.status_code == 200
    browser.refresh()
    text_in(browser, "#household-status", "My home: 1-1-101")

    photo = tmp_path / "lamp.jpg"
    Image.new("RGB", (800, 600), (250, 220, 0)).save(photo, format="JPEG")
    browser.find_element(By.ID, "report-open").click()
    category = Select(visible(browser, "#category"))
    assert category.first_selected_option.get_attribute("value") == "repair"  # the commonest
    # Nothing wider than the phone: no sideways scrolling.
    width = browser.execute_script("return document.documentElement.clientWidth")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    browser.find_element(By.ID, "description").send_keys("The stairwell light is out")
    browser.find_element(By.ID, "where-flat").click()
    browser.find_element(By.ID, "photos").send_keys(str(photo))
    browser.find_element(By.ID, "submit-report").click()
    text_in(browser, "#steps", "We received your report")
    text_in(browser, "#steps", "Passed to the property company")
    img = visible(browser, "#detail-photos img")
    assert browser.execute_script("return arguments[0].naturalWidth", img) == 800

    (case,) = client.get("/api/v1/cases", headers=admin).json()["data"]
    assert (case["source"], case["category"], case["flat"]) == ("resident", "repair", "1-1-101")

    # At the desk, the case pane shows the resident's photo (fetched with the staff token).
    browser.set_window_size(*WINDOW)
    browser.get(f"{base_url}/?lang=en")
    visible(browser, "#username").send_keys("admin")
    browser.find_element(By.ID, "password").send_keys(ADMIN_PASSWORD)
    browser.find_element(By.ID, "login-submit").click()
    visible(browser, f"li.case[data-case-id='{case['id']}']").click()
    desk = visible(browser, ".resident-report img.resident-photo")
    assert browser.execute_script("return arguments[0].naturalWidth", desk) == 800
    browser.set_window_size(*PHONE)
    browser.get(f"{base_url}/r/")
    visible(browser, f"#cases .case[data-id='{case['id']}']").click()
    text_in(browser, "#steps", "We received your report")
    for action, body in (("acknowledge", {}), ("start", {}), ("resolve", {"note": "new bulb"})):
        _act(client, admin, case["id"], action, **body)

    browser.find_element(By.ID, "detail-back").click()
    text_in(browser, "#cases .case .state", "Done")
    browser.find_element(By.CSS_SELECTOR, "#cases .case").click()
    text_in(browser, "#steps", "Done: new bulb")
    visible(browser, ".star[data-n='5']").click()
    browser.find_element(By.ID, "rate-comment").send_keys("Thank you")
    browser.find_element(By.ID, "rate-submit").click()
    text_in(browser, "#message", "Thank you for rating it!")
    text_in(browser, "#steps", "Rated 5 of 5")
    rated = client.get(f"/api/v1/cases/{case['id']}", headers=admin).json()
    assert rated["rating"] == 5

    # The outcome went to the resident's channel too.
    assert "new bulb" in body_of(wait_mail(mailbox, NUMBER, 2))
    csp = [
        str(e["message"])
        for e in browser.get_log("browser")
        if "Content Security Policy" in str(e["message"])
    ]
    assert csp == []

    # Offline: the service worker serves the page, the page its last status.
    browser.find_element(By.ID, "detail-back").click()
    text_in(browser, "#cases .case .state", "Done")
    wait(browser).until(
        lambda d: (
            d.execute_script("return !!navigator.serviceWorker.controller") or d.refresh() or False
        )
    )
    browser.set_network_conditions(offline=True, latency=0, throughput=0)
    try:
        browser.refresh()
        text_in(browser, "#offline", "No connection")
        text_in(browser, "#cases .case .state", "Done")
    finally:
        browser.delete_network_conditions()


def _publish(
    client: httpx.Client, admin: dict[str, str], title: str, age_min: int, **to: Any
) -> int:
    now = datetime.now(UTC)
    made = client.post(
        "/api/v1/announcements",
        json={
            "compound": "c1",
            "title": title,
            "body": f"{title}. Details: from 9:00 to 12:00.",
            "starts_at": (now - timedelta(minutes=age_min)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
            **to,
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _reads(client: httpx.Client, admin: dict[str, str]) -> dict[str, int]:
    listed = client.get("/api/v1/announcements", params={"compound": "c1"}, headers=admin)
    return {a["title"]: a["reads"] for a in listed.json()["data"]}


def test_a_resident_reads_an_announcement_on_a_phone_and_staff_see_it_read(
    browser: Any, base_url: str, client: httpx.Client, mailbox: Mailbox
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
    text_in(browser, "#notices", "Notices go to confirmed homes")  # not linked yet

    _publish(client, admin, "Water cut tomorrow", 30)
    _publish(client, admin, "Lift of building 1 under repair", 10, buildings=["1"])
    _publish(client, admin, "Health check for the elderly", 5, tag="elderly")  # not theirs
    visible(browser, "#household-compound").send_keys("c1")
    browser.find_element(By.ID, "household-flat").send_keys("1-1-101")
    browser.find_element(By.ID, "household-submit").click()
    text_in(browser, "#household-status", "waiting for your grid worker")
    (link,) = client.get(
        "/api/v1/residents/links", params={"compound": "c1"}, headers=admin
    ).json()["data"]
    confirmed = client.post(
        f"/api/v1/residents/links/{link['resident_id']}", json={"confirm": True}, headers=admin
    )
    assert confirmed.status_code == 200
    browser.refresh()

    # Newest first, both unread; the elderly households' notice is not shown.
    text_in(browser, "#notices", "Lift of building 1 under repair")
    titles = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#notices .notice-title")]
    assert titles == ["New Lift of building 1 under repair", "New Water cut tomorrow"]
    size = browser.execute_script(
        "return parseFloat(getComputedStyle(document.querySelector('#notices li')).fontSize)"
    )
    assert size >= 20  # large text
    width = browser.execute_script("return document.documentElement.clientWidth")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width

    browser.find_elements(By.CSS_SELECTOR, "#notices .notice")[1].click()
    text_in(browser, "#notice-body", "Details: from 9:00 to 12:00.")
    text_in(browser, "#notice-title", "Water cut tomorrow")
    wait(browser).until(lambda _: _reads(client, admin)["Water cut tomorrow"] == 1)
    browser.find_element(By.ID, "notice-back").click()
    visible(browser, "#notices .notice")
    unread = [
        e.text for e in browser.find_elements(By.CSS_SELECTOR, "#notices .unread .notice-title")
    ]
    assert unread == ["New Lift of building 1 under repair"]
    assert _reads(client, admin) == {
        "Health check for the elderly": 0,
        "Lift of building 1 under repair": 0,
        "Water cut tomorrow": 1,
    }
    # Opening it again (another visit) counts nothing more.
    browser.refresh()
    visible(browser, "#notices .notice:not(.unread)").click()
    text_in(browser, "#notice-title", "Water cut tomorrow")
    browser.find_element(By.ID, "notice-back").click()
    assert _reads(client, admin)["Water cut tomorrow"] == 1

    # Offline: the kept list still reads, the body too; the read is sent once back online.
    wait(browser).until(
        lambda d: (
            d.execute_script("return !!navigator.serviceWorker.controller") or d.refresh() or False
        )
    )
    browser.set_network_conditions(offline=True, latency=0, throughput=0)
    try:
        browser.refresh()
        text_in(browser, "#offline", "No connection")
        visible(browser, "#notices .unread").click()
        text_in(browser, "#notice-body", "Lift of building 1 under repair. Details")
    finally:
        browser.delete_network_conditions()
    assert _reads(client, admin)["Lift of building 1 under repair"] == 0
    browser.refresh()
    wait(browser).until(lambda _: _reads(client, admin)["Lift of building 1 under repair"] == 1)
    visible(browser, "#notices .notice")
    assert browser.find_elements(By.CSS_SELECTOR, "#notices .unread .notice-title") == []
