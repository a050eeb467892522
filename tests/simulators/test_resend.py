"""A device keeps what the broker routed to nobody (PUBACK 0x10, "no matching
subscribers") and publishes it again once the backend is back: the MQTT contract's
device rule, which closes the gap a broker restart leaves before the gateways subscribe
again. Real Mosquitto; the backend is a paho subscriber that leaves and comes back."""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from broker import MqttEndpoint
from domain import Channel, Kind
from simulators import FleetTransport, MqttTarget, Publish

# Topics of this test alone: the broker is shared by the module's tests, whose retained
# wills and lingering sessions under dayuan/v1/ would be routed or delivered here.
ROOT = f"resend-{uuid.uuid4().hex[:8]}"
HEARD = f"{ROOT}/c1/gate/G-1/event"
NEVER_HEARD = f"{ROOT}/c1/gate/G-2/event"
PATIENCE_S = 20.0  # generous: the machines are shared; nothing here is timed


class _Backend:
    """A subscriber to everything under ROOT, connected and gone at will."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.arrived: queue.Queue[bytes] = queue.Queue()
        self.client: paho.Client | None = None

    def connect(self) -> None:
        subscribed = queue.Queue[bool]()
        client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        client.on_connect = lambda c, u, f, r, p: c.subscribe(f"{ROOT}/#", qos=1)
        client.on_subscribe = lambda c, u, m, r, p: subscribed.put(True)
        client.on_message = lambda c, u, m: self.arrived.put(bytes(m.payload))
        client.connect(self.host, self.port)
        client.loop_start()
        assert subscribed.get(timeout=PATIENCE_S)
        self.client = client

    def leave(self) -> None:
        assert self.client is not None
        self.client.disconnect()  # a clean start session: its subscription goes with it
        self.client.loop_stop()
        self.client = None


def _publish(transport: FleetTransport, topic: str, body: bytes) -> None:
    device = topic.split("/")[3]
    at = datetime.now(UTC)
    transport.send(Publish(at, device, Kind.GATE, Channel.EVENT, topic, body))


def _serve_until(transport: FleetTransport, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not done():
        assert time.monotonic() < deadline, transport.stats
        transport.service(0.05)


def test_a_message_routed_to_nobody_is_published_again_until_the_backend_takes_it(
    mosquitto: tuple[str, int],
) -> None:
    host, port = mosquitto
    backend = _Backend(host, port)
    backend.connect()
    transport = FleetTransport(MqttTarget(MqttEndpoint(host, port)), connections=1)
    transport.start([])
    try:
        _publish(transport, HEARD, b"first")
        assert transport.drain(PATIENCE_S)
        assert backend.arrived.get(timeout=PATIENCE_S) == b"first"

        backend.leave()
        _publish(transport, HEARD, b"while nobody listens")
        _serve_until(transport, lambda: transport.stats.resent >= 2)
        assert transport.outstanding() == 1  # kept: not a delivery
        assert backend.arrived.empty()

        backend.connect()
        assert transport.drain(PATIENCE_S)
        assert backend.arrived.get(timeout=PATIENCE_S) == b"while nobody listens"
        assert transport.stats.no_subscribers == 0
        assert transport.stats.acknowledged == 2
        backend.leave()
    finally:
        transport.close()


def test_a_device_nobody_ever_listened_to_does_not_resend(mosquitto: tuple[str, int]) -> None:
    # A run without a backend would otherwise hold every message for the resend bound.
    host, port = mosquitto
    transport = FleetTransport(MqttTarget(MqttEndpoint(host, port)), connections=1)
    transport.start([])
    try:
        _publish(transport, NEVER_HEARD, b"to nobody")
        assert transport.drain(PATIENCE_S)
        assert transport.stats.no_subscribers == 1
        assert transport.stats.resent == 0
    finally:
        transport.close()
