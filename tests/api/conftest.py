"""Fixtures of the API tests: the full test registry, an app on a fresh database (and
the session's Mosquitto), a user and a token per role."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI

import registry
from api import ApiConfig, create_app, running
from broker import MqttEndpoint
from domain import (
    Building,
    CompoundFile,
    Grid,
    GridTeam,
    Party,
    PartyKind,
    Staff,
    StaffRole,
    Unit,
)
from tests.factories import compound_file
from tests.fix_mqtt import ACCOUNTS_ACCOUNT, API_ACCOUNT, CASES_ACCOUNT, DEVICE_SECRET, Broker

ADMIN_PASSWORD = "first-admin-password"
PASSWORD = "a-long-enough-password"
ROLES = [r.value for r in StaffRole]

Conn = psycopg.Connection[tuple[Any, ...]]


def full_registry() -> CompoundFile:
    """The test compound (tests.factories) cut down to what the API tests count on:
    buildings 1 and 3 with flats 101 and 301, one cadre per grid, three parties."""
    flats = ["101", "301"]
    return compound_file(
        buildings=[
            Building(id=b, units=[Unit(id=u, flats=flats) for u in ("1", "2")]) for b in "13"
        ],
        grids=[
            Grid(id="g1", buildings=["1"], team=GridTeam(cadre="s-cadre1")),
            Grid(id="g2", buildings=["3"], team=GridTeam(cadre="s-cadre2")),
        ],
        parties=[
            Party(id="p-property", kind=PartyKind.PROPERTY_COMPANY, name="Property company"),
            Party(id="p-care", kind=PartyKind.ELDERLY_CARE_CENTRE, name="Care centre"),
            Party(id="p-rc", kind=PartyKind.RESIDENTS_COMMITTEE, name="Residents' committee"),
        ],
        staff=[
            Staff(id="s-cadre1", name="Cadre 1", role=StaffRole.GRID_WORKER, grids=["g1"]),
            Staff(id="s-cadre2", name="Cadre 2", role=StaffRole.GRID_WORKER, grids=["g2"]),
            Staff(id="s-care", name="Responder", role=StaffRole.CARE_RESPONDER, party="p-care"),
        ],
    )


@dataclass
class FakeClock:
    """The wall clock unless frozen; tests advance it past token lifetimes and windows."""

    offset: timedelta = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def api_db(db_url: str) -> str:
    with psycopg.connect(db_url, autocommit=True) as conn:
        registry.load(conn, full_registry(), actor="test:setup", now=datetime.now(UTC))
    return db_url


@pytest.fixture
def conn(api_db: str) -> Iterator[Conn]:
    with psycopg.connect(api_db, autocommit=True) as c:
        yield c


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def config_for(db_url: str, broker: Broker | None, **overrides: Any) -> ApiConfig:
    mqtt = cases_mqtt = accounts_mqtt = None
    if broker is not None:
        mqtt = MqttEndpoint(broker.host, broker.port, API_ACCOUNT.username, API_ACCOUNT.password)
        cases_mqtt = mqtt.as_user(CASES_ACCOUNT.username, CASES_ACCOUNT.password)
        accounts_mqtt = mqtt.as_user(ACCOUNTS_ACCOUNT.username, ACCOUNTS_ACCOUNT.password)
    values: dict[str, Any] = {
        "database_url": db_url,
        "mqtt": mqtt,
        "case_mqtt": cases_mqtt,
        "accounts_mqtt": accounts_mqtt,
        "device_secret": DEVICE_SECRET,
        "admin_password": ADMIN_PASSWORD,
        "token_secret": "test-token-secret-of-enough-length-for-hs256",
        "command_ack_timeout_s": 5.0,
    }
    values.update(overrides)
    return ApiConfig(**values)


@pytest.fixture
def app(api_db: str, broker: Broker, clock: FakeClock) -> FastAPI:
    return create_app(config_for(api_db, broker), clock=clock)


@contextlib.contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """The app on a real uvicorn in a thread, as `dayuan up` runs it."""
    with running(app, host="127.0.0.1", port=0) as url:
        yield url


@pytest.fixture
def base_url(app: FastAPI) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as c:
        yield c


def wait_ready(c: httpx.Client, timeout: float = 10.0) -> None:
    """Until /readyz says the database and the broker are reachable."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if c.get("/readyz").status_code == 200:
            return
        time.sleep(0.05)
    raise AssertionError("the API did not connect to the broker")


def login(client: httpx.Client, username: str, password: str) -> str:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin(client: httpx.Client) -> dict[str, str]:
    return bearer(login(client, "admin", ADMIN_PASSWORD))


@pytest.fixture
def headers(client: httpx.Client, admin: dict[str, str]) -> dict[str, dict[str, str]]:
    """An Authorization header per role; the grid worker works grid g2 (building 3)."""
    out = {"admin": admin}
    for role in ROLES:
        if role == "admin":
            continue
        grids = ["c1/g2"] if role == "grid_worker" else []
        body = {"username": f"u-{role}", "password": PASSWORD, "role": role, "grids": grids}
        created = client.post("/api/v1/users", json=body, headers=admin)
        assert created.status_code == 201, created.text
        out[role] = bearer(login(client, f"u-{role}", PASSWORD))
    return out


MakeHeaders = Callable[[str], dict[str, str]]
