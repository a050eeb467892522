"""An in-process gateway wired exactly as `dayuan gateway` wires it."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

import cases
import rules
from dayuan import _services
from dayuan.settings import Settings
from domain import SystemClock
from gateway import Gateway
from tests.fix_mqtt import Broker

GatewayFactory = Callable[..., contextlib.AbstractContextManager[Gateway]]


def settings_for(db_url: str, broker: Broker, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "mqtt_url": broker.backend_url,
        "gateway_id": f"test-{uuid.uuid4().hex[:8]}",
        "share_group": f"g{uuid.uuid4().hex[:8]}",  # each test its own group: no stale members
        "session_expiry_s": 120,
        "batch_max_delay_ms": 50,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def run_gateway(db_url: str, broker: Broker) -> GatewayFactory:
    @contextlib.contextmanager
    def run(
        *, sink: rules.AlarmSink | None = None, with_cases: bool = False, **overrides: Any
    ) -> Iterator[Gateway]:
        """An in-process gateway; with an alarm `sink`, the rule engine runs beside it;
        `with_cases` sends its alarms into the governance loop as `dayuan gateway` does."""
        settings = settings_for(db_url, broker, **overrides)
        assert settings.mqtt_url is not None
        assert settings.database_url is not None
        with (
            _services.pool(settings.database_url) as db,
            contextlib.ExitStack() as stack,
        ):
            engine = None
            if with_cases:
                workflow = cases.Workflow(clock=SystemClock(), publisher=cases.NoPublisher())
                sink = _services.AlarmsToCases(db, workflow)
            if sink is not None:
                engine = stack.enter_context(_services.rule_engine(settings, db, sink=sink))
            endpoint = _services.endpoint(settings, settings.mqtt_url)
            gw = stack.enter_context(_services.gateway(settings, db, endpoint, engine=engine))
            assert gw.connected.wait(10), "gateway did not connect to the test broker"
            yield gw

    return run


def wait_for(
    conn: psycopg.Connection[Any], query: str, expected: object, *, timeout: float = 15.0
) -> object:
    """Poll `query` until its single value equals `expected` and return it; on timeout
    return the last value seen, so that the caller's assertion shows it."""
    deadline = time.monotonic() + timeout
    value: object = None
    while time.monotonic() < deadline:
        row = conn.execute(query).fetchone()  # type: ignore[arg-type]
        value = None if row is None else row[0]
        if value == expected:
            return value
        time.sleep(0.05)
    return value
