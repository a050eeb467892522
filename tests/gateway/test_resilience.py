"""Losing nothing: a gateway killed with SIGKILL mid-stream, a database restarted
under traffic, a gateway stopping with batches in flight. Real Mosquitto, real
PostgreSQL, a real `dayuan gateway` process where the test is a kill."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

import ingest
import registry
from dayuan import wiring
from dayuan.wiring import SCHEMA
from ingest import start_pgserver
from tests.factories import TEST_REGISTRY, dumps, now_ms, topic
from tests.fix_gateway import GatewayFactory, GatewayProcessFactory, wait_for
from tests.fix_mqtt import Broker, Publisher
from tests.gateway.fakes import Throttled
from tests.gateway.stream import (
    TOTAL,
    Stream,
    assert_exactly_once,
    stored,
    wait_all_stored,
    wait_stored_at_least,
)

LONG = os.environ.get("DAYUAN_FAULTS") == "long"
# DAYUAN_FAULTS=long also kills the restarted gateway while it takes back its session.
KILLS = 2 if LONG else 1


def test_gateway_killed_mid_stream_loses_and_duplicates_nothing(
    gateway_process: GatewayProcessFactory, broker: Broker, conn: psycopg.Connection[Any]
) -> None:
    gw = gateway_process()
    with Stream(broker):
        killed_at = 0
        for _ in range(KILLS):
            wait_stored_at_least(conn, killed_at + TOTAL // 5, gw)
            gw.proc.kill()  # SIGKILL: no drain, no goodbye
            gw.proc.wait()
            killed_at = stored(conn)
            assert killed_at < TOTAL, "the stream finished before the kill: make it longer"
            gw = gateway_process()
        wait_all_stored(conn)
    assert_exactly_once(conn)
    gw.proc.send_signal(signal.SIGTERM)
    assert gw.proc.wait(30) == 0


@pytest.fixture
def private_database() -> Iterator[Any]:
    """A PostgreSQL of this test alone, so that stopping it disturbs nobody. Its data
    lives outside pytest's private tmp tree: the server runs as its own system user."""
    directory = Path(tempfile.mkdtemp(prefix="dayuan-pg-"))
    directory.chmod(0o755)
    server = start_pgserver(directory / "pg")
    try:
        url = server.get_uri()
        with psycopg.connect(url) as c:
            ingest.upgrade(c, packages=SCHEMA, requested="postgres")
        with psycopg.connect(url) as c:
            registry.load(c, TEST_REGISTRY, actor="test", now=datetime.now(UTC))
        yield server, url
    finally:
        server.cleanup()
        shutil.rmtree(directory, ignore_errors=True)


def test_database_restarted_under_traffic_loses_nothing(
    private_database: Any, broker: Broker, run_gateway: GatewayFactory
) -> None:
    server, url = private_database
    with run_gateway(database_url=url, batch_max_messages=500) as gw, Stream(broker):
        with psycopg.connect(url, autocommit=True) as c:
            assert wait_for(
                c, "SELECT count(*) >= 2000 FROM telemetry WHERE key = 'power_w'", True
            ), "no traffic stored before the outage"
        assert gw.not_ready() is None
        server.stop()
        retries = gw.metrics.retries
        wait_for_retries(gw, retries)
        reason = gw.not_ready()
        assert reason is not None
        assert "storage unavailable" in reason
        server.start()
        with psycopg.connect(url, autocommit=True) as c:
            wait_all_stored(c)
            assert_exactly_once(c)
        assert gw.not_ready() is None
    assert gw.metrics.retries > retries, "the outage was never noticed: test proves nothing"


def wait_for_retries(gw: Any, before: int) -> None:
    done = threading.Event()
    for _ in range(400):
        if gw.metrics.retries > before:
            return
        done.wait(0.05)


def test_a_stopping_gateway_commits_everything_it_took_in_before_it_leaves(
    run_gateway: GatewayFactory, db_url: str, fleet: Publisher, conn: psycopg.Connection[Any]
) -> None:
    with wiring.pool(db_url) as db:
        mode, classes = ingest.current_mode(conn), ingest.data_classes(conn)
        slow = Throttled(ingest.Writer(db, mode=mode, classes=classes), delay_s=0.3)
        slow.slow.set()  # every batch of 50 takes a third of a second to commit
        with run_gateway(store=slow, batch_max_messages=50) as gw:
            base = now_ms() - 10_000
            for seq in range(300):
                payload = {"ts": base + seq, "seq": seq, "values": {"power_w": 1.0}}
                fleet.publish(topic("light", "bench-9", "telemetry"), dumps(payload))
            taken_in = gw.metrics.received
            assert taken_in - gw.metrics.stored_messages > 50, "nothing left to drain"
        # `with` has returned: what it took in is committed (and acknowledged).
        assert gw.metrics.stored_messages == gw.metrics.received >= taken_in
    row = conn.execute("SELECT count(*) FROM telemetry WHERE device_id = 'bench-9'").fetchone()
    assert row == (gw.metrics.received,)
