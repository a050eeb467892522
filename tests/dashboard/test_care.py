"""The care panel in headless Chromium, as a care-centre coordinator uses it: the plan
overdue at the top with the overdue count, a visit recorded from its row and the plan
on schedule again (the count down to 0), a missed delivery recorded from the meal row,
the panel in Chinese after the language switch, and a plan ended from its row; the days
of a meal schedule nobody recorded, named on its row and counted on a tile; each grid's
care figures in the KPI panel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from tests.api.conftest import ADMIN_PASSWORD, bearer, login
from tests.dashboard.test_dashboard import click_settled, log_in, wait

ELDER = "3-2-301"


def _text(browser: Any, css: str) -> str:
    """What a person reads there now (read in one step: the panel re-draws as it loads)."""
    return str(
        browser.execute_script("return document.querySelector(arguments[0])?.innerText ?? ''", css)
    )


def test_a_coordinator_records_a_visit_and_the_plan_is_no_longer_overdue(
    browser: Any, base_url: str, make_user: Any, client: httpx.Client
) -> None:
    admin = bearer(login(client, "admin", ADMIN_PASSWORD))
    plan = {
        "compound": "c1",
        "flat": ELDER,
        "tag": "empty_nest",
        "visitor": "p-care",
        "interval_days": 7,
        "starts_at": (datetime.now(UTC) - timedelta(days=10)).isoformat(),
    }
    made = client.post("/api/v1/care/plans", json=plan, headers=admin)
    assert made.status_code == 201, made.text
    plan_id = made.json()["id"]
    meals = {
        "compound": "c1",
        "flat": ELDER,
        "meal": "lunch",
        "weekdays": [1, 2, 3, 4, 5, 6, 7],
        "deliverer": "p-care",
    }
    schedule = client.post("/api/v1/care/meals", json=meals, headers=admin)
    assert schedule.status_code == 201, schedule.text

    log_in(browser, base_url, make_user("care_responder"), query="?lang=en")
    wait(browser).until(ec.visibility_of_element_located((By.ID, "care-toggle")))
    browser.find_element(By.ID, "care-toggle").click()
    row = f"tr.care-plan[data-plan-id='{plan_id}']"
    wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, f"{row}.overdue")))
    assert "Overdue" in _text(browser, row)
    assert "Building 3, unit 2, flat 301" in _text(browser, row)
    overdue_tile = "#care-kpis [data-kpi='visits_overdue'] b"
    assert _text(browser, overdue_tile) == "1"
    assert not browser.find_element(By.ID, "board").is_displayed()  # the desk is the care's

    click_settled(browser, (By.CSS_SELECTOR, f"{row} [data-action='care.record_visit']"))
    wait(browser).until(ec.visibility_of_element_located((By.ID, "care-visit-form")))
    Select(browser.find_element(By.ID, "care-outcome")).select_by_value("needs_help")
    browser.find_element(By.ID, "care-note").send_keys("knee pain, asked for a doctor's visit")
    browser.find_element(By.ID, "care-visit-save").click()

    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, f"{row}.scheduled")))
    assert "On schedule" in _text(browser, row)
    assert "Overdue" not in _text(browser, row)
    wait(browser).until(lambda b: _text(b, overdue_tile) == "0")
    assert "Visit recorded" in browser.find_element(By.ID, "toast").get_attribute("textContent")
    [visit] = client.get("/api/v1/care/visits?compound=c1", headers=admin).json()["data"]
    assert (visit["outcome"], visit["visitor"]) == ("needs_help", "p-care")

    meal_row = f"tr.care-meal[data-schedule-id='{schedule.json()['id']}']"
    browser.find_element(By.CSS_SELECTOR, f"{meal_row} [data-action='care.missed_today']").click()
    wait(browser).until(lambda b: "0 / 1" in _text(b, meal_row))
    missed_tile = "#care-kpis [data-kpi='deliveries_missed'] b"
    wait(browser).until(lambda b: _text(b, missed_tile) == "1")

    browser.find_element(By.ID, "lang").click()
    wait(browser).until(lambda b: "按计划" in _text(b, row))
    assert "3号楼2单元301室" in _text(browser, row)
    assert "午餐" in _text(browser, meal_row)

    # The household no longer wants visits: the plan leaves the list, the count with it.
    browser.find_element(By.CSS_SELECTOR, f"{row} [data-action='care.end_plan']").click()
    wait(browser).until(lambda b: not b.find_elements(By.CSS_SELECTOR, row))
    wait(browser).until(lambda b: _text(b, "#care-kpis [data-kpi='plans_active'] b") == "0")


def test_a_case_closed_with_a_follow_up_visit_lists_the_visit_on_the_care_panel(
    browser: Any, base_url: str, make_user: Any, client: httpx.Client
) -> None:
    admin = bearer(login(client, "admin", ADMIN_PASSWORD))
    report = {
        "compound": "c1",
        "category": "elderly_care",
        "description": "needs grab rails in the bathroom",
        "reporter": "r-elder",
        "location": ELDER,
    }
    case = client.post("/api/v1/cases", json=report, headers=admin).json()
    for action, extra in (("acknowledge", {}), ("start", {}), ("resolve", {"note": "fitted"})):
        case = client.post(
            f"/api/v1/cases/{case['id']}/{action}",
            json={"version": case["version"], **extra},
            headers=admin,
        ).json()

    log_in(browser, base_url, make_user("care_responder"), query="?lang=en")
    click_settled(browser, (By.CSS_SELECTOR, "#columns [data-state='resolved'] .case"))
    wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#pane .act-close")))
    assert "Close with a follow-up visit" in browser.find_element(By.ID, "pane").text
    browser.find_element(By.CSS_SELECTOR, "#pane input.follow-up").click()
    browser.find_element(By.CSS_SELECTOR, "#pane .act-close").click()
    wait(browser).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#columns [data-state='closed'] .case"))
    )

    browser.find_element(By.ID, "pane-close").click()
    wait(browser).until(ec.visibility_of_element_located((By.ID, "care-toggle")))
    browser.find_element(By.ID, "care-toggle").click()
    follow = "tr.care-follow-up"  # the panel reads its lists anew when it is opened
    wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, follow)))
    Select(browser.find_element(By.ID, "care-grid")).select_by_value("g1")  # another grid's
    wait(browser).until(lambda b: not b.find_elements(By.CSS_SELECTOR, follow))
    Select(browser.find_element(By.ID, "care-grid")).select_by_value("g2")
    wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, follow)))
    assert f"#{case['id']}" in _text(browser, follow)
    assert "Building 3, unit 2, flat 301" in _text(browser, follow)
    assert _text(browser, "#care-kpis [data-kpi='follow_ups_open'] b") == "1"


def test_the_days_nobody_recorded_show_on_the_meal_row_and_a_tile(
    browser: Any, base_url: str, make_user: Any, client: httpx.Client, app: FastAPI
) -> None:
    """Lunch on the weekdays of the day before yesterday and of yesterday (Shanghai), the
    schedule made three days ago: both days' windows closed with nothing recorded."""
    admin = bearer(login(client, "admin", ADMIN_PASSWORD))
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    days = [today - timedelta(days=2), today - timedelta(days=1)]
    meals = {
        "compound": "c1",
        "flat": ELDER,
        "meal": "lunch",
        "weekdays": [d.isoweekday() for d in days],
        "deliverer": "p-care",
        "starts_on": (today - timedelta(days=3)).isoformat(),
    }
    clock = app.state.dayuan.clock
    clock.advance(days=-3)  # the coordinator made it three days ago
    schedule = client.post("/api/v1/care/meals", json=meals, headers=admin)
    clock.advance(days=3)
    assert schedule.status_code == 201, schedule.text

    log_in(browser, base_url, make_user("care_responder"))
    wait(browser).until(ec.visibility_of_element_located((By.ID, "care-toggle")))
    browser.find_element(By.ID, "care-toggle").click()
    row = f"tr.care-meal.unrecorded[data-schedule-id='{schedule.json()['id']}']"
    wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, row)))
    shown = _text(browser, f"{row} .care-unrecorded")
    assert shown == ", ".join(f"{d.month}月{d.day}日" for d in days)
    tile = "#care-kpis [data-kpi='deliveries_unrecorded']"
    wait(browser).until(lambda b: _text(b, f"{tile} b") == "2")
    assert "未登记送餐" in _text(browser, tile)
    assert browser.find_elements(By.CSS_SELECTOR, f"{tile}.alert")


