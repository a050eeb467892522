"""The plan and the charts as a person sees them, in headless Chromium, on the reference
compound `dayuan up` plays (~640 devices): every device on the map (alone or counted in
a cluster), an alarming flat's device on top where the eye lands on it, click-through
from the device to its flat's case, one request for the plan and no per-device look-ups,
and charts whose bars show in colours on the dark panel, with words for categories."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.types.json import Jsonb
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

import registry
from tests.api import data
from tests.api.conftest import ADMIN_PASSWORD, bearer, login
from tests.dashboard.test_dashboard import log_in, wait
from tests.factories import generated_compound

PHONE = (390, 844)
WALL = (1920, 1080)


@pytest.fixture
def demo(api_db: str) -> dict[str, Any]:
    """The reference compound beside c1, an SOS open on one elderly flat's pendant;
    the compound's id, its device count, the alarming device and its flat."""
    file = generated_compound()
    compound = file.compounds[0]
    pendant = next(d for d in compound.devices if d.model == "sos_pendant")
    now = datetime.now(UTC)
    with psycopg.connect(api_db, autocommit=True) as conn:
        registry.load(conn, file, actor="test:setup", now=now)
        conn.execute(
            "INSERT INTO alarms (fingerprint, rule_id, rule_version, title, severity,"
            " compound_id, device_id, subject, first_seen, last_seen, opened_at, updated_at,"
            " trigger_values) VALUES (%s, 'sos', 1, 'SOS', 'critical', %s, %s, %s,"
            " %s, %s, %s, %s, %s)",
            (
                f"sos:{pendant.id}",
                compound.id,
                pendant.id,
                pendant.id,
                now,
                now,
                now,
                now,
                Jsonb({}),
            ),
        )
    return {
        "id": compound.id,
        "devices": len(compound.devices),
        "alarming": pendant.id,
        "flat": pendant.address,
    }


def _open_case(client: httpx.Client, compound: str, category: str, location: str) -> int:
    admin = bearer(login(client, "admin", ADMIN_PASSWORD))
    body = {
        "compound": compound,
        "category": category,
        "description": "reported at the desk",
        "reporter": "desk",
        "location": location,
    }
    created = client.post("/api/v1/cases", json=body, headers=admin)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


# What is on screen: individual markers shown plus the counts of the clusters drawn.
_SHOWN = """
const svg = document.querySelector('#plan-svg svg');
const alone = [...svg.querySelectorAll('[data-device]')]
  .filter((m) => m.getAttribute('display') !== 'none').length;
const clustered = [...svg.querySelectorAll('.cluster')]
  .reduce((n, c) => n + Number(c.dataset.count), 0);
return [svg.querySelectorAll('[data-device]').length, alone, clustered,
        svg.querySelectorAll('.cluster').length];
"""

# The element a person's eye (or click) meets at the centre of the marker.
_ON_TOP = """
const m = document.querySelector(`#plan-svg [data-device="${arguments[0]}"]`);
const r = m.getBoundingClientRect();
const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
return [hit === m, r.width, m.parentNode.nextSibling === null, m.nextSibling === null];
"""

_REQUESTS = "return performance.getEntriesByType('resource').map((e) => e.name);"


@pytest.mark.parametrize("size", [None, PHONE, WALL], ids=["desk", "phone", "1920x1080"])
def test_every_device_is_on_the_plan_and_the_alarming_one_on_top(
    browser: Any,
    base_url: str,
    make_user: Any,
    client: httpx.Client,
    demo: dict[str, Any],
    size: tuple[int, int] | None,
) -> None:
    case = _open_case(client, demo["id"], "repair", demo["flat"])
    if size:
        browser.set_window_size(*size)
    log_in(browser, base_url, make_user("property_staff"), "?lang=en")
    if size == PHONE:
        browser.find_element(By.CSS_SELECTOR, "#tabs button[data-panel='plan']").click()
    marker = (By.CSS_SELECTOR, f"#plan-svg [data-device='{demo['alarming']}'].alarming")
    wait(browser).until(ec.visibility_of_element_located(marker))

    total, alone, clustered, clusters = browser.execute_script(_SHOWN)
    assert total == demo["devices"] > 600
    assert alone + clustered == demo["devices"]  # every device drawn, alone or counted
    assert clusters > 0  # zoomed out, a flat's devices make one cluster

    hit, width, last_layer, last = browser.execute_script(_ON_TOP, demo["alarming"])
    assert hit, "the alarming device is hidden under something"
    assert width >= 8  # big enough to see and to tap
    assert last_layer
    assert last

    requests = browser.execute_script(_REQUESTS)
    plans = [r for r in requests if r.endswith(f"/compounds/{demo['id']}/plan")]
    assert len(plans) == 1
    assert not [r for r in requests if "/api/v1/devices/" in r]

    # Zoomed in, the clusters open up into their devices.
    for _ in range(4):
        browser.find_element(By.CSS_SELECTOR, "#plan-svg button[data-zoom='plan.zoom_in']").click()
    wait(browser).until(lambda b: b.execute_script(_SHOWN)[1] > alone)
    total, alone_now, clustered_now, _ = browser.execute_script(_SHOWN)
    assert total == alone_now + clustered_now == demo["devices"]

    # The alarming device opens its pane, and its flat's case opens from there.
    browser.find_element(By.CSS_SELECTOR, "#plan-svg button[data-zoom='plan.fit']").click()
    browser.find_element(*marker).click()  # a real click, at its centre
    link = (By.CSS_SELECTOR, f"#pane button.open-case[data-case-id='{case}']")
    wait(browser).until(ec.visibility_of_element_located(link))
    assert demo["alarming"] in browser.find_element(By.ID, "pane").text
    browser.find_element(*link).click()
    wait(browser).until(
        lambda b: b.find_element(By.ID, "pane").get_attribute("data-case-id") == str(case)
    )


