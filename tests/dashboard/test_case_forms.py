"""The case pane's handling forms and the phone-call intake in headless Chromium, as the
desk uses them: a phone call logged becomes a case on the board; a joint consultation
with two participants and its decision, and a rating taken by phone, show on the
timeline; a cancelled case moves to the board's last column; a transfer the API refuses
shows the API's reason in the form (in Chinese on the Chinese screen, from its code); a
case is assigned, claimed (the pane names who is first responsible), given a co-handling
party, and a duplicate merged into it; a re-dispatch replaces its parties."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, bearer, login
from tests.dashboard.test_dashboard import click_settled, log_in, wait

H = dict[str, str]
PANE = (By.ID, "pane")


@pytest.fixture
def admin(client: httpx.Client) -> H:
    return bearer(login(client, "admin", ADMIN_PASSWORD))


def report(client: httpx.Client, admin: H, description: str, *steps: str) -> dict[str, Any]:
    """A resident's repair report at flat 1-1-101 (with p-property), taken through
    `steps` (acknowledge, start, resolve) by the API."""
    body = {
        "compound": "c1",
        "category": "repair",
        "description": description,
        "reporter": "r-1",
        "location": "1-1-101",
    }
    made = client.post("/api/v1/cases", json=body, headers=admin)
    assert made.status_code == 201, made.text
    case: dict[str, Any] = made.json()
    for step in steps:
        extra = {"note": "fixed"} if step == "resolve" else {}
        done = client.post(
            f"/api/v1/cases/{case['id']}/{step}",
            json={"version": case["version"], **extra},
            headers=admin,
        )
        assert done.status_code == 200, done.text
        case = done.json()
    return case


def open_form(browser: Any, case_id: int, action: str) -> Any:
    """Open the case's pane (unless it shows the case already) and its `action` form,
    once the pane has settled (no read of the case under way); the form element."""
    shown = f"#pane[data-case-id='{case_id}']:not([hidden])"
    if not browser.find_elements(By.CSS_SELECTOR, shown):
        click_settled(browser, (By.CSS_SELECTOR, f"#columns .case[data-case-id='{case_id}']"))
    settled = (By.CSS_SELECTOR, f"{shown}:not([data-loading])")
    wait(browser).until(ec.presence_of_element_located(settled))
    click_settled(browser, (By.CSS_SELECTOR, f"#pane button.open-{action}"))
    locator = (By.CSS_SELECTOR, f"#pane form.case-form[data-action='{action}']")
    return wait(browser).until(ec.visibility_of_element_located(locator))


def history_line(browser: Any, transition: str) -> str:
    locator = (By.CSS_SELECTOR, f"#pane .history li[data-transition='{transition}']")
    return str(wait(browser).until(ec.presence_of_element_located(locator)).text)


def test_a_logged_phone_call_appears_on_the_board(
    browser: Any, base_url: str, make_user: Any, client: httpx.Client, admin: H
) -> None:
    log_in(browser, base_url, make_user("property_staff"))
    click_settled(browser, (By.ID, "intake-open"))
    form = wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, "form.intake")))
    Select(form.find_element(By.NAME, "category")).select_by_visible_text("邻里纠纷")
    form.find_element(By.NAME, "location").send_keys("1-1-101")
    form.find_element(By.NAME, "description").send_keys("楼上深夜搬家具")
    form.find_element(By.NAME, "callback").send_keys("138 0013 8000")
    form.find_element(By.CSS_SELECTOR, "button.submit").click()

    card = (By.CSS_SELECTOR, "#columns [data-state='dispatched'] .case")
    wait(browser).until(
        lambda b: any("邻里纠纷: 楼上深夜搬家具" in c.text for c in b.find_elements(*card))
    )
    # The new case's pane: opened from a phone call, the caller's number for call-back.
    wait(browser).until(lambda b: "来电登记" in b.find_element(*PANE).text)
    wait(browser).until(lambda b: "回电号码: +8613800138000" in b.find_element(*PANE).text)
    assert "来电居民" in history_line(browser, "opened")
    (made,) = client.get("/api/v1/cases", headers=admin).json()["data"]
    assert (made["category"], made["location"]) == ("neighbour_dispute", "1-1-101")


def test_a_joint_consultation_with_participants_and_a_decision(
    browser: Any, base_url: str, make_user: Any, client: httpx.Client, admin: H
) -> None:
    case = report(client, admin, "Lift stuck between floors", "acknowledge", "start")
    log_in(browser, base_url, make_user("property_staff"), query="?lang=en")
    form = open_form(browser, case["id"], "record-action")
    Select(form.find_element(By.NAME, "mode")).select_by_value("joint_consultation")
    form.find_element(By.NAME, "note").send_keys("Met on site with the committee")
    # With one participant the form says what is missing and sends nothing.
    form.find_element(By.CSS_SELECTOR, "input[name='participants'][value='p-property']").click()
    form.find_element(By.NAME, "decision").send_keys("Property replaces the lift motor")
    form.find_element(By.CSS_SELECTOR, "button.submit").click()
    assert "two or more participants" in form.find_element(By.CSS_SELECTOR, ".error").text
    form.find_element(By.CSS_SELECTOR, "input[name='participants'][value='p-rc']").click()
    form.find_element(By.CSS_SELECTOR, "button.submit").click()

    line = history_line(browser, "action_recorded")
    assert "Joint consultation" in line
    assert "Participants: p-property, p-rc" in line
    assert "Decision: Property replaces the lift motor" in line
    detail = client.get(f"/api/v1/cases/{case['id']}", headers=admin).json()
    recorded = detail["history"][-1]["detail"]
    assert (recorded["participants"], recorded["decision"]) == (
        ["p-property", "p-rc"],
        "Property replaces the lift motor",
    )


def test_a_rating_taken_by_phone_is_marked_as_a_phone_call(
    browser: Any, base_url: str, make_user: Any, client: httpx.Client, admin: H
) -> None:
    case = report(client, admin, "楼道灯不亮", "acknowledge", "start", "resolve")
    log_in(browser, base_url, make_user("property_staff"))
    form = open_form(browser, case["id"], "rate")
    assert "记为电话回访" in form.text
    Select(form.find_element(By.NAME, "rating")).select_by_value("4")
    form.find_element(By.NAME, "comment").send_keys("修得很快")
    form.find_element(By.CSS_SELECTOR, "button.submit").click()

    line = history_line(browser, "rated")
    assert "4星" in line
    assert "电话回访" in line
    assert "修得很快" in line
    rated = client.get(f"/api/v1/cases/{case['id']}", headers=admin).json()
    assert (rated["rating"], rated["history"][-1]["detail"]["by_phone"]) == (4, True)


def test_a_cancelled_case_moves_to_the_last_column(
    browser: Any, base_url: str, make_user: Any, client: httpx.Client, admin: H
) -> None:
    case = report(client, admin, "Reported twice by mistake")
    log_in(browser, base_url, make_user("property_staff"), query="?lang=en")
    form = open_form(browser, case["id"], "cancel")
    Select(form.find_element(By.NAME, "reason")).select_by_visible_text("not ours to handle")
    form.find_element(By.NAME, "note").send_keys("The water company's main, not ours")
    form.find_element(By.CSS_SELECTOR, "button.submit").click()

    moved = (By.CSS_SELECTOR, f"#columns [data-state='closed'] .case[data-case-id='{case['id']}']")
    wait(browser).until(ec.presence_of_element_located(moved))
    assert not browser.find_elements(
        By.CSS_SELECTOR, f"#columns [data-state='dispatched'] .case[data-case-id='{case['id']}']"
    )
    line = history_line(browser, "cancelled")
    assert "not ours to handle" in line
    assert "The water company's main, not ours" in line


def test_a_refused_transfer_shows_the_apis_reason_in_the_form(
    browser: Any, base_url: str, make_user: Any, client: httpx.Client, admin: H
) -> None:
    case = report(client, admin, "Broken stairwell door")  # with p-property
    log_in(browser, base_url, make_user("property_staff"), query="?lang=en")
    form = open_form(browser, case["id"], "transfer")
    Select(form.find_element(By.NAME, "party")).select_by_value("p-property")
    form.find_element(By.NAME, "reason").send_keys("wrong party")
    form.find_element(By.CSS_SELECTOR, "button.submit").click()

    error = (By.CSS_SELECTOR, "#pane form[data-action='transfer'] .error")
    wait(browser).until(lambda b: b.find_element(*error).text)
    assert f"case {case['id']} is with p-property already" in browser.find_element(*error).text
    unchanged = client.get(f"/api/v1/cases/{case['id']}", headers=admin).json()
    assert unchanged["version"] == case["version"]

    # The same form, another party: handed over, on the timeline.
    Select(form.find_element(By.NAME, "party")).select_by_value("p-rc")
    form.find_element(By.CSS_SELECTOR, "button.submit").click()
    line = history_line(browser, "transferred")
    assert "wrong party" in line
    assert "Residents' committee p-rc" in line


def test_a_refused_transfer_says_why_in_chinese_on_the_chinese_screen(
    browser: Any, base_url: str, make_user: Any, client: httpx.Client, admin: H
) -> None:
    """The API's refusal comes with its machine code: the Chinese screen says the reason
    in Chinese, naming the case and the party, not the API's English sentence."""
    case = report(client, admin, "单元门闭门器坏了")  # with p-property
    log_in(browser, base_url, make_user("property_staff"))
    form = open_form(browser, case["id"], "transfer")
    Select(form.find_element(By.NAME, "party")).select_by_value("p-property")
    form.find_element(By.NAME, "reason").send_keys("转错了")
    form.find_element(By.CSS_SELECTOR, "button.submit").click()

    error = (By.CSS_SELECTOR, "#pane form[data-action='transfer'] .error")
    wait(browser).until(lambda b: b.find_element(*error).text)
    shown = browser.find_element(*error).text
    assert f"未通过: 工单 #{case['id']} 已由 p-property 承办" in shown
    assert "already" not in shown