def test_the_kpi_panel_shows_each_grids_care_programmes(
    browser: Any, base_url: str, make_user: Any, client: httpx.Client
) -> None:
    admin = bearer(login(client, "admin", ADMIN_PASSWORD))
    plan = {
        "compound": "c1",
        "flat": ELDER,
        "tag": "empty_nest",
        "visitor": "p-care",
        "interval_days": 7,
        "starts_at": (datetime.now(UTC) - timedelta(days=10)).isoformat(),
    }
    assert client.post("/api/v1/care/plans", json=plan, headers=admin).status_code == 201
    meals = {"compound": "c1", "flat": ELDER, "meal": "lunch", "weekdays": list(range(1, 8))}
    made = client.post("/api/v1/care/meals", json=meals | {"deliverer": "p-care"}, headers=admin)
    missed = {"compound": "c1", "schedule_id": made.json()["id"], "done": False}
    assert client.post("/api/v1/care/deliveries", json=missed, headers=admin).status_code == 201

    log_in(browser, base_url, make_user("property_staff"))
    row = "#kpi-care-table tr[data-key='c1/g2']"
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, row)))
    assert "各网格养老服务" in _text(browser, "#kpi-care")
    assert _text(browser, f"{row} td:first-child") == "网格2"
    assert _text(browser, f"{row} [data-kpi='visits_overdue']") == "1"
    assert _text(browser, f"{row} [data-kpi='deliveries_missed']") == "1"
    assert _text(browser, f"{row} [data-kpi='deliveries_unrecorded']") == "0"
    browser.find_element(By.ID, "lang").click()
    wait(browser).until(lambda b: "Care programmes by grid" in _text(b, "#kpi-care"))
    assert _text(browser, f"{row} td:first-child") == "Grid 2"
