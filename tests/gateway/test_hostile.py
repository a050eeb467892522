"""A hostile device with nothing but its own broker credentials, against the generated
broker configuration and a running gateway, during traffic: it may not read anything but
its own commands, may not join the gateways' shared subscription (whose default group
name is public), may not take anyone's client id; nothing is lost and nobody is kicked."""

from __future__ import annotations

import logging
import threading
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from domain import BACKEND_PREFIX, device_password
from tests.factories import LIGHT, SOS, dumps, now_ms, topic
from tests.fix_gateway import GatewayFactory, wait_for
from tests.fix_mqtt import DEVICE_SECRET, Broker, Publisher

TELEMETRY, SOS_PRESSES = 200, 10
NOT_AUTHORIZED = 135


class Device:
    """A device's own connection (client id = its id), recording what happens to it."""

    def __init__(self, broker: Broker, device: str, *, client_id: str | None = None) -> None:
        self.disconnects: list[str] = []
        self.got: list[str] = []
        self.granted: list[int] = []
        self.connack: list[str] = []
        self._subscribed = threading.Event()
        self._connected = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or device,
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=False,
        )
        self.client.username_pw_set(device, device_password(DEVICE_SECRET, device))
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda c, u, f, rc, p: self.disconnects.append(str(rc))
        self.client.on_message = lambda c, u, m: self.got.append(m.topic)
        self.client.on_subscribe = self._on_subscribe
        persistent = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        persistent.SessionExpiryInterval = 3600  # the loss would outlive the connection
        self.client.connect(broker.host, broker.port, clean_start=False, properties=persistent)
        self.client.loop_start()
        assert self._connected.wait(5), "no CONNACK"

    def _on_connect(self, c: mqtt.Client, u: object, f: object, rc: Any, p: object) -> None:
        self.connack.append(str(rc))
        self._connected.set()

    def _on_subscribe(self, c: mqtt.Client, u: object, mid: int, codes: Any, p: object) -> None:
        self.granted.extend(code.value for code in codes)
        self._subscribed.set()

    def subscribe(self, *filters: str) -> list[int]:
        self._subscribed.clear()
        self.granted.clear()
        self.client.subscribe([(f, 1) for f in filters])
        assert self._subscribed.wait(5), "no SUBACK"
        return list(self.granted)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_a_hostile_device_reads_nothing_takes_no_identity_and_loses_no_message(
    run_gateway: GatewayFactory,
    fleet: Publisher,
    broker: Broker,
    conn: psycopg.Connection[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    gateway_id = "hostile-target"
    with (
        caplog.at_level(logging.WARNING, logger="gateway"),
        run_gateway(share_group="dayuan", gateway_id=gateway_id),
    ):
        victim = Device(broker, SOS)
        light = Device(broker, LIGHT)
        try:
            filters = [
                "#",
                "$share/dayuan/dayuan/v1/#",  # the default group: guessable, so not enough
                "$share/dayuan/#",
                "$share/other/dayuan/v1/#",
                "dayuan/v1/+/elder/+/event",
                str(topic("elder", SOS, "cmd")),
                f"{BACKEND_PREFIX}/#",
                "$SYS/#",
                f"$share/x/{topic('light', LIGHT, 'cmd')}",
            ]
            assert light.subscribe(*filters) == [NOT_AUTHORIZED] * len(filters)
            assert light.subscribe(str(topic("light", LIGHT, "cmd"))) == [1]
            t = now_ms()
            identities = [f"dayuan-{gateway_id}", SOS, "dayuan-fleet", "dayuan-api-cases"]
            for i in range(TELEMETRY):
                fleet.publish(
                    topic("light", "bench-7", "telemetry"),
                    dumps({"ts": t + i, "seq": i, "values": {"power_w": 10.0}}),
                )
                if i % 20 == 0:
                    fleet.publish(
                        topic("elder", SOS, "event"),
                        dumps({"ts": t + i, "seq": i, "type": "sos"}),
                    )
                    # Each hijack attempt under someone else's client id is refused.
                    thief = Device(broker, LIGHT, client_id=identities[(i // 20) % 4])
                    assert thief.connack == ["Not authorized"]
                    thief.close()
            stored = "SELECT coalesce(sum(messages), 0) FROM device_state"
            assert wait_for(conn, stored, TELEMETRY + SOS_PRESSES) == TELEMETRY + SOS_PRESSES
            sos = "SELECT count(*) FROM events WHERE device_id = %s AND type = 'sos'"
            assert conn.execute(sos, (SOS,)).fetchone() == (SOS_PRESSES,)
            assert light.got == []  # nothing of anyone else's reached its session
            assert victim.disconnects == []
            assert light.disconnects == []
        finally:
            victim.close()
            light.close()
    assert "disconnected from the broker" not in caplog.text  # the gateway was never kicked
