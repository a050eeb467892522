"""The deliberation desk in headless Chromium, as a grid worker of building 3 runs a
matter: convened in the form (agenda, building 3, quorum 1/2, the residents' committee
voting too), opened, a party's opinion and a household's (given by phone) recorded,
the vote started, three residents' votes arriving through the resident routes and the
tally on screen following them, the committee's vote recorded, the vote closed with the
outcome and its counts, the decision published, the matter archived and a case linked,
then the same matter in Chinese. Refusals in the form that was sent: a quorum that is no
share and one that is no fraction, and a step someone else took first. A viewer on a
phone reads the list and a matter, one at a time, without a button to act."""

# The resident side's fixtures (sign-in by mail, confirmed households) are imported and
# taken as parameters by name: that is what F811 sees as a redefinition.
# ruff: noqa: F811

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

import registry
from domain import CompoundFile, Household
from tests.api.conftest import full_registry
from tests.dashboard.test_dashboard import click_settled, log_in, wait
from tests.residents.conftest import (  # noqa: F401 - the fixtures
    PHONE_A,
    PHONE_B,
    admin,
    app,
    clock,
    confirmed,
    mailbox,
    sign_in,
)

V1 = "/api/v1"
PHONE_C = "+8613800000003"
BUILDING_3 = ("3-1-101", "3-1-301", "3-2-301")
PHONE = (390, 844)
# Residents' votes reach the screen with the desk's next read of the running tally
# (desk.js TALLY_REFRESH_MS, 5 s): the wait allows for a few on a loaded machine.
TALLY_WAIT_S = 30.0
H = dict[str, str]


@pytest.fixture
def api_db(db_url: str) -> str:
    """c1 with three households in building 3 (grid g2) and one in building 1 (g1)."""
    c1 = full_registry().compounds[0]
    homes = [Household(flat=f) for f in (*BUILDING_3, "1-1-101")]
    with psycopg.connect(db_url, autocommit=True) as c:
        registry.load(
            c,
            CompoundFile(compounds=[c1.model_copy(update={"households": homes})]),
            actor="test:setup",
            now=datetime.now(UTC),
        )
    return db_url


def _text(browser: Any, css: str) -> str:
    """What a person reads there now (read in one step: the desk re-draws as it loads)."""
    return str(
        browser.execute_script("return document.querySelector(arguments[0])?.innerText ?? ''", css)
    )


def _has_text(css: str, text: str) -> Callable[[Any], bool]:
    return lambda b: text in _text(b, css)


def _open_desk(browser: Any) -> None:
    wait(browser).until(ec.visibility_of_element_located((By.ID, "desk-toggle")))
    browser.find_element(By.ID, "desk-toggle").click()
    wait(browser).until(ec.visibility_of_element_located((By.ID, "desk-filters")))


def _matter(client: httpx.Client, staff: H, **changes: Any) -> dict[str, Any]:
    body = {
        "compound": "c1",
        "title": "A bike shed by building 3",
        "description": "A roofed shed for forty bicycles on the lawn.",
        "buildings": ["3"],
        "quorum": "1/2",
        **changes,
    }
    made = client.post(f"{V1}/deliberations", json=body, headers=staff)
    assert made.status_code == 201, made.text
    found: dict[str, Any] = made.json()
    return found


def _step(client: httpx.Client, staff: H, matter_id: int, step: str) -> None:
    done = client.post(f"{V1}/deliberations/c1/{matter_id}/{step}", headers=staff)
    assert done.status_code == 200, done.text


def _press_step(browser: Any, step: str, then_state: str) -> None:
    click_settled(browser, (By.CSS_SELECTOR, f"#desk-steps [data-step='{step}']"))
    wait(browser).until(
        ec.presence_of_element_located(
            (By.CSS_SELECTOR, f"#desk-matter[data-status='{then_state}']")
        )
    )


