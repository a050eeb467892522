"""The monitoring-room dashboard in headless Chromium: log in, see an SOS published over
MQTT appear in the live feed, hear (count) its cue, acknowledge it from
the feed and watch its case move on the board to resolved; the plan, the KPIs, the language switch
and a read-only role; the static mount leaving the API's own routes alone; and the
dashboard and /docs breaking no rule of the Content-Security-Policy."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.wait import WebDriverWait

from tests.api.conftest import PASSWORD
from tests.dashboard.conftest import PAGE_WAIT_S
from tests.factories import SOS, dumps, now_ms, topic
from tests.fix_gateway import GatewayFactory, wait_for
from tests.fix_mqtt import Publisher

# The SOS in the live feed (how fast it gets there is `dayuan bench rules`'s to measure).
SOS_ITEM = (By.CSS_SELECTOR, "#alarms .alarm.critical[data-rule='sos']")
SOS_ACK = (By.CSS_SELECTOR, "#alarms .alarm.critical[data-rule='sos'] button.ack")


def wait(driver: Any, timeout: float = PAGE_WAIT_S) -> WebDriverWait[Any]:
    return WebDriverWait(driver, timeout, poll_frequency=0.02)


def log_in(driver: Any, base_url: str, username: str, query: str = "") -> None:
    driver.get(f"{base_url}/{query}")
    # No connection pill on the login page: there is no stream to be connected to yet.
    assert not driver.find_element(By.ID, "live").is_displayed()
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    # Connected to the live feed: from here on, a new alarm is pushed to the page.
    wait(driver).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#live:not(.off)")))


def test_an_sos_reaches_the_feed_beeps_and_is_acknowledged_from_it(
    browser: Any,
    base_url: str,
    make_user: Any,
    run_gateway: GatewayFactory,
    fleet: Publisher,
    conn: psycopg.Connection[Any],
) -> None:
    with run_gateway(with_cases=True):
        log_in(browser, base_url, make_user("property_staff"))
        fleet.publish(
            topic("elder", SOS, "event"), dumps({"ts": now_ms(), "seq": 1, "type": "sos"})
        )
        wait(browser).until(ec.presence_of_element_located(SOS_ITEM))
        assert browser.execute_script("return document.body.dataset.beeps") == "1"

        wait_for(conn, "SELECT state FROM cases", "dispatched")
        wait(browser).until(
            ec.presence_of_element_located(
                (By.CSS_SELECTOR, "#columns [data-state='dispatched'] .case.critical")
            )
        )
        click_settled(browser, SOS_ACK)  # the feed re-renders as the case moves on
        card = (
            By.CSS_SELECTOR,
            "#columns [data-state='acknowledged'] .case[data-state='acknowledged']",
        )
        wait(browser).until(ec.presence_of_element_located(card))
        assert not browser.find_elements(
            By.CSS_SELECTOR, "#columns [data-state='dispatched'] .case"
        )
        row = conn.execute("SELECT state, version FROM cases").fetchone()
        assert row is not None
        assert row[0] == "acknowledged"

        # The case pane: its history and the next workflow action, with the version.
        click_settled(browser, card)  # the board may re-render under the click
        wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#pane .act-start")))
        assert len(browser.find_elements(By.CSS_SELECTOR, "#pane .history li")) >= 3
        browser.find_element(By.CSS_SELECTOR, "#pane .act-start").click()
        wait(browser).until(
            ec.presence_of_element_located(
                (By.CSS_SELECTOR, "#columns [data-state='in_progress'] .case")
            )
        )
        assert wait_for(conn, "SELECT state FROM cases", "in_progress") == "in_progress"

        # Resolved, it stays on the board in its own column (the open list leaves it out),
        # and the feed no longer offers to acknowledge its alarm.
        wait(browser).until(
            ec.visibility_of_element_located((By.CSS_SELECTOR, "#pane .act-resolve"))
        )
        browser.find_element(By.CSS_SELECTOR, "#pane .form textarea").send_keys("visited, all well")
        click_settled(browser, (By.CSS_SELECTOR, "#pane .act-resolve"))
        wait(browser).until(
            ec.presence_of_element_located(
                (By.CSS_SELECTOR, "#columns [data-state='resolved'] .case.critical")
            )
        )
        assert wait_for(conn, "SELECT state FROM cases", "resolved") == "resolved"
        # A fresh page draws the feed from the alarm history: the SOS is there, with
        # nothing left to acknowledge.
        browser.refresh()  # still logged in
        wait(browser).until(
            ec.presence_of_element_located(
                (By.CSS_SELECTOR, "#columns [data-state='resolved'] .case.critical")
            )
        )
        wait(browser).until(ec.presence_of_element_located(SOS_ITEM))
        wait(browser).until(lambda b: not b.find_elements(*SOS_ACK))  # once the board is in


def click_settled(browser: Any, locator: tuple[str, str]) -> None:
    """Click `locator`, finding it again if a re-render replaced it under the click."""

    def attempt(b: Any) -> bool:
        try:
            b.find_element(*locator).click()
        except (StaleElementReferenceException, NoSuchElementException):
            return False
        return True

    wait(browser).until(attempt)


def test_plan_kpis_and_language(
    browser: Any, base_url: str, make_user: Any, client: httpx.Client
) -> None:
    log_in(browser, base_url, make_user("property_staff"))
    marker = (By.CSS_SELECTOR, f"#plan-svg [data-device='{SOS}']")
    wait(browser).until(ec.presence_of_element_located(marker))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#plan-svg .building")) == 2
    assert browser.find_elements(By.CSS_SELECTOR, "#plan-svg .device.unseen")  # never reported
    browser.find_element(*marker).click()
    wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#pane")))
    assert SOS in browser.find_element(By.ID, "pane").text
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#kpi-tiles .tile")))

    browser.find_element(By.ID, "pane-close").click()
    before = browser.find_element(By.CSS_SELECTOR, "h1").text
    browser.find_element(By.ID, "lang").click()
    after = browser.find_element(By.CSS_SELECTOR, "h1").text
    assert {before, after} == {"大院监控室", "Dayuan monitoring room"}


def test_a_viewer_reads_but_cannot_act(browser: Any, base_url: str, make_user: Any) -> None:
    log_in(browser, base_url, make_user("viewer"))
    assert "viewer" in browser.find_element(By.ID, "who").text
    assert not browser.find_elements(By.CSS_SELECTOR, "button.ack")


def test_a_care_responder_has_no_kpi_panel_and_the_wall_rotates(
    browser: Any, base_url: str, make_user: Any
) -> None:
    log_in(browser, base_url, make_user("care_responder"), query="?wall=1")
    assert "wall" in browser.find_element(By.TAG_NAME, "body").get_attribute("class")
    assert not browser.find_element(By.ID, "kpis").is_displayed()
    assert browser.find_element(By.ID, "feed").is_displayed()


def test_the_dashboard_does_not_shadow_the_api(client: httpx.Client) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/users/me").status_code == 401
    assert "swagger" in client.get("/docs").text.lower()
    page = client.get("/")
    assert page.status_code == 200
    assert "app.js" in page.text
    script = client.get("/vendor/chart.umd.js")
    assert script.status_code == 200
    assert "Released under the MIT License" in script.text[:300]
    assert client.get("/no-such-file.js").status_code == 404


def _csp_violations(browser: Any) -> list[str]:
    return [
        str(e["message"])
        for e in browser.get_log("browser")
        if "Content Security Policy" in str(e["message"])
    ]


def test_the_docs_render_offline_under_the_csp(browser: Any, base_url: str) -> None:
    browser.get(f"{base_url}/docs")
    operation = (By.CSS_SELECTOR, "#swagger-ui .opblock")
    wait(browser).until(ec.presence_of_element_located(operation))
    assert _csp_violations(browser) == []


def test_the_dashboard_breaks_no_csp_rule(browser: Any, base_url: str, make_user: Any) -> None:
    log_in(browser, base_url, make_user("viewer"), "?lang=en")
    # The charts (Chart.js sizes its canvases through element styles) and the plan drawn.
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#kpi-tiles .tile")))
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#plan-svg .building")))
    assert _csp_violations(browser) == []
