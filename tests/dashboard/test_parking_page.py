"""The parking panel in headless Chromium against the real API and PostgreSQL, as the
property company's clerk, an administrator and a viewer use it: a resident's car and a
visitor pass registered in the forms and listed (a bad plate refused with the reason in
the form); the stays the sweep paired from the barrier's plate reads, with their
missed-read marks, durations and fees, today's takings and the occupancy beside the
barrier's own count, filtered to the cars inside and by plate, in both languages; the
tariff changed by an administrator, a negative rate refused with the API's reason; a
viewer's panel without plates or a single write button, also on a phone.

    now(min)   -131      -100      -60    -30   -20    -1
    stranger    in ------------------------------------ out    2 h 10 min: 15 yuan
    forgetful             in ------------- in -------->        exit not read, inside again
    resident                        in --------------->        inside, exempt
    ghost                                         out          entry not read
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec

from api import create_app
from tests.api import data
from tests.api.conftest import ADMIN_PASSWORD, FakeClock, bearer, config_for, login
from tests.dashboard.test_dashboard import click_settled, log_in, wait
from tests.factories import BARRIER
from tests.fix_mqtt import Broker

V1 = "/api/v1/parking"
STRANGER, FORGETFUL, RESIDENT, GHOST, VISITOR = (
    "苏E54321",
    "浙B22222",
    "浙A12345",
    "浙B33333",
    "沪AD12345",
)
PHONE = (390, 844)
SWEEP_WAIT_S = 20.0  # the lifespan's sweep, every 0.2 s here, on a loaded machine
_seq = iter(range(1, 10**6))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(api_db: str, broker: Broker, clock: FakeClock) -> FastAPI:
    # The sweep looks every 0.2 s: the tests wait on the stays, never on a duration.
    return create_app(config_for(api_db, broker, parking_sweep_s=0.2), clock=clock)


def _text(browser: Any, css: str) -> str:
    """What a person reads there now (read in one step: the panel re-draws as it loads)."""
    return str(
        browser.execute_script("return document.querySelector(arguments[0])?.innerText ?? ''", css)
    )


def _texts(browser: Any, css: str) -> list[str]:
    return [
        str(x)
        for x in browser.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map((e) => e.innerText)", css
        )
    ]


def _open_panel(browser: Any) -> None:
    wait(browser).until(ec.visibility_of_element_located((By.ID, "parking-toggle")))
    browser.find_element(By.ID, "parking-toggle").click()
    wait(browser).until(ec.visibility_of_element_located((By.ID, "park-tariff")))


def _lot(db_url: str, client: httpx.Client, admin: dict[str, str], clock: FakeClock) -> None:
    """The timeline of the module's docstring, paired by the lifespan's sweep; the
    barrier's own count says 3 of 40."""
    made = client.post(
        f"{V1}/vehicles",
        json={"compound": "c1", "flat": "1-1-101", "plate": RESIDENT},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    now = datetime.now(UTC).replace(microsecond=0)
    ago = lambda minutes: now - timedelta(minutes=minutes)  # noqa: E731
    at_ms = lambda at: int(at.timestamp() * 1000)  # noqa: E731
    barrier = f"dayuan/v1/c1/barrier/{BARRIER}"
    data.store(
        db_url,
        (f"{barrier}/telemetry", {"ts": at_ms(ago(5)), "values": {"occupancy": 3, "capacity": 40}}),
        *(
            (
                f"{barrier}/event",
                {
                    "ts": at_ms(at),
                    "seq": next(_seq),
                    "type": "plate",
                    "plate": plate,
                    "direction": way,
                    "confidence": 0.97,
                },
            )
            for at, plate, way in (
                (ago(131), STRANGER, "in"),
                (ago(100), FORGETFUL, "in"),
                (ago(60), RESIDENT, "in"),
                (ago(30), FORGETFUL, "in"),
                (ago(20), GHOST, "out"),
                (ago(1), STRANGER, "out"),
            )
        ),
    )
    # Past the reads' settling time (after the logins: a token is not taken before the
    # time it says it was issued).
    clock.advance(minutes=1)
    deadline = time.monotonic() + SWEEP_WAIT_S
    while time.monotonic() < deadline:
        got = client.get(f"{V1}/stays", params={"compound": "c1"}, headers=admin)
        if got.json()["count"] == 5:
            return
        time.sleep(0.2)
    raise AssertionError(f"the sweep paired {got.json()['count']} stays of 5")


def _stay(plate: str) -> str:
    return f"//tr[contains(@class, 'park-stay')][td[1][normalize-space()='{plate}']]"


def test_a_clerk_registers_a_residents_car_and_a_visitor_and_sees_them_listed(
    browser: Any, base_url: str, make_user: Any, client: httpx.Client
) -> None:
    log_in(browser, base_url, make_user("property_staff"), query="?lang=en")
    _open_panel(browser)
    assert not browser.find_element(By.ID, "board").is_displayed()  # the desk is parking's
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-action='park.edit_tariff']")

    click_settled(browser, (By.CSS_SELECTOR, "[data-action='park.register_vehicle']"))
    wait(browser).until(ec.visibility_of_element_located((By.ID, "park-vehicle-form")))
    browser.find_element(By.ID, "park-vehicle-flat").send_keys("1-1-101")
    plate = browser.find_element(By.ID, "park-vehicle-plate")
    plate.send_keys("京A1234")  # one character short
    browser.find_element(By.ID, "park-vehicle-save").click()
    wait(browser).until(lambda b: _text(b, "#park-vehicle-error"))
    refusal = _text(browser, "#park-vehicle-error")
    assert "Plate" in refusal
    assert "a plate has 7" in refusal  # the API's reason, in the form that caused it
    plate.clear()
    plate.send_keys("浙a·12345")  # typed loosely: kept in normal form
    browser.find_element(By.ID, "park-vehicle-save").click()
    household = "tr.park-household[data-flat='1-1-101']"
    wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, household)))
    assert RESIDENT in _text(browser, household)
    assert "Building 1, unit 1, flat 101" in _text(browser, household)
    assert "Car registered" in browser.find_element(By.ID, "toast").get_attribute("textContent")

    click_settled(browser, (By.CSS_SELECTOR, "[data-action='park.register_visitor']"))
    wait(browser).until(ec.visibility_of_element_located((By.ID, "park-visitor-form")))
    browser.find_element(By.ID, "park-visitor-plate").send_keys(VISITOR)
    browser.find_element(By.ID, "park-visitor-flat").send_keys("3-2-301")
    browser.find_element(By.ID, "park-visitor-save").click()  # from now, for four hours
    visitor = "tr.park-visitor.current"
    wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, visitor)))
    assert VISITOR in _text(browser, visitor)
    assert "Building 3, unit 2, flat 301" in _text(browser, visitor)
    assert "valid now" in _text(browser, visitor)

    admin = bearer(login(client, "admin", ADMIN_PASSWORD))
    [car] = client.get(f"{V1}/vehicles", params={"compound": "c1"}, headers=admin).json()["data"]
    assert (car["flat"], car["plate"], car["added_by"]) == ("1-1-101", RESIDENT, "u-property_staff")
    [visit] = client.get(f"{V1}/visitors", params={"compound": "c1"}, headers=admin).json()["data"]
    valid_for = datetime.fromisoformat(visit["valid_to"]) - datetime.fromisoformat(
        visit["valid_from"]
    )
    assert (visit["flat"], valid_for) == ("3-2-301", timedelta(hours=4))

    # The household sold the car: removed after a confirmation, the list empty again.
    chip = f"{household} .park-chip[data-plate='{RESIDENT}']"
    browser.find_element(By.CSS_SELECTOR, f"{chip} [data-action='park.remove']").click()
    click_settled(browser, (By.CSS_SELECTOR, f"{chip} [data-action='park.remove_confirm']"))
    wait(browser).until(lambda b: not b.find_elements(By.CSS_SELECTOR, household))
    assert (
        client.get(f"{V1}/vehicles", params={"compound": "c1"}, headers=admin).json()["count"] == 0
    )


