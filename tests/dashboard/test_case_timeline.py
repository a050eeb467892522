"""The case pane's timeline in headless Chromium: an SOS's deliveries, the "I cannot"
answered from a link and the repeat round it brought forward, in Chinese and then in
English."""

from __future__ import annotations

from typing import Any

import httpx
from psycopg_pool import ConnectionPool
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

import notify
from domain import SystemClock
from tests.api.test_ack_link import Outbox, path_of, sos_with_links
from tests.dashboard.test_dashboard import click_settled, log_in, wait

NOTICES = (By.CSS_SELECTOR, "#pane .history li.notice")


def timeline_texts(browser: Any, case_id: int, expect: str) -> dict[str, list[str]]:
    """Open the case's pane; its notices' texts by kind, once its repeat round's says
    `expect` (the pane opened before may still be in the page)."""
    click_settled(browser, (By.CSS_SELECTOR, f"#columns .case[data-case-id='{case_id}']"))
    wait(browser).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, "#pane li.repeat"), expect)
    )
    # read in one script: the pane may re-render (a live event) between two element reads
    read = browser.execute_script(
        "return [...document.querySelectorAll(arguments[0])]"
        ".map((li) => [li.dataset.kind, li.textContent])",
        NOTICES[1],
    )
    found: dict[str, list[str]] = {}
    for kind, text in read:
        found.setdefault(str(kind), []).append(str(text))
    return found


def test_the_case_pane_shows_deliveries_an_answer_and_a_repeat_round(
    browser: Any, base_url: str, make_user: Any, client: httpx.Client, api_db: str
) -> None:
    case_id, links = sos_with_links(api_db, base_url)  # to s-care and s-cadre2
    answered = client.post(path_of(links["s-care"]) + "?lang=en", data={"answer": "cannot"})
    assert answered.status_code == 200
    with ConnectionPool(api_db, min_size=1, max_size=2) as pool:
        notify.Notifier(pool, clock=SystemClock(), deliver=Outbox()).run_once()  # round 1

    log_in(browser, base_url, make_user("property_staff"))  # Chinese by default
    zh = timeline_texts(browser, case_id, "第1轮重发")
    assert any("s-cadre2" in x and "已发送" in x for x in zh["notification"])
    assert any("s-care" in x and "回复“我去不了”" in x for x in zh["answer"])
    (repeat,) = zh["repeat"]
    assert "第1轮重发" in repeat
    assert "s-cadre2" in repeat

    browser.find_element(By.ID, "pane-close").click()
    browser.find_element(By.ID, "lang").click()
    en = timeline_texts(browser, case_id, "repeat round 1")
    assert any("s-cadre2" in x and "· sent" in x for x in en["notification"])
    assert any("answered “I cannot”" in x for x in en["answer"])
    assert "repeat round 1" in en["repeat"][0]
