"""A stream of telemetry long enough to kill things in the middle of, and the check
that every message of it was stored exactly once."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from tests.factories import dumps, now_ms, topic
from tests.fix_gateway import GatewayProcess, wait_for
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


def stored(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM telemetry WHERE key = 'power_w'").fetchone()
    return int(row[0]) if row else 0


def wait_stored_at_least(conn: psycopg.Connection[Any], n: int, gw: GatewayProcess) -> None:
    assert wait_for(
        conn, f"SELECT count(*) >= {n} FROM telemetry WHERE key = 'power_w'", True, timeout=60
    ), f"fewer than {n} stored within 60 s"
    assert gw.proc.poll() is None, f"the gateway died on its own:\n{gw.log()}"


def wait_all_stored(conn: psycopg.Connection[Any]) -> object:
    return wait_for(conn, "SELECT count(*) FROM telemetry WHERE key = 'power_w'", TOTAL, timeout=90)


def assert_exactly_once(conn: psycopg.Connection[Any]) -> None:
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
