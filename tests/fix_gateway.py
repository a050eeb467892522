"""An in-process gateway wired exactly as `dayuan gateway` wires it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

import cases
import rules
from dayuan import wiring
from dayuan.settings import Settings
from domain import Sink, SystemClock
from gateway import Gateway
from tests.fix_mqtt import BACKEND_SECRET, Broker

GatewayFactory = Callable[..., contextlib.AbstractContextManager[Gateway]]


def settings_for(db_url: str, broker: Broker, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "mqtt_url": broker.url,
        "backend_password": BACKEND_SECRET,
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
        *,
        sink: rules.AlarmSink | None = None,
        with_cases: bool = False,
        store: Sink | None = None,
        **overrides: Any,
    ) -> Iterator[Gateway]:
        """An in-process gateway; with an alarm `sink`, the rule engine runs beside it;
        `with_cases` sends its alarms into the governance loop as `dayuan gateway` does;
        `store` replaces the database writer."""
        settings = settings_for(db_url, broker, **overrides)
        assert settings.mqtt_url is not None
        assert settings.database_url is not None
        with (
            wiring.pool(settings.database_url) as db,
            contextlib.ExitStack() as stack,
        ):
            engine = None
            if with_cases:
                workflow = cases.Workflow(clock=SystemClock(), publisher=cases.NoPublisher())
                sink = cases.AlarmsToCases(db, workflow)
            if sink is not None:
                engine = stack.enter_context(wiring.rule_engine(settings, db, sink=sink))
            endpoint = settings.endpoint_for(settings.mqtt_url)
            gw = stack.enter_context(
                wiring.gateway(settings, db, endpoint, engine=engine, sink=store)
            )
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


@dataclass
class GatewayProcess:
    """A `dayuan gateway` process of a test, and its log."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    client_id: str
    share_group: str

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


GatewayProcessFactory = Callable[..., GatewayProcess]


@pytest.fixture
def gateway_process(db_url: str, broker: Broker, tmp_path: Path) -> Iterator[GatewayProcessFactory]:
    """`start(gateway_id=None, **env)`: a real `dayuan gateway` process, returned once it
    has subscribed. Every process of one test shares its share group."""
    settings = settings_for(db_url, broker)
    env = {
        **os.environ,
        "DAYUAN_DATABASE_URL": db_url,
        "DAYUAN_MQTT_URL": broker.url,
        "DAYUAN_BACKEND_PASSWORD": BACKEND_SECRET,
        "DAYUAN_GATEWAY_ID": settings.gateway_id,
        "DAYUAN_SHARE_GROUP": settings.share_group,
        "DAYUAN_BATCH_MAX_MESSAGES": "500",
        "DAYUAN_BATCH_MAX_DELAY_MS": "50",
        "DAYUAN_RECEIVE_MAXIMUM": "2000",
    }
    started: list[GatewayProcess] = []

    def start(gateway_id: str | None = None, **extra: str) -> GatewayProcess:
        path = tmp_path / f"gateway-{len(started)}.log"
        gateway_id = gateway_id or env["DAYUAN_GATEWAY_ID"]
        with path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dayuan.cli", "gateway"],
                env={**env, "DAYUAN_GATEWAY_ID": gateway_id, **extra},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        gw = GatewayProcess(proc, path, f"dayuan-{gateway_id}", settings.share_group)
        started.append(gw)
        # A brand-new session only exists once subscribed: what is published before is
        # not its to lose. Wait for that, then the test may start the stream.
        deadline = time.monotonic() + 30
        while b"subscribed" not in path.read_bytes():
            assert proc.poll() is None, gw.log()
            assert time.monotonic() < deadline, "gateway did not subscribe"
            time.sleep(0.05)
        return gw

    yield start
    for gw in started:
        if gw.proc.poll() is None:
            gw.proc.send_signal(signal.SIGTERM)
            gw.proc.wait(30)
