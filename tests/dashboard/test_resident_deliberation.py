"""A resident's deliberation on a phone (390 x 844) in headless Chromium: staff convene
a lift matter for building 1, the resident (signed in with the code from their mail,
their home confirmed) sees it, gives their household's opinion, votes with one press,
and reads the decision with its tally once staff close and publish it - in English,
then in Chinese with no Latin word left on it; offline, the kept list still reads."""

from __future__ import annotations

import re
from typing import Any

import httpx
from selenium.webdriver.common.by import By

from tests.api.conftest import ADMIN_PASSWORD, bearer, login
from tests.dashboard.test_resident_page import (  # noqa: F401 - the fixtures
    NUMBER,
    PHONE,
    app,
    mailbox,
    text_in,
    visible,
    wait,
)
from tests.notify.conftest import Mailbox
from tests.residents.conftest import code_from, wait_mail

V1 = "/api/v1/deliberations"


def _step(client: httpx.Client, admin: dict[str, str], m: int, step: str, **body: Any) -> Any:
    done = client.post(f"{V1}/c1/{m}/{step}", json=body, headers=admin)
    assert done.status_code == 200, done.text
    return done.json()


def test_a_resident_gives_an_opinion_votes_and_reads_the_decision_on_a_phone(
    browser: Any,
    base_url: str,
    client: httpx.Client,
    mailbox: Mailbox,  # noqa: F811 - the fixture
) -> None:
    admin = bearer(login(client, "admin", ADMIN_PASSWORD))
    made = client.post(
        V1,
        json={
            "compound": "c1",
            "title": "1号楼加装电梯",
            "description": "每个单元加装一部电梯, 费用按楼层分摊。",
            "agenda": ["电梯井的位置", "费用分摊"],
            "buildings": ["1"],
            "quorum": "1/2",
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    m = made.json()["id"]

    browser.set_window_size(*PHONE)
    browser.get(f"{base_url}/r/")
    browser.execute_script("localStorage.setItem('dayuan.resident.lang', 'en')")
    browser.refresh()
    visible(browser, "#phone").send_keys(NUMBER)
    browser.find_element(By.ID, "send-code").click()
    visible(browser, "#code").send_keys(code_from(wait_mail(mailbox, NUMBER, 1)))
    browser.find_element(By.ID, "sign-in").click()
    text_in(browser, "#deliberations", "Deliberations are for confirmed homes")
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
    text_in(browser, "#deliberations", "Nothing for your household to deliberate")

    _step(client, admin, m, "open")
    browser.refresh()
    text_in(browser, "#deliberations .delib-title", "1号楼加装电梯")
    text_in(browser, "#deliberations .state", "Collecting opinions")
    agenda = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#deliberations .agenda li")]
    assert agenda == ["电梯井的位置", "费用分摊"]
    assert browser.find_elements(By.CSS_SELECTOR, "#deliberations .vote") == []
    size = browser.execute_script(
        "return parseFloat(getComputedStyle(document.querySelector('#deliberations li')).fontSize)"
    )
    assert size >= 20  # large text
    visible(browser, f"#opinion-{m}").send_keys("Put the shaft at the back, please.")
    browser.find_element(By.CSS_SELECTOR, ".opinion-send").click()
    text_in(browser, "#message", "Your opinion is in")
    text_in(browser, "#deliberations .opinion.mine", "Our household: Put the shaft at the back")
    staff_view = client.get(f"{V1}/c1/{m}", headers=admin).json()
    assert [(o["author"], o["body"][:8]) for o in staff_view["opinions"]] == [
        ("1-1-101", "Put the ")
    ]

    _step(client, admin, m, "voting")
    browser.refresh()
    text_in(browser, "#deliberations .state", "Voting")
    text_in(browser, "#deliberations .voting", "it cannot be changed once cast")
    buttons = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#deliberations .vote")]
    assert buttons == ["For", "Against", "Abstain"]
    width = browser.execute_script("return document.documentElement.clientWidth")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    browser.find_element(By.CSS_SELECTOR, "#deliberations .vote.for").click()
    text_in(browser, "#message", "Your vote is recorded")
    text_in(browser, "#deliberations .my-vote", "Our household voted: For")
    assert browser.find_elements(By.CSS_SELECTOR, "#deliberations .vote") == []  # final
    tally = client.get(f"{V1}/c1/{m}", headers=admin).json()["tally"]
    assert (tally["votes_for"], tally["cast"], tally["electorate"]) == (1, 1, 1)

    _step(client, admin, m, "close", decision="同意加装电梯, 明年三月开工。")
    _step(client, admin, m, "publish")
    browser.refresh()
    text_in(browser, "#deliberations .state", "Decided")
    text_in(browser, "#deliberations .outcome", "Passed")
    text_in(browser, "#deliberations .decision-text", "明年三月开工")
    text_in(browser, "#deliberations .tally", "For 1, against 0, abstain 0 (of 1)")
    text_in(browser, "#notices", "1号楼加装电梯")  # the decision, announced to the building

    browser.find_element(By.ID, "lang").click()
    text_in(browser, "#deliberations .outcome", "通过")
    text_in(browser, "#deliberations .tally", "同意 1\uff0c反对 0\uff0c弃权 0\uff08应参与 1\uff09")
    text_in(browser, "#deliberations .state", "已作出决定")
    shown = browser.find_element(By.ID, "deliberations").text
    # The resident's own words are theirs; every word the page adds is Chinese.
    page_words = shown.replace("Put the shaft at the back, please.", "")
    assert re.findall(r"[A-Za-z]{2,}", page_words) == [], page_words

    # Offline: the kept list still reads, the decision with it.
    wait(browser).until(
        lambda d: (
            d.execute_script("return !!navigator.serviceWorker.controller") or d.refresh() or False
        )
    )
    browser.set_network_conditions(offline=True, latency=0, throughput=0)
    try:
        browser.refresh()
        visible(browser, "#offline")
        text_in(browser, "#deliberations .outcome", "通过")
        text_in(browser, "#deliberations .decision-text", "明年三月开工")
    finally:
        browser.delete_network_conditions()