def test_a_grid_worker_runs_a_matter_from_the_form_to_the_archive(
    browser: Any,
    base_url: str,
    client: httpx.Client,
    admin: H,
    make_user: Any,
    confirmed: Callable[[str, str], H],
) -> None:
    voters = [confirmed(p, f) for p, f in zip((PHONE_A, PHONE_B, PHONE_C), BUILDING_3, strict=True)]
    square = _matter(client, admin, title="Quiet hours on the square", buildings=[])["id"]
    clerk = make_user("grid_worker", ("c1/g2",))
    log_in(browser, base_url, clerk, query="?lang=en")
    _open_desk(browser)
    assert not browser.find_element(By.ID, "board").is_displayed()  # the desk is the matter's
    # The whole compound's matter is the administrator's to run: the clerk reads it.
    click_settled(browser, (By.CSS_SELECTOR, f"tr.desk-row[data-matter-id='{square}']"))
    wait(browser).until(ec.visibility_of_element_located((By.ID, "desk-not-yours")))
    assert "The whole compound" in _text(browser, ".desk-facts")
    assert not browser.find_elements(By.CSS_SELECTOR, "#desk-steps, [id^='desk-open-']")
    click_settled(browser, (By.ID, "desk-back"))

    click_settled(browser, (By.ID, "desk-new"))
    wait(browser).until(ec.visibility_of_element_located((By.ID, "desk-new-form")))
    browser.find_element(By.ID, "desk-title").send_keys("A lift for building 3")
    browser.find_element(By.ID, "desk-description").send_keys(
        "One lift per stairwell; the owners share the cost by floor."
    )
    browser.find_element(By.ID, "desk-agenda").send_keys(
        "Where the shafts go\nHow the cost is shared"
    )
    # A grid worker's matters are their grids' buildings: only building 3 is offered.
    offered = browser.find_elements(By.CSS_SELECTOR, "#desk-buildings input")
    assert [b.get_attribute("value") for b in offered] == ["3"]
    assert "Building 3" in _text(browser, "#desk-buildings")
    offered[0].click()
    quorum = browser.find_element(By.ID, "desk-quorum")
    quorum.clear()
    quorum.send_keys("1/2")
    browser.find_element(By.CSS_SELECTOR, "#desk-parties input[value='p-rc']").click()
    browser.find_element(By.ID, "desk-organisations-vote").click()
    browser.find_element(By.ID, "desk-new-submit").click()

    wait(browser).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#desk-matter[data-status='draft']"))
    )
    assert _text(browser, "#desk-matter-title") == "A lift for building 3"
    assert [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#desk-agenda li")] == [
        "Where the shafts go",
        "How the cost is shared",
    ]
    facts = _text(browser, ".desk-facts")
    assert "Buildings: Building 3" in facts
    assert "1/2" in facts
    assert "Residents' committee" in _text(browser, "#desk-participants")
    row = "tr.desk-row.current"  # the matter just convened, on top of the list
    assert "Draft" in _text(browser, row)
    assert "Matter convened" in browser.find_element(By.ID, "toast").get_attribute("textContent")
    # Only the step a draft allows; nothing to vote on yet.
    steps = browser.find_elements(By.CSS_SELECTOR, "#desk-steps .desk-step")
    assert [s.text for s in steps] == ["Open for opinions"]
    assert not browser.find_elements(By.ID, "desk-tally")

    _press_step(browser, "open", "open")
    click_settled(browser, (By.ID, "desk-open-opinion"))
    wait(browser).until(ec.visibility_of_element_located((By.ID, "desk-opinion-form")))
    Select(browser.find_element(By.ID, "desk-opinion-item")).select_by_value("2")
    browser.find_element(By.ID, "desk-opinion-body").send_keys("Ground-floor owners pay nothing.")
    browser.find_element(By.ID, "desk-opinion-submit").click()
    opinions = "#desk-opinions"
    wait(browser).until(_has_text(opinions, "Ground-floor owners pay nothing."))
    assert "Residents' committee · on item 2" in _text(browser, opinions)
    # An elder phoned in their household's opinion: recorded on its behalf.
    click_settled(browser, (By.ID, "desk-open-opinion"))
    wait(browser).until(ec.visibility_of_element_located((By.ID, "desk-opinion-form")))
    Select(browser.find_element(By.ID, "desk-opinion-author")).select_by_value("household")
    browser.find_element(By.ID, "desk-opinion-flat").send_keys("3-2-301")
    browser.find_element(By.ID, "desk-opinion-body").send_keys("We are on the third floor: yes.")
    browser.find_element(By.ID, "desk-opinion-submit").click()
    wait(browser).until(_has_text(opinions, "We are on the third floor: yes."))
    assert "Building 3, unit 2, flat 301" in _text(browser, opinions)

    _press_step(browser, "voting", "voting")
    tally = "#desk-tally"
    assert "For 0, against 0, abstain 0: 0 of 4 voted" in _text(browser, tally)
    assert "Tally so far" in _text(browser, tally)
    m = int(browser.find_element(By.ID, "desk-matter").get_attribute("data-matter-id"))
    for me, choice in zip(voters, ("for", "for", "against"), strict=True):
        cast = client.post(
            f"{V1}/residents/me/deliberations/{m}/vote", json={"choice": choice}, headers=me
        )
        assert cast.status_code == 200, cast.text
    wait(browser, TALLY_WAIT_S).until(_has_text(tally, "For 2, against 1, abstain 0: 3 of 4 voted"))
    assert "Quorum 1/2 reached" in _text(browser, tally)
    assert "So far: Passed" in _text(browser, tally)

    click_settled(browser, (By.ID, "desk-open-vote"))
    wait(browser).until(ec.visibility_of_element_located((By.ID, "desk-vote-form")))
    Select(browser.find_element(By.ID, "desk-vote-choice")).select_by_value("against")
    browser.find_element(By.ID, "desk-vote-submit").click()
    wait(browser).until(_has_text(tally, "For 2, against 2, abstain 0: 4 of 4 voted"))
    assert "So far: Not passed" in _text(browser, tally)  # two of four is no majority

    click_settled(browser, (By.CSS_SELECTOR, "#desk-steps [data-step='close']"))
    wait(browser).until(ec.visibility_of_element_located((By.ID, "desk-close-form")))
    browser.find_element(By.ID, "desk-close-submit").click()
    assert _text(browser, "#desk-close-error") == "Write the decision"
    browser.find_element(By.ID, "desk-decision").send_keys(
        "No lift for now; asked again in spring."
    )
    browser.find_element(By.ID, "desk-close-submit").click()
    wait(browser).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#desk-matter[data-status='decided']"))
    )
    assert "For 2, against 2, abstain 0: 4 of 4 voted" in _text(browser, tally)
    assert "Tally recorded at the close" in _text(browser, tally)
    assert "Outcome: Not passed" in _text(browser, "#desk-outcome")
    assert "asked again in spring" in _text(browser, "#desk-decision")
    assert "Not published yet" in _text(browser, "#desk-published")

    _press_step(browser, "publish", "decided")
    wait(browser).until(_has_text("#desk-published", "Published to the households"))
    notice = client.get(f"{V1}/residents/me/announcements", headers=voters[0])
    assert notice.status_code == 200, notice.text
    assert "A lift for building 3" in notice.text  # the decision, announced to building 3
    _press_step(browser, "archive", "archived")
    assert not browser.find_elements(By.CSS_SELECTOR, "#desk-steps .desk-step")
    assert not browser.find_elements(By.ID, "desk-open-opinion")
    assert "Archived" in _text(browser, row)

    report = {
        "compound": "c1",
        "category": "repair",
        "description": "Residents of building 3 ask for a lift",
        "reporter": "r-1",
        "location": "3-1-101",
    }
    case = client.post(f"{V1}/cases", json=report, headers=admin)
    assert case.status_code == 201, case.text
    case_id = case.json()["id"]
    click_settled(browser, (By.ID, "desk-open-case"))
    wait(browser).until(ec.visibility_of_element_located((By.ID, "desk-case-form")))
    browser.find_element(By.ID, "desk-case-id").send_keys(str(case_id))
    browser.find_element(By.ID, "desk-case-submit").click()
    wait(browser).until(_has_text("#desk-cases", f"#{case_id}"))
    click_settled(browser, (By.ID, f"desk-case-{case_id}"))
    wait(browser).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, f"#pane[data-case-id='{case_id}']"))
    )
    browser.find_element(By.ID, "pane-close").click()

    browser.find_element(By.ID, "lang").click()
    wait(browser).until(_has_text("#desk-matter", "已归档"))
    assert "未通过" in _text(browser, "#desk-outcome")
    assert "同意 2\uff0c反对 2\uff0c弃权 0\uff1a已投 4/4" in _text(browser, tally)
    assert "楼栋\uff1a3号楼" in _text(browser, ".desk-facts")
    assert "3号楼2单元301室" in _text(browser, opinions)
    # Every word the desk adds is Chinese (titles, opinions and party names are as written).
    added = browser.execute_script(
        "return [...document.querySelectorAll('#desk h2, #desk h4, #desk th, #desk button,"
        " #desk dt, #desk .desk-state, #desk .desk-tally p, #desk .desk-hint')]"
        ".map((e) => e.innerText).join(' | ')"
    )
    assert re.findall(r"[A-Za-z]{2,}", added) == [], added


