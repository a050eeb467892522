"""The room's frame at desk, wall and phone sizes, as a person sees it: the board's five
columns fit their panel (no sideways scroll, the fifth column not clipped), the phone's
header stays compact and the case pane opens below it (the tabs stay in reach), dark
scrollbars, and a favicon."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from tests.api.conftest import ADMIN_PASSWORD, bearer, login
from tests.dashboard.test_dashboard import log_in, wait

PHONE = (390, 844)
PHONE_HEADER_MAX_PX = 96  # two rows: title, pill and buttons; then the tabs


def _a_case_with_a_long_title(client: httpx.Client) -> None:
    admin = bearer(login(client, "admin", ADMIN_PASSWORD))
    body = {
        "compound": "c1",
        "category": "noise",
        "description": "Loud music every night from the flat above, since the start of the month",
        "reporter": "r-1",
        "location": "1-1-101",
    }
    created = client.post("/api/v1/cases", json=body, headers=admin)
    assert created.status_code == 201, created.text


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)], ids=["desk", "wall-size"])
def test_the_board_fits_its_five_columns(
    browser: Any, base_url: str, make_user: Any, client: httpx.Client, size: tuple[int, int]
) -> None:
    _a_case_with_a_long_title(client)
    browser.set_window_size(*size)
    log_in(browser, base_url, make_user("property_staff"))
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#columns .case")))
    fit = browser.execute_script(
        """const board = document.querySelector('#board');
        const cols = [...document.querySelectorAll('#columns .column')];
        const right = board.getBoundingClientRect().right;
        return {scroll: board.scrollWidth - board.clientWidth, columns: cols.length,
                clipped: cols.filter((c) => c.getBoundingClientRect().right > right + 1).length};"""
    )
    assert fit == {"scroll": 0, "columns": 5, "clipped": 0}


def test_the_phone_header_is_compact_and_the_pane_leaves_the_tabs_visible(
    browser: Any, base_url: str, make_user: Any, client: httpx.Client
) -> None:
    _a_case_with_a_long_title(client)
    browser.set_window_size(*PHONE)
    log_in(browser, base_url, make_user("property_staff"))
    header = browser.find_element(By.TAG_NAME, "header")
    assert header.size["height"] <= PHONE_HEADER_MAX_PX
    browser.find_element(By.CSS_SELECTOR, "#tabs button[data-panel='board']").click()
    card = (By.CSS_SELECTOR, "#columns .case")
    wait(browser).until(ec.element_to_be_clickable(card))
    browser.find_element(*card).click()
    wait(browser).until(ec.visibility_of_element_located((By.ID, "pane")))
    pane_top = browser.find_element(By.ID, "pane").rect["y"]
    tabs = browser.find_element(By.ID, "tabs").rect
    assert pane_top >= tabs["y"] + tabs["height"] - 1  # the pane starts below the tabs
    tab = browser.find_element(By.CSS_SELECTOR, "#tabs button[data-panel='feed']")
    tab.click()  # still reachable with the pane open
    assert "current" in tab.get_attribute("class")


def test_dark_scrollbars_and_a_favicon(
    browser: Any, base_url: str, make_user: Any, client: httpx.Client
) -> None:
    log_in(browser, base_url, make_user("viewer"))
    scheme = browser.execute_script("return getComputedStyle(document.documentElement).colorScheme")
    assert scheme == "dark"
    icon = browser.execute_script("return document.querySelector(\"link[rel='icon']\").href")
    got = client.get(icon)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("image/svg+xml")