def test_building_labels_and_legend_follow_the_language(
    browser: Any, base_url: str, make_user: Any, demo: dict[str, Any]
) -> None:
    log_in(browser, base_url, make_user("viewer"), "?lang=zh")
    wait(browser).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#plan-svg .building-label"))
    )
    labels = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#plan-svg .building-label")]
    assert "3号楼" in labels
    legend = browser.find_element(By.CSS_SELECTOR, "#plan-svg .plan-legend")
    assert "告警中" in legend.text
    assert legend.size["height"] > 0
    assert browser.execute_script(  # the legend is not clipped by its panel
        "const l = arguments[0].getBoundingClientRect();"
        " const p = document.querySelector('#plan').getBoundingClientRect();"
        " return l.left >= p.left && l.right <= p.right + 1;",
        legend,
    )
    browser.find_element(By.CSS_SELECTOR, "#plan-svg input[data-overlay='tags']").click()
    assert browser.find_elements(By.CSS_SELECTOR, "#plan-svg .flat-tag.tag-empty_nest")
    browser.find_element(By.CSS_SELECTOR, "#plan-svg input[data-overlay='grids']").click()
    grids = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#plan-svg .grid-label")]
    assert "网格1" in grids
    browser.find_element(By.ID, "lang").click()
    wait(browser).until(
        lambda b: (
            "Building 3"
            in [e.text for e in b.find_elements(By.CSS_SELECTOR, "#plan-svg .building-label")]
        )
    )


# Distinct saturated colours among a canvas's drawn pixels (grey text and grid lines,
# and the transparent background, do not count), quantized to steps of 32.
_COLOURS = """
const c = document.querySelector(arguments[0]);
const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
const seen = new Set();
for (let i = 0; i < px.length; i += 4) {
  const [r, g, b, a] = [px[i], px[i + 1], px[i + 2], px[i + 3]];
  if (a < 200 || Math.max(r, g, b) - Math.min(r, g, b) < 60) continue;
  seen.add(`${r >> 5},${g >> 5},${b >> 5}`);
}
return seen.size;
"""


@pytest.mark.parametrize("size", [None, PHONE], ids=["desk", "phone"])
def test_charts_show_colours_and_words(
    browser: Any,
    base_url: str,
    make_user: Any,
    client: httpx.Client,
    size: tuple[int, int] | None,
) -> None:
    for category, flat in (("noise", "1-1-101"), ("repair", "3-2-301"), ("parking", "1-2-101")):
        _open_case(client, "c1", category, flat)
    if size:
        browser.set_window_size(*size)
    log_in(browser, base_url, make_user("viewer"), "?lang=zh")
    if size == PHONE:
        browser.find_element(By.CSS_SELECTOR, "#tabs button[data-panel='kpis']").click()
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#kpi-tiles .tile")))
    labels_js = "return Chart.getChart(document.querySelector(arguments[0]))?.data.labels ?? null;"
    wait(browser).until(lambda b: b.execute_script(labels_js, "#chart-category"))
    assert set(browser.execute_script(labels_js, "#chart-category")) == {"噪音", "报修", "停车"}
    assert browser.execute_script(_COLOURS, "#chart-category") >= 2
    assert browser.execute_script(_COLOURS, "#chart-grid") >= 2
    grids = browser.execute_script(labels_js, "#chart-grid")
    assert set(grids) == {"网格1", "网格2"}


def test_an_alarm_from_the_stream_moves_its_marker_without_a_refetch(
    browser: Any, base_url: str, make_user: Any, api_db: str
) -> None:
    log_in(browser, base_url, make_user("property_staff"), "?lang=en")
    light = (By.CSS_SELECTOR, "#plan-svg [data-device='light-1']")
    wait(browser).until(ec.presence_of_element_located(light))
    assert "alarming" not in browser.find_element(*light).get_attribute("class")
    with psycopg.connect(api_db, autocommit=True) as conn:
        alarm = data.alarm(conn, rule="lamp_failure_night", device="light-1", flat=None)
        alarming = (By.CSS_SELECTOR, "#plan-svg .layer-alarming [data-device='light-1'].alarming")
        wait(browser).until(ec.presence_of_element_located(alarming))
        assert browser.execute_script(_ON_TOP, "light-1")[0]
        data.clear_alarm(conn, alarm)
    wait(browser).until(lambda b: not b.find_elements(*alarming))
    plans = [r for r in browser.execute_script(_REQUESTS) if r.endswith("/compounds/c1/plan")]
    assert len(plans) == 1  # the stream moved it; the plan was not read again