def test_refusals_show_their_reason_in_the_form(
    browser: Any, base_url: str, client: httpx.Client, admin: H, make_user: Any
) -> None:
    log_in(browser, base_url, make_user("admin"), query="?lang=en")
    _open_desk(browser)
    click_settled(browser, (By.ID, "desk-new"))
    wait(browser).until(ec.visibility_of_element_located((By.ID, "desk-new-form")))
    browser.find_element(By.ID, "desk-title").send_keys("A parking plan")
    browser.find_element(By.ID, "desk-description").send_keys("Who parks where.")
    quorum = browser.find_element(By.ID, "desk-quorum")
    error = "#desk-new-error"
    for typed, why in (
        ("3/2", "the quorum is a share of the households, between 0 and 1"),
        ("two thirds", "the quorum is a fraction such as 2/3 or a decimal such as 0.5"),
    ):
        quorum.clear()
        quorum.send_keys(typed)
        browser.find_element(By.ID, "desk-new-submit").click()
        wait(browser).until(_has_text(error, why))
        assert _text(browser, error).startswith("Refused: ")
    assert browser.find_element(By.ID, "desk-title").get_attribute("value") == "A parking plan"
    browser.find_element(By.ID, "lang").click()  # the form is drawn anew in Chinese
    wait(browser).until(ec.visibility_of_element_located((By.ID, "desk-new-form")))
    browser.find_element(By.ID, "desk-title").send_keys("停车方案")
    browser.find_element(By.ID, "desk-description").send_keys("车位如何分配。")
    quorum = browser.find_element(By.ID, "desk-quorum")
    quorum.clear()
    quorum.send_keys("3/2")
    browser.find_element(By.ID, "desk-new-submit").click()
    wait(browser).until(_has_text(error, "法定人数是住户的比例\uff0c须在0与1之间"))
    listed = client.get(f"{V1}/deliberations", params={"compound": "c1"}, headers=admin)
    assert listed.json()["count"] == 0  # nothing refused was stored
    browser.find_element(By.ID, "desk-new-submit-cancel").click()
    browser.find_element(By.ID, "lang").click()

    # Two clerks at one matter: the other one started the vote a moment before.
    m = _matter(client, admin)["id"]
    _step(client, admin, m, "open")
    browser.find_element(By.ID, "desk-toggle").click()  # off and on: the list as of now
    _open_desk(browser)
    click_settled(browser, (By.CSS_SELECTOR, f"tr.desk-row[data-matter-id='{m}']"))
    wait(browser).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#desk-matter[data-status='open']"))
    )
    _step(client, admin, m, "voting")
    click_settled(browser, (By.CSS_SELECTOR, "#desk-steps [data-step='voting']"))
    wait(browser).until(_has_text("#desk-step-error", 'the matter is already at "Voting"'))
    assert 'this step is for a matter at "Collecting opinions"' in _text(
        browser, "#desk-step-error"
    )
    # The desk shows the matter as it is now: the vote's step, the running tally.
    wait(browser).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#desk-matter[data-status='voting']"))
    )
    assert [s.text for s in browser.find_elements(By.CSS_SELECTOR, ".desk-step")] == [
        "Close the vote"
    ]
    assert "0 of 0 voted" in _text(browser, "#desk-tally")


