"""A Mosquitto of this test run: free port, the project's generated config (password
file and ACL from the test registry), started once per session."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from broker import (
    SECURITY_FILE,
    Account,
    BackendRole,
    DeviceEntry,
    TlsListener,
    backend_account,
    free_port,
    mosquitto,
    mosquitto_binary,
    wait_for_port,
    write_config,
)
from domain import Kind
from tests.factories import TEST_REGISTRY

DEVICE_SECRET = "test-device-secret"
BACKEND_SECRET = "test-backend-secret"
# The backend's accounts as the generated config has them (broker.BackendRole): a test
# that watches device traffic reads as a gateway; one that sends commands, as the API.
BACKEND = backend_account(BackendRole.GATEWAY, BACKEND_SECRET)
API_ACCOUNT = backend_account(BackendRole.API, BACKEND_SECRET)
CASES_ACCOUNT = backend_account(BackendRole.CASES, BACKEND_SECRET)
ACCOUNTS_ACCOUNT = backend_account(BackendRole.ACCOUNTS, BACKEND_SECRET)
FLEET = Account("dayuan-fleet", "fleet-pw")


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    directory: Path

    @property
    def url(self) -> str:
        """The broker without credentials: each backend connection brings its role's
        account, derived from DAYUAN_BACKEND_PASSWORD (`BACKEND_SECRET`)."""
        return f"mqtt://{self.host}:{self.port}"


def devices() -> list[DeviceEntry]:
    return [
        DeviceEntry(d.id, c.id, Kind(d.kind)) for c in TEST_REGISTRY.compounds for d in c.devices
    ]


@contextlib.contextmanager
def own_broker(
    directory: Path,
    *,
    tls: TlsListener | None = None,
    security: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Iterator[Broker]:
    """A Mosquitto of the project's generated config (the test registry's accounts) on a
    free port; `security` may rewrite the generated dynamic-security document before it
    starts. With `tls`, the Broker returned is its TLS listener."""
    if mosquitto_binary() is None:
        pytest.fail("mosquitto is not installed (.ci/run installs it)")
    port = free_port()
    conf = write_config(
        directory,
        devices(),
        device_secret=DEVICE_SECRET,
        backend_secret=BACKEND_SECRET,
        fleet=FLEET,
        host="127.0.0.1",
        port=port,
        embedded=True,
        tls=tls,
    )
    if security is not None:
        path = directory / SECURITY_FILE
        path.write_text(json.dumps(security(json.loads(path.read_text()))))
    with mosquitto(conf, "127.0.0.1", port) as process:
        if tls is None:
            yield Broker("127.0.0.1", port, directory)
            return
        wait_for_port(tls.host, tls.port, 10, process)
        yield Broker(tls.host, tls.port, directory)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    with own_broker(tmp_path_factory.mktemp("mosquitto")) as started:
        yield started


class Publisher:
    """A paho client that publishes at QoS 1 and waits for each PUBACK."""

    def __init__(self, broker: Broker, username: str, password: str, client_id: str) -> None:
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(username, password)
        connected = threading.Event()
        self.refused: list[str] = []

        def on_connect(
            c: mqtt.Client, u: object, f: object, rc: mqtt.ReasonCode, p: object
        ) -> None:
            if rc.is_failure:
                self.refused.append(str(rc))
            connected.set()

        self.client.on_connect = on_connect
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        if not connected.wait(5):
            raise RuntimeError("publisher could not connect")

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def fleet(broker: Broker) -> Iterator[Publisher]:
    pub = Publisher(broker, FLEET.username, FLEET.password, f"fleet-{uuid.uuid4().hex[:6]}")
    yield pub
    pub.close()


class DeviceSession:
    """A device's own paho session: whether the broker accepted it, and when it went."""

    def __init__(self, broker: Broker, device_id: str, password: str) -> None:
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=device_id, protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(device_id, password)
        self.answer: mqtt.ReasonCode | None = None
        self.connected, self.gone = threading.Event(), threading.Event()

        def on_connect(
            c: mqtt.Client, u: object, f: object, rc: mqtt.ReasonCode, p: object
        ) -> None:
            self.answer = rc
            self.connected.set()

        def on_disconnect(c: mqtt.Client, u: object, f: object, rc: object, p: object) -> None:
            self.gone.set()

        self.client.on_connect = on_connect
        self.client.on_disconnect = on_disconnect
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self.connected.wait(10)

    @property
    def accepted(self) -> bool:
        return self.answer is not None and not self.answer.is_failure

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def session_present(broker: Broker, client_id: str) -> bool:
    """Whether the broker holds a session for `client_id`; looking ends it."""
    found: list[bool] = []
    done = threading.Event()
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
    )
    client.username_pw_set(BACKEND.username, BACKEND.password)

    def on_connect(c: mqtt.Client, u: object, f: mqtt.ConnectFlags, rc: object, p: object) -> None:
        found.append(f.session_present)
        done.set()

    client.on_connect = on_connect
    end = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    end.SessionExpiryInterval = 0
    client.connect(broker.host, broker.port, clean_start=False, properties=end)
    client.loop_start()
    try:
        assert done.wait(5), "no CONNACK"
    finally:
        client.disconnect()
        client.loop_stop()
    return found[0]


def retained(broker: Broker, topic: str, *, wait_s: float = 0.5) -> bytes | None:
    """The retained message on `topic`, None when there is none."""
    got: list[bytes] = []
    subscribed = threading.Event()
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"r-{uuid.uuid4().hex[:6]}",
        protocol=mqtt.MQTTv5,
    )
    client.username_pw_set(BACKEND.username, BACKEND.password)
    client.on_message = lambda c, u, m: got.append(bytes(m.payload))
    client.on_subscribe = lambda c, u, mid, codes, p: subscribed.set()
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert subscribed.wait(5), "no SUBACK"
        threading.Event().wait(wait_s)  # a retained message follows the SUBACK at once
    finally:
        client.disconnect()
        client.loop_stop()
    return got[-1] if got else None
