"""The district view in headless Chromium, as a community office uses it: four compounds
on the map, the one with an overdue critical case first in the list and marked on the
map, a click on it opening that compound's plan, the view in Chinese after the switch;
the wall's district panel, the map and the list large, the KPI tables left out; and a
grid worker's phone, where it is a tab showing their one compound.

Ten minutes after the cases were opened:

    c3  critical, not acknowledged (5 min to acknowledge): overdue
    c2  minor, not acknowledged (1 h): due within the hour
    c1, c4  no case
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

import registry
from api import create_app
from tests.api.conftest import ADMIN_PASSWORD, FakeClock, bearer, config_for, login
from tests.api.test_district import district_file
from tests.dashboard.test_dashboard import click_settled, log_in, wait
from tests.fix_mqtt import Broker

WALL = (1920, 1080)
PHONE = (390, 844)
ROWS = "#district-body tr.district-row"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(api_db: str, broker: Broker, clock: FakeClock) -> FastAPI:
    return create_app(config_for(api_db, broker), clock=clock)


@pytest.fixture
def district(api_db: str, client: httpx.Client, clock: FakeClock) -> None:
    with psycopg.connect(api_db, autocommit=True) as conn:
        registry.load(conn, district_file(), actor="test:setup", now=datetime.now(UTC))
    # Opened ten minutes ago: the clock is set back for the intake, not forward after it
    # (the browser's token would then be issued in the future of the token check's clock).
    clock.advance(minutes=-10)
    admin = bearer(login(client, "admin", ADMIN_PASSWORD))
    for compound, severity in (("c3", "critical"), ("c2", "minor")):
        body = {
            "compound": compound,
            "category": "repair",
            "description": "stairwell light out",
            "reporter": "r-1",
            "location": "3-2-301",
            "severity": severity,
        }
        made = client.post("/api/v1/cases", json=body, headers=admin)
        assert made.status_code == 201, made.text
    clock.advance(minutes=10)  # now again


def _text(browser: Any, css: str) -> str:
    return str(
        browser.execute_script("return document.querySelector(arguments[0])?.innerText ?? ''", css)
    )


def _listed(browser: Any) -> list[str]:
    return [
        str(x)
        for x in browser.execute_script(
            f"return [...document.querySelectorAll('{ROWS}')].map((r) => r.dataset.compound)"
        )
    ]


def test_the_worst_compound_comes_first_and_opens_its_plan(
    district: None, browser: Any, base_url: str, make_user: Any
) -> None:
    log_in(browser, base_url, make_user("viewer"), query="?lang=en")
    wait(browser).until(ec.visibility_of_element_located((By.ID, "district-toggle")))
    browser.find_element(By.ID, "district-toggle").click()
    wait(browser).until(lambda b: len(_listed(b)) == 4)

    # The map: every compound, the overdue one marked with its one critical case.
    markers = browser.find_elements(By.CSS_SELECTOR, "#district-body svg .district-marker")
    assert sorted(m.get_attribute("data-compound") for m in markers) == ["c1", "c2", "c3", "c4"]
    worst = browser.find_element(By.CSS_SELECTOR, ".district-marker[data-compound='c3']")
    assert "sla-overdue" in worst.get_attribute("class")
    assert worst.find_element(By.TAG_NAME, "text").text == "1"
    assert "sla-due_soon" in browser.find_element(
        By.CSS_SELECTOR, ".district-marker[data-compound='c2']"
    ).get_attribute("class")
    # Markers stand apart where the compounds do: c4 (north-west) left of and above c3.
    c3, c4 = (
        browser.find_element(By.CSS_SELECTOR, f".district-marker[data-compound='{c}'] circle").rect
        for c in ("c3", "c4")
    )
    assert c4["x"] < c3["x"]
    assert c4["y"] < c3["y"]

    # The list, worst SLA first: overdue, due within the hour, then the quiet ones by id.
    assert _listed(browser) == ["c3", "c2", "c1", "c4"]
    first = _text(browser, f"{ROWS}:first-child")
    assert "Compound c3" in first
    assert "Overdue" in first
    assert "Due within the hour" in _text(browser, f"{ROWS}[data-compound='c2']")
    assert _text(browser, "#district-body [data-kpi='overdue'] b") == "1"
    assert _text(browser, "#district-body [data-kpi='critical'] b") == "1"
    kpis = _text(browser, "#district-by_compound")
    assert "Compound c3" in kpis
    assert "Compound c2" in kpis

    browser.find_element(By.ID, "lang").click()
    wait(browser).until(lambda b: "已超时" in _text(b, f"{ROWS}:first-child"))
    assert browser.find_element(By.ID, "district-toggle").text == "辖区总览"
    browser.find_element(By.ID, "lang").click()
    wait(browser).until(lambda b: "Overdue" in _text(b, f"{ROWS}:first-child"))

    # Drill down: the worst compound's plan, the desk's panels back.
    click_settled(browser, (By.CSS_SELECTOR, f"{ROWS}:first-child"))
    wait(browser).until(ec.visibility_of_element_located((By.ID, "plan")))
    wait(browser).until(
        lambda b: (
            b.execute_script("return document.querySelector('#plan-svg select')?.value") == "c3"
        )
    )
    wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#plan-svg .building")))
    assert not browser.find_element(By.ID, "district").is_displayed()
    assert browser.find_element(By.ID, "board").is_displayed()


def test_a_map_marker_opens_its_compounds_plan(
    district: None, browser: Any, base_url: str, make_user: Any
) -> None:
    log_in(browser, base_url, make_user("property_staff"), query="?lang=en")
    wait(browser).until(ec.visibility_of_element_located((By.ID, "district-toggle")))
    browser.find_element(By.ID, "district-toggle").click()
    click_settled(browser, (By.CSS_SELECTOR, ".district-marker[data-compound='c2'] circle"))
    wait(browser).until(
        lambda b: (
            b.execute_script("return document.querySelector('#plan-svg select')?.value") == "c2"
        )
    )
    assert browser.find_element(By.ID, "plan").is_displayed()


def test_the_wall_shows_the_map_and_the_worst_list_large(
    district: None, browser: Any, base_url: str, make_user: Any
) -> None:
    browser.set_window_size(*WALL)
    log_in(browser, base_url, make_user("viewer"), query="?wall=1&panel=district&lang=en")
    wait(browser).until(lambda b: len(_listed(b)) == 4)
    assert browser.find_element(By.ID, "district").is_displayed()
    assert not browser.find_element(By.ID, "plan").is_displayed()  # one rotating panel
    assert _listed(browser)[0] == "c3"
    svg = browser.find_element(By.CSS_SELECTOR, "#district-body svg").rect
    assert svg["width"] > WALL[0] / 4  # the map takes half the rotating panel
    assert not browser.find_elements(By.CSS_SELECTOR, "#district-by_compound")  # the desk's
    row = browser.find_element(By.CSS_SELECTOR, f"{ROWS}:first-child td").value_of_css_property(
        "font-size"
    )
    assert float(row.removesuffix("px")) >= 20  # the wall's large type


def test_on_a_phone_the_district_is_a_tab(
    district: None, browser: Any, base_url: str, make_user: Any
) -> None:
    browser.set_window_size(*PHONE)
    log_in(browser, base_url, make_user("grid_worker", ("c3/g2",)), query="?lang=en")
    assert not browser.find_element(By.ID, "district-toggle").is_displayed()
    browser.find_element(By.CSS_SELECTOR, "#tabs button[data-panel='district']").click()
    # A grid worker of c3's g2: their one compound, its overdue case.
    wait(browser).until(lambda b: _listed(b) == ["c3"])
    assert browser.find_element(By.CSS_SELECTOR, "#district-body svg").is_displayed()
    assert "Overdue" in _text(browser, f"{ROWS}:first-child")
