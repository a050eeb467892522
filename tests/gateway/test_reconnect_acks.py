"""A delivery is acknowledged only on the connection it arrived on: a packet id names a
message only within the broker's session as it stands, and a broker restored from an
older snapshot reuses ids for other messages. Here the gateway is thrown off while a
batch waits on storage; it reconnects (session present), the broker redelivers, and the
stale acknowledgements are withheld. Everything is stored exactly once."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import ingest
from dayuan import wiring
from domain import DeadLetter, Message, Sink
from tests.factories import LIGHT, dumps, now_ms, topic
from tests.fix_gateway import GatewayFactory, wait_for
from tests.fix_mqtt import BACKEND, Broker, Publisher

MESSAGES = 20


class Gated:
    """A sink that holds every write until `open` is set; `entered` once one waits."""

    def __init__(self, inner: Sink) -> None:
        self.inner = inner
        self.open = threading.Event()
        self.entered = threading.Event()

    def write(self, messages: Sequence[Message], dead_letters: Sequence[DeadLetter]) -> None:
        self.entered.set()
        assert self.open.wait(30), "the test never opened the gate"
        self.inner.write(messages, dead_letters)


def _throw_off(broker: Broker, client_id: str) -> None:
    """Connect under the gateway's client id and leave at once, keeping its session:
    the broker closes the gateway's connection, which comes back to the same session."""
    intruder = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
        manual_ack=True,  # what the broker resends to it stays unacknowledged
    )
    intruder.username_pw_set(BACKEND.username, BACKEND.password)
    done = threading.Event()
    intruder.on_connect = lambda c, u, f, rc, p: done.set()
    keep = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    keep.SessionExpiryInterval = 120
    intruder.connect(broker.host, broker.port, clean_start=False, properties=keep)
    intruder.loop_start()
    assert done.wait(5)
    intruder.disconnect()
    intruder.loop_stop()


def test_deliveries_of_a_lost_connection_are_redelivered_not_acked_by_stale_ids(
    run_gateway: GatewayFactory,
    fleet: Publisher,
    broker: Broker,
    db_url: str,
    conn: psycopg.Connection[Any],
) -> None:
    with wiring.pool(db_url) as db, db.connection() as c:
        mode = ingest.current_mode(c)
        classes = ingest.data_classes(c)
    with wiring.pool(db_url) as db:
        gated = Gated(ingest.Writer(db, mode=mode, classes=classes))
        with run_gateway(store=gated, gateway_id="acks", share_group="") as gw:
            t = now_ms()
            for i in range(MESSAGES):
                fleet.publish(
                    topic("light", LIGHT, "telemetry"),
                    dumps({"ts": t + i, "seq": i, "values": {"power_w": float(i)}}),
                )
            assert gated.entered.wait(10), "the gateway never tried to store"
            gw.connected.clear()
            _throw_off(broker, "dayuan-acks")
            assert gw.connected.wait(10), "the gateway did not come back"
            gated.open.set()
            stored = "SELECT count(*) FROM telemetry WHERE device_id = %s"
            assert wait_for(conn, stored.replace("%s", f"'{LIGHT}'"), MESSAGES) == MESSAGES
            deadline = time.monotonic() + 10
            while gw.metrics.acks_withheld == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert gw.metrics.acks_withheld > 0  # the first connection's batch: not acked
    rows = conn.execute(
        "SELECT count(*), count(DISTINCT ts) FROM telemetry WHERE device_id = %s", (LIGHT,)
    ).fetchone()
    assert rows == (MESSAGES, MESSAGES)