def test_a_viewer_on_a_phone_reads_the_matters_without_a_button_to_act(
    browser: Any, base_url: str, client: httpx.Client, admin: H, make_user: Any
) -> None:
    voting = _matter(client, admin, title="A bike shed by building 3")["id"]
    _step(client, admin, voting, "open")
    said = client.post(
        f"{V1}/deliberations/c1/{voting}/opinions",
        json={"household": "3-1-101", "body": "Near the gate, please."},
        headers=admin,
    )
    assert said.status_code == 200, said.text
    _step(client, admin, voting, "voting")
    _matter(client, admin, title="Quiet hours on the square", buildings=[])

    browser.set_window_size(*PHONE)
    log_in(browser, base_url, make_user("viewer"), query="?lang=en")
    tab = (By.CSS_SELECTOR, "#tabs button[data-panel='desk']")
    wait(browser).until(ec.visibility_of_element_located(tab))
    assert not browser.find_element(By.ID, "desk-toggle").is_displayed()  # the tab does it
    browser.find_element(*tab).click()
    rows = "tr.desk-row"
    wait(browser).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, rows)) == 2)
    assert not browser.find_element(By.ID, "board").is_displayed()  # one panel at a time
    assert "All (2)" in _text(browser, "#desk-filters")
    click_settled(browser, (By.CSS_SELECTOR, ".desk-filter[data-state='voting']"))
    wait(browser).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, rows)) == 1)
    assert "A bike shed by building 3" in _text(browser, rows)
    assert "Voting" in _text(browser, rows)
    assert not browser.find_elements(By.ID, "desk-new")

    click_settled(browser, (By.CSS_SELECTOR, rows))
    wait(browser).until(ec.visibility_of_element_located((By.ID, "desk-matter")))
    assert not browser.find_element(By.ID, "desk-list").is_displayed()  # the matter alone
    assert "0 of 0 voted" in _text(browser, "#desk-tally")
    assert "Near the gate, please." in _text(browser, "#desk-opinions")
    for absent in ("#desk-steps", "[id^='desk-open-']", ".desk-form"):
        assert not browser.find_elements(By.CSS_SELECTOR, absent), absent
    width = browser.execute_script("return document.documentElement.clientWidth")
    past_edge = browser.execute_script(
        "return [...document.querySelectorAll('#desk *')]"
        ".filter((e) => e.getBoundingClientRect().right > arguments[0] + 1).map((e) => e.id)",
        width,
    )
    assert past_edge == []
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    click_settled(browser, (By.ID, "desk-back"))
    wait(browser).until(ec.visibility_of_element_located((By.ID, "desk-list")))