def test_stays_from_plate_reads_show_their_fee_marks_and_the_occupancy(
    browser: Any,
    base_url: str,
    make_user: Any,
    client: httpx.Client,
    api_db: str,
    clock: FakeClock,
) -> None:
    log_in(browser, base_url, make_user("property_staff"), query="?lang=en")
    _lot(api_db, client, bearer(login(client, "admin", ADMIN_PASSWORD)), clock)
    _open_panel(browser)  # reads the lot as it is now
    wait(browser).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "tr.park-stay")) == 5)

    left = _text(browser, "tr.park-stay.closed")
    assert STRANGER in left
    assert "Left" in left
    assert "2 h 10 min" in left
    assert "¥15.00" in left  # 3 started hours past the 30 free minutes, at 5 yuan
    assert "Not registered" in left
    resident = browser.find_element(By.XPATH, _stay(RESIDENT)).text
    assert "Inside" in resident
    assert "Resident's" in resident
    assert "¥0.00 (if leaving now)" in resident  # exempt
    missed = browser.find_elements(By.CSS_SELECTOR, "tr.park-stay.missed")
    assert {row.get_attribute("data-status") for row in missed} == {"exit_missed", "entry_missed"}
    assert "Entry not read" in browser.find_element(By.XPATH, _stay(GHOST)).text
    assert "Exit not read" in _text(browser, "tr.park-stay.exit_missed")
    assert "not read" in _text(browser, "tr.park-stay.entry_missed td:nth-child(4)")  # no entry

    tile = "#park-occupancy [data-tile='{}'] b"
    assert _text(browser, tile.format("inside")) == "2"  # the resident and the forgetful
    assert _text(browser, tile.format("barrier")) == "3 / 40"
    assert _text(browser, tile.format("gap")) == "1"
    assert _text(browser, tile.format("takings")) == "¥15.00"

    browser.find_element(By.ID, "park-filter-open").click()
    wait(browser).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "tr.park-stay")) == 2)
    assert {row.split("\t")[2] for row in _texts(browser, "tr.park-stay")} == {"Inside"}
    assert "2 of 2 stays shown" in _text(browser, "#park-stays-count")
    browser.find_element(By.ID, "park-filter-open").click()
    wait(browser).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "tr.park-stay")) == 5)
    browser.find_element(By.ID, "park-filter-plate").send_keys("e 543", Keys.ENTER)
    wait(browser).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "tr.park-stay")) == 1)
    assert STRANGER in _text(browser, "tr.park-stay")
    click_settled(browser, (By.CSS_SELECTOR, "[data-action='park.all_plates']"))
    wait(browser).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "tr.park-stay")) == 5)

    browser.find_element(By.ID, "lang").click()
    wait(browser).until(lambda b: "已离场" in _text(b, "tr.park-stay.closed"))
    assert "2小时10分钟" in _text(browser, "tr.park-stay.closed")
    assert "15.00元" in _text(browser, "tr.park-stay.closed")
    assert "入场未识别" in _text(browser, "tr.park-stay.entry_missed")
    assert _text(browser, tile.format("takings")) == "15.00元"
    assert "今日停车费" in _text(browser, "#park-occupancy")