def test_assign_claim_add_a_party_and_merge_from_the_pane(
    browser: Any, base_url: str, client: httpx.Client, admin: H
) -> None:
    # A property clerk in the registry (p-property), with an account linked to it.
    put = client.put(
        "/api/v1/staff/s-prop",
        json={"compound": "c1", "name": "Fixer", "role": "property_staff", "party": "p-property"},
        headers=admin,
    )
    assert put.status_code in (200, 201), put.text
    account = {"username": "u-fixer", "password": PASSWORD, "role": "property_staff"}
    made = client.post("/api/v1/users", json={**account, "staff_id": "s-prop"}, headers=admin)
    assert made.status_code == 201, made.text
    first = report(client, admin, "Gate hinge broken", "acknowledge")
    duplicate = report(client, admin, "Gate hinge broken again")
    log_in(browser, base_url, "u-fixer", query="?lang=en")

    form = open_form(browser, first["id"], "assign")
    Select(form.find_element(By.NAME, "staff_id")).select_by_value("s-prop")
    form.find_element(By.CSS_SELECTOR, "button.submit").click()
    assert "s-prop" in history_line(browser, "assigned")

    form = open_form(browser, first["id"], "claim")
    form.find_element(By.CSS_SELECTOR, "button.submit").click()
    assert "s-prop" in history_line(browser, "claimed")
    wait(browser).until(lambda b: "Claimed by\ns-prop" in b.find_element(*PANE).text)
    assert "First responsible\ns-prop" in browser.find_element(*PANE).text

    form = open_form(browser, first["id"], "add-party")
    Select(form.find_element(By.NAME, "party")).select_by_value("p-rc")
    form.find_element(By.CSS_SELECTOR, "button.submit").click()
    assert "Residents' committee p-rc" in history_line(browser, "party_added")
    wait(browser).until(
        lambda b: "Property company, Residents' committee" in b.find_element(*PANE).text
    )

    form = open_form(browser, duplicate["id"], "merge")
    form.find_element(By.NAME, "into").send_keys(str(first["id"]))
    form.find_element(By.NAME, "note").send_keys("the same gate")
    form.find_element(By.CSS_SELECTOR, "button.submit").click()
    assert f"merged into #{first['id']}" in history_line(browser, "merged")
    ended = f"#columns [data-state='closed'] .case[data-case-id='{duplicate['id']}']"
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, ended)))


def test_a_redispatch_replaces_the_parties(
    browser: Any, base_url: str, make_user: Any, client: httpx.Client, admin: H
) -> None:
    case = report(client, admin, "Rubbish left by the bike shed", "acknowledge")
    log_in(browser, base_url, make_user("property_staff"), query="?lang=en")
    form = open_form(browser, case["id"], "redispatch")
    form.find_element(By.CSS_SELECTOR, "input[name='parties'][value='p-rc']").click()
    form.find_element(By.NAME, "reason").send_keys("the committee organises the clean-up")
    form.find_element(By.CSS_SELECTOR, "button.submit").click()

    line = history_line(browser, "redispatched")
    assert "handed to: Residents' committee p-rc" in line
    assert "the committee organises the clean-up" in line
    wait(browser).until(lambda b: "Parties\nResidents' committee" in b.find_element(*PANE).text)
    moved = f"#columns [data-state='dispatched'] .case[data-case-id='{case['id']}']"
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, moved)))
