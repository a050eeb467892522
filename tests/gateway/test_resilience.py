"""Losing nothing: a gateway killed with SIGKILL mid-stream, a database restarted
under traffic. Real Mosquitto, real PostgreSQL, a real `dayuan gateway` process."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import ingest
from dayuan import _embedded
from tests.factories import TEST_REGISTRY, dumps, now_ms, topic
from tests.fix_gateway import GatewayFactory, settings_for, wait_for
from tests.fix_mqtt import FLEET, Broker

DEVICES = [f"bench-{i}" for i in range(4)]
PER_DEVICE = 4000
TOTAL = PER_DEVICE * len(DEVICES)


class Stream:
    """Publishes TOTAL telemetry messages (seq 0..PER_DEVICE-1 per device) in a thread."""

    def __init__(self, broker: Broker) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"s-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(FLEET.username, FLEET.password)
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(0)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.published = 0
        self.base = now_ms() - PER_DEVICE * 10
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        infos = []
        for seq in range(PER_DEVICE):
            for device in DEVICES:
                payload = {
                    "ts": self.base + seq * 10,
                    "seq": seq,
                    "values": {"power_w": float(seq % 90), "voltage_v": 220.0},
                }
                infos.append(
                    self.client.publish(topic("light", device, "telemetry"), dumps(payload), qos=1)
                )
                self.published += 1
            if seq % 100 == 99:  # keep the stream going for seconds, not milliseconds
                infos[-1].wait_for_publish(10)
        for info in infos:
            info.wait_for_publish(30)

    def __enter__(self) -> Stream:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join(60)
        self.client.disconnect()
        self.client.loop_stop()


def _stored(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM telemetry WHERE key = 'power_w'").fetchone()
    return int(row[0]) if row else 0


def _wait_stored_at_least(
    conn: psycopg.Connection[Any], n: int, proc: subprocess.Popen[bytes]
) -> None:
    assert wait_for(
        conn, f"SELECT count(*) >= {n} FROM telemetry WHERE key = 'power_w'", True, timeout=60
    ), f"fewer than {n} stored within 60 s"
    assert proc.poll() is None, "the gateway died on its own"


def _assert_exactly_once(conn: psycopg.Connection[Any]) -> None:
    rows = conn.execute(
        "SELECT count(*), count(DISTINCT (device_id, seq)) FROM telemetry WHERE key = 'power_w'"
    ).fetchone()
    missing = conn.execute(
        "SELECT d, min(s), max(s), count(*) FROM (SELECT d, s,"
        " s - row_number() OVER (PARTITION BY d ORDER BY s) AS g"
        " FROM unnest(%s::text[]) d CROSS JOIN generate_series(0, %s) s"
        " WHERE NOT EXISTS (SELECT 1 FROM telemetry t WHERE t.device_id = d AND t.seq = s"
        " AND t.key = 'power_w')) x GROUP BY d, g ORDER BY d, min(s)",
        (DEVICES, PER_DEVICE - 1),
    ).fetchall()
    assert rows == (TOTAL, TOTAL), f"missing (device, first seq, last seq, count): {missing}"
    per_device = dict(
        conn.execute(
            "SELECT device_id, count(*) FROM telemetry WHERE key = 'power_w' GROUP BY device_id"
        ).fetchall()
    )
    assert per_device == dict.fromkeys(DEVICES, PER_DEVICE)


@pytest.fixture
def gateway_process(db_url: str, broker: Broker, tmp_path: Path) -> Iterator[Any]:
    settings = settings_for(db_url, broker)
    env = {
        **os.environ,
        "DAYUAN_DATABASE_URL": db_url,
        "DAYUAN_MQTT_URL": broker.backend_url,
        "DAYUAN_GATEWAY_ID": settings.gateway_id,
        "DAYUAN_SHARE_GROUP": settings.share_group,
        "DAYUAN_BATCH_MAX_MESSAGES": "500",
        "DAYUAN_BATCH_MAX_DELAY_MS": "50",
        "DAYUAN_RECEIVE_MAXIMUM": "2000",
    }
    procs: list[subprocess.Popen[bytes]] = []

    def start(gateway_id: str | None = None) -> subprocess.Popen[bytes]:
        path = tmp_path / f"gateway-{len(procs)}.log"
        with path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dayuan.cli", "gateway"],
                env={**env, "DAYUAN_GATEWAY_ID": gateway_id or env["DAYUAN_GATEWAY_ID"]},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        procs.append(proc)
        # A brand-new session only exists once subscribed: what is published before is
        # not its to lose. Wait for that, then the test may start the stream.
        deadline = time.monotonic() + 30
        while b"subscribed" not in path.read_bytes():
            assert proc.poll() is None, path.read_text()
            assert time.monotonic() < deadline, "gateway did not subscribe"
            time.sleep(0.05)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


def test_gateway_killed_mid_stream_loses_and_duplicates_nothing(
    gateway_process: Any, broker: Broker, conn: psycopg.Connection[Any]
) -> None:
    proc = gateway_process()
    with Stream(broker):
        _wait_stored_at_least(conn, TOTAL // 5, proc)
        proc.kill()  # SIGKILL: no drain, no goodbye
        proc.wait()
        killed_at = _stored(conn)
        assert killed_at < TOTAL, "the stream finished before the kill: make it longer"
        proc = gateway_process()
        _wait_stored_at_least(conn, killed_at + TOTAL // 5, proc)
        proc.kill()
        proc.wait()
        proc = gateway_process()
        wait_for(conn, "SELECT count(*) FROM telemetry WHERE key = 'power_w'", TOTAL, timeout=90)
    _assert_exactly_once(conn)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0


def test_one_of_two_gateways_killed_the_other_carries_on_and_nothing_is_lost(
    gateway_process: Any, broker: Broker, conn: psycopg.Connection[Any]
) -> None:
    """On Mosquitto 2.0 a killed member's share waits in its persistent session until it
    comes back under the same id (systemd restarts it): lossless, and the survivor keeps
    storing its own share meanwhile. (EMQX redispatches the dead member's share instead.)"""
    a = gateway_process("gw-a")
    b = gateway_process("gw-b")
    with Stream(broker):
        _wait_stored_at_least(conn, TOTAL // 5, a)
        a.kill()
        a.wait()
        at_kill = _stored(conn)
        _wait_stored_at_least(conn, at_kill + TOTAL // 10, b)  # b went on alone
        assert at_kill < TOTAL, "the stream finished before the kill: make it longer"
        a = gateway_process("gw-a")
        assert (
            wait_for(
                conn, "SELECT count(*) FROM telemetry WHERE key = 'power_w'", TOTAL, timeout=90
            )
            == TOTAL
        )
    _assert_exactly_once(conn)


@pytest.fixture
def private_database() -> Iterator[Any]:
    """A PostgreSQL of this test alone, so that stopping it disturbs nobody. Its data
    lives outside pytest's private tmp tree: the server runs as its own system user."""
    directory = Path(tempfile.mkdtemp(prefix="dayuan-pg-"))
    directory.chmod(0o755)
    server = _embedded.start_pgserver(directory / "pg")
    try:
        url = server.get_uri()
        with psycopg.connect(url) as c:
            ingest.upgrade(c, requested="postgres")
        with psycopg.connect(url) as c:
            ingest.load_registry(c, TEST_REGISTRY)
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
        server.stop()
        retries = gw.metrics.retries
        wait_for_retries(gw, retries)
        server.start()
        with psycopg.connect(url, autocommit=True) as c:
            wait_for(c, "SELECT count(*) FROM telemetry WHERE key = 'power_w'", TOTAL, timeout=90)
            _assert_exactly_once(c)
    assert gw.metrics.retries > retries, "the outage was never noticed: test proves nothing"


def wait_for_retries(gw: Any, before: int) -> None:
    done = threading.Event()
    for _ in range(400):
        if gw.metrics.retries > before:
            return
        done.wait(0.05)