def test_an_admin_changes_the_tariff_and_a_refused_one_shows_the_reason(
    browser: Any, base_url: str, make_user: Any, client: httpx.Client
) -> None:
    log_in(browser, base_url, make_user("admin"), query="?lang=en")
    _open_panel(browser)
    assert _text(browser, "#park-tariff dd[data-field='hourly_fen']") == "¥5.00"  # the default

    click_settled(browser, (By.CSS_SELECTOR, "[data-action='park.edit_tariff']"))
    wait(browser).until(ec.visibility_of_element_located((By.ID, "park-tariff-form")))
    for field, value in (("hourly_fen", "8"), ("daily_cap_fen", "60.5"), ("free_minutes", "15")):
        box = browser.find_element(By.ID, f"park-tariff-{field}")
        box.clear()
        box.send_keys(value)
    browser.find_element(By.ID, "park-tariff-residents_exempt").click()  # residents pay too
    browser.find_element(By.ID, "park-tariff-save").click()
    wait(browser).until(lambda b: _text(b, "#park-tariff dd[data-field='hourly_fen']") == "¥8.00")
    assert _text(browser, "#park-tariff dd[data-field='daily_cap_fen']") == "¥60.50"
    assert _text(browser, "#park-tariff dd[data-field='free_minutes']") == "15 min"
    assert _text(browser, "#park-tariff dd[data-field='residents_exempt']") == "no"
    admin = bearer(login(client, "admin", ADMIN_PASSWORD))
    saved = client.get(f"{V1}/tariff", params={"compound": "c1"}, headers=admin).json()
    assert (saved["hourly_fen"], saved["daily_cap_fen"], saved["residents_exempt"]) == (
        800,
        6050,
        False,
    )

    click_settled(browser, (By.CSS_SELECTOR, "[data-action='park.edit_tariff']"))
    wait(browser).until(ec.visibility_of_element_located((By.ID, "park-tariff-form")))
    rate = browser.find_element(By.ID, "park-tariff-hourly_fen")
    rate.clear()
    rate.send_keys("-5")
    browser.find_element(By.ID, "park-tariff-save").click()
    wait(browser).until(lambda b: _text(b, "#park-tariff-error"))
    refusal = _text(browser, "#park-tariff-error")
    assert "Per started hour" in refusal  # the field in words, not hourly_fen
    assert "greater than or equal to 0" in refusal  # the API's reason
    assert browser.find_element(By.ID, "park-tariff-form").is_displayed()  # still as typed
    assert rate.get_attribute("value") == "-5"
    kept = client.get(f"{V1}/tariff", params={"compound": "c1"}, headers=admin).json()
    assert kept["hourly_fen"] == 800

    rate.clear()
    rate.send_keys("70")  # more than the daily cap: the tariff's own rule refuses it
    browser.find_element(By.ID, "park-tariff-save").click()
    wait(browser).until(lambda b: "one hour's fee" in _text(b, "#park-tariff-error"))
    assert "At most per 24 h" in _text(browser, "#park-tariff-error")
    browser.find_element(By.ID, "lang").click()  # the form drawn again keeps what was typed
    wait(browser).until(lambda b: "每24小时封顶" in _text(b, "#park-tariff-form"))
    assert browser.find_element(By.ID, "park-tariff-hourly_fen").get_attribute("value") == "70"
    assert not browser.find_element(By.ID, "park-tariff-residents_exempt").is_selected()


