"""The upper rungs in the case board and pane, in headless Chromium (issue 20): a case
that climbed to the subdistrict says so on its card and in its pane; the subdistrict
office's supervisor takes it over from the pane (a reason is asked for first), and the
timeline shows the take-over with the reason and the supervisor as its claimant; property
staff see the rung but no take-over; an office with no party in the compound gets the
API's reason in the form."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

import registry
from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, bearer, login
from tests.api.test_take_over import _climb, the_registry
from tests.dashboard.test_case_forms import history_line, open_form, report
from tests.dashboard.test_dashboard import click_settled, log_in, wait

H = dict[str, str]
PANE = (By.ID, "pane")


@pytest.fixture
def admin(client: httpx.Client, api_db: str) -> H:
    with psycopg.connect(api_db, autocommit=True) as conn:
        registry.load(conn, the_registry(), actor="test:setup", now=datetime.now(UTC))
    return bearer(login(client, "admin", ADMIN_PASSWORD))


def office_account(client: httpx.Client, admin: H, name: str, org: str, staff: str | None) -> str:
    body = {
        "username": name,
        "password": PASSWORD,
        "role": "supervisor",
        "organisation": org,
        "staff_id": staff,
    }
    made = client.post("/api/v1/users", json=body, headers=admin)
    assert made.status_code == 201, made.text
    return name


def climbed_case(client: httpx.Client, admin: H, api_db: str, description: str) -> dict[str, Any]:
    """A repair report escalated to the top of the ladder by the supervisor's rule."""
    case = report(client, admin, description)
    with psycopg.connect(api_db, autocommit=True) as conn:
        _climb(conn, case["id"], 3)
    return case


def card(browser: Any, case_id: int) -> Any:
    locator = (By.CSS_SELECTOR, f"#columns .case[data-case-id='{case_id}']")
    return wait(browser).until(ec.presence_of_element_located(locator))


def test_the_office_takes_over_a_case_that_climbed_to_it(
    browser: Any, base_url: str, client: httpx.Client, admin: H, api_db: str
) -> None:
    case = climbed_case(client, admin, api_db, "楼道灯三周未修")
    log_in(browser, base_url, office_account(client, admin, "u-sub1", "sub-1", "s-sub"))
    assert "已升级至街道办事处" in card(browser, case["id"]).text

    form = open_form(browser, case["id"], "take-over")
    pane = browser.find_element(*PANE)
    assert "督办层级" in pane.text
    assert "已升级至街道办事处" in pane.text
    assert "工单改由本单位承办" in form.text
    form.find_element(By.CSS_SELECTOR, "button.submit").click()  # no reason yet
    assert "请填写原因" in form.find_element(By.CSS_SELECTOR, ".error").text
    form.find_element(By.NAME, "reason").send_keys("三次督办未办结由街道接管")
    form.find_element(By.CSS_SELECTOR, "button.submit").click()

    line = history_line(browser, "redispatched")
    assert "已接管" in line
    assert "三次督办未办结由街道接管" in line
    assert "街道办事处 p-sub" in line  # handed to the office's party
    assert "s-sub" in history_line(browser, "claimed")
    wait(browser).until(lambda b: "街道办事处" in b.find_element(*PANE).text)
    detail = client.get(f"/api/v1/cases/{case['id']}", headers=admin).json()
    assert [a["party_id"] for a in detail["assignments"]] == ["p-sub"]
    assert detail["claimed_by"] == "s-sub"


def test_property_staff_see_the_rung_but_no_take_over(
    browser: Any, base_url: str, client: httpx.Client, admin: H, api_db: str, make_user: Any
) -> None:
    case = climbed_case(client, admin, api_db, "Stair light out for weeks")
    log_in(browser, base_url, make_user("property_staff"), query="?lang=en")
    assert "escalated to the subdistrict office" in card(browser, case["id"]).text
    click_settled(browser, (By.CSS_SELECTOR, f"#columns .case[data-case-id='{case['id']}']"))
    settled = (By.CSS_SELECTOR, f"#pane[data-case-id='{case['id']}']:not([data-loading])")
    wait(browser).until(ec.presence_of_element_located(settled))
    # The pane's forms are drawn (re-dispatch is offered): the take-over is not among them.
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#pane .open-redispatch")))
    assert "escalated to the subdistrict office" in browser.find_element(*PANE).text
    assert not browser.find_elements(By.CSS_SELECTOR, "#pane .open-take-over")


def test_an_office_without_a_party_in_the_compound_is_told_why(
    browser: Any, base_url: str, client: httpx.Client, admin: H, api_db: str
) -> None:
    case = climbed_case(client, admin, api_db, "Stair light out again")
    log_in(browser, base_url, office_account(client, admin, "u-sub3", "sub-3", None), "?lang=en")
    form = open_form(browser, case["id"], "take-over")
    form.find_element(By.NAME, "reason").send_keys("We take it")
    form.find_element(By.CSS_SELECTOR, "button.submit").click()
    error = (By.CSS_SELECTOR, "#pane form.case-form .error")
    wait(browser).until(
        lambda b: "(sub-3) has no party in compound c1" in b.find_element(*error).text
    )
    detail = client.get(f"/api/v1/cases/{case['id']}", headers=admin).json()
    assert detail["version"] == case["version"] + 3  # the three escalations, nothing more
