"""Fixtures of the dashboard's browser tests: the API with the dashboard mounted on a
real uvicorn (real PostgreSQL, the session's Mosquitto), and headless Debian Chromium
driven by Selenium through the system chromedriver, so nothing is downloaded at
runtime. Without a chromium binary (or selenium) these tests are skipped, not failed."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI

import registry
from api import create_app
from tests.api.conftest import (
    ADMIN_PASSWORD,
    PASSWORD,
    FakeClock,
    bearer,
    config_for,
    full_registry,
    login,
    serve,
    wait_ready,
)
from tests.fix_mqtt import Broker

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WINDOW = (1600, 1000)  # the desk screen; the phone test resizes
PAGE_WAIT_S = 10.0  # page loads and API round trips, far above what they take

_why_not = (
    "no chromium binary (apt-get install chromium chromium-driver)"
    if CHROMIUM is None
    else "no chromedriver binary (apt-get install chromium-driver)"
    if CHROMEDRIVER is None
    else None
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if _why_not is None:
        return
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.skip(reason=_why_not))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def api_db(db_url: str) -> str:
    with psycopg.connect(db_url, autocommit=True) as conn:
        registry.load(conn, full_registry(), actor="test:setup", now=datetime.now(UTC))
    return db_url


@pytest.fixture
def app(api_db: str, broker: Broker) -> FastAPI:
    return create_app(config_for(api_db, broker), clock=FakeClock())  # dashboard included


@pytest.fixture
def base_url(app: FastAPI) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as c:
        wait_ready(c)
        yield c


@pytest.fixture
def make_user(client: httpx.Client) -> Any:
    """Creates a user of a role through the API; returns its username."""
    admin = bearer(login(client, "admin", ADMIN_PASSWORD))

    def make(role: str, grids: tuple[str, ...] = ()) -> str:
        body = {"username": f"u-{role}", "password": PASSWORD, "role": role, "grids": list(grids)}
        created = client.post("/api/v1/users", json=body, headers=admin)
        assert created.status_code == 201, created.text
        return f"u-{role}"

    return make


@pytest.fixture(scope="module")
def chromium() -> Generator[Any, None, None]:
    """Headless Chromium on a fresh profile, one per test module: starting it costs
    seconds on the loaded test machine. `browser` hands it to each test clean."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    assert CHROMIUM is not None
    assert CHROMEDRIVER is not None
    with tempfile.TemporaryDirectory(prefix="dayuan-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--autoplay-policy=no-user-gesture-required",
            f"--user-data-dir={profile}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
        ):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(PAGE_WAIT_S)
        try:
            yield driver
        finally:
            driver.quit()


@pytest.fixture
def browser(
    request: pytest.FixtureRequest, chromium: Any, base_url: str
) -> Generator[Any, None, None]:
    """The module's Chromium as a fresh one would be: one blank tab at the desk size,
    nothing stored for the test's origin, no console messages of an earlier test; a
    screenshot and the console in test-artifacts/ on failure. Every test has its own
    server, so its page is of its own origin; what a port used again could find (storage,
    cache, cookies) is cleared when the test is done."""
    driver = chromium
    driver.get("about:blank")
    driver.set_window_size(*WINDOW)
    driver.get_log("browser")  # read is gone: what follows is this test's
    try:
        yield driver
    finally:
        if request.node.stash.get(_FAILED, False):
            ARTIFACTS.mkdir(exist_ok=True)
            driver.save_screenshot(str(ARTIFACTS / f"{request.node.name}.png"))
            logs = driver.get_log("browser")
            (ARTIFACTS / f"{request.node.name}.console.txt").write_text(
                "\n".join(str(entry) for entry in logs)
            )
        _reset(driver, base_url)


def _reset(driver: Any, base_url: str) -> None:
    """Back to one blank tab with nothing kept, before the test's server stops (a page
    left polling it would fill the next test's console with failed requests)."""
    for handle in driver.window_handles[1:]:
        driver.switch_to.window(handle)
        driver.close()
    driver.switch_to.window(driver.window_handles[0])
    driver.get("about:blank")
    driver.execute_cdp_cmd(
        "Storage.clearDataForOrigin", {"origin": base_url, "storageTypes": "all"}
    )
    driver.execute_cdp_cmd("Network.clearBrowserCache", {})
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.get_log("browser")