@pytest.mark.parametrize("size", [(1600, 1000), PHONE], ids=["desk", "phone"])
def test_a_viewer_sees_the_lot_without_plates_or_write_buttons(
    browser: Any,
    base_url: str,
    make_user: Any,
    client: httpx.Client,
    api_db: str,
    clock: FakeClock,
    size: tuple[int, int],
) -> None:
    browser.set_window_size(*size)
    log_in(browser, base_url, make_user("viewer"), query="?lang=en")
    _lot(api_db, client, bearer(login(client, "admin", ADMIN_PASSWORD)), clock)
    if size == PHONE:
        click_settled(browser, (By.CSS_SELECTOR, "#tabs button[data-panel='parking']"))
        wait(browser).until(ec.visibility_of_element_located((By.ID, "park-tariff")))
    else:
        _open_panel(browser)
    wait(browser).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "tr.park-stay")) == 5)

    assert not browser.find_elements(By.CSS_SELECTOR, "#parking .park-write")
    assert not browser.find_elements(By.CSS_SELECTOR, "#parking form")
    for absent in ("park-vehicles", "park-visitors", "park-filter-plate"):
        assert not browser.find_elements(By.ID, absent), absent
    page = _text(browser, "#parking")
    assert not [plate for plate in (STRANGER, FORGETFUL, RESIDENT, GHOST) if plate in page]
    assert "not shown" in _text(browser, "tr.park-stay.closed")
    assert "¥15.00" in _text(browser, "tr.park-stay.closed")
    assert _text(browser, "#park-occupancy [data-tile='inside'] b") == "2"
    assert _text(browser, "#park-tariff dd[data-field='hourly_fen']") == "¥5.00"
    scroll = browser.execute_script(
        "const p = document.querySelector('#parking'); return p.scrollWidth - p.clientWidth"
    )
    assert scroll == 0  # nothing wider than the screen, on a phone too
