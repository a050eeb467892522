"""Device commands over the real broker: a simulated device acknowledges (through the
gateway, which stores its ack); a silent one times out; commands are validated per
kind, restricted by role and audited."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
import psycopg
import pytest

from domain import device_password
from gateway import Gateway
from tests.api.conftest import wait_ready
from tests.fix_gateway import GatewayFactory
from tests.fix_mqtt import DEVICE_SECRET, Broker

V1 = "/api/v1"


@pytest.fixture
def gateway(run_gateway: GatewayFactory) -> Iterator[Gateway]:
    """The gateway that stores the devices' acks, from which the API completes commands."""
    with run_gateway() as gw:
        yield gw


class Device:
    """A device as the broker sees it: its own credentials, its own cmd topic."""

    def __init__(
        self, broker: Broker, compound: str, kind: str, device_id: str, *, answer: str | None
    ) -> None:
        self.received: list[dict[str, Any]] = []
        self._base = f"dayuan/v1/{compound}/{kind}/{device_id}"
        self._answer = answer
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=device_id, protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(device_id, device_password(DEVICE_SECRET, device_id))
        subscribed = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"{self._base}/cmd", qos=1)
        self.client.on_subscribe = lambda c, u, mid, rc, p: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert subscribed.wait(5), "the device could not subscribe to its cmd topic"

    def _on_message(self, c: mqtt.Client, u: object, message: mqtt.MQTTMessage) -> None:
        command = orjson.loads(message.payload)
        self.received.append(command)
        if self._answer is not None:
            ack = {
                "ts": int(time.time() * 1000),
                "correlation_id": command["correlation_id"],
                "result": self._answer,
                "detail": "done" if self._answer == "ok" else "busy",
            }
            c.publish(f"{self._base}/ack", orjson.dumps(ack), qos=1)

    def ack(self, correlation_id: str, result: str) -> None:
        ack = {"ts": int(time.time() * 1000), "correlation_id": correlation_id, "result": result}
        self.client.publish(f"{self._base}/ack", orjson.dumps(ack), qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _wait_status(
    client: httpx.Client, h: dict[str, str], device: str, cid: str, timeout: float = 10
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"{V1}/devices/{device}/commands/{cid}", headers=h).json()
        if body["status"] != "sent" or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


@pytest.mark.usefixtures("gateway")
@pytest.mark.parametrize(("answer", "status"), [("ok", "acknowledged"), ("rejected", "failed")])
def test_command_round_trip_with_a_device_acknowledging(
    answer: str,
    status: str,
    client: httpx.Client,
    headers: dict[str, dict[str, str]],
    broker: Broker,
    conn: psycopg.Connection[Any],
) -> None:
    wait_ready(client)
    device = Device(broker, "c1", "light", "light-1", answer=answer)
    try:
        sent = client.post(
            f"{V1}/devices/light-1/commands",
            json={"command": {"action": "dim", "level": 40}, "reason": "night mode"},
            headers=headers["property_staff"],
        )
        assert sent.status_code == 202, sent.text
        cid = sent.json()["correlation_id"]
        done = _wait_status(client, headers["admin"], "light-1", cid)
    finally:
        device.close()
    assert done["status"] == status
    assert done["result"] == answer
    (received,) = device.received
    assert received["correlation_id"] == cid
    assert received["action"] == "dim"
    assert received["level"] == 40
    audit = conn.execute(
        "SELECT actor, subject, reason, detail->>'correlation_id' FROM api_audit"
        " WHERE action = 'device_command'"
    ).fetchall()
    assert audit == [("u-property_staff", "light-1", "night mode", cid)]


@pytest.mark.usefixtures("gateway")
def test_an_ack_counts_only_from_the_commanded_device(
    client: httpx.Client, admin: dict[str, str], broker: Broker
) -> None:
    wait_ready(client)
    light = Device(broker, "c1", "light", "light-1", answer=None)
    other = Device(broker, "c1", "barrier", "barrier-1", answer=None)
    try:
        sent = client.post(
            f"{V1}/devices/light-1/commands", json={"command": {"action": "on"}}, headers=admin
        )
        assert sent.status_code == 202
        cid = sent.json()["correlation_id"]
        other.ack(cid, "rejected")  # another device's ack with the command's correlation id
        light.ack(cid, "ok")  # after it, from the commanded device
        done = _wait_status(client, admin, "light-1", cid)
    finally:
        light.close()
        other.close()
    assert (done["status"], done["result"]) == ("acknowledged", "ok")


def test_no_ack_within_the_timeout_fails_the_command(
    client: httpx.Client, admin: dict[str, str], broker: Broker, clock: Any
) -> None:
    wait_ready(client)
    device = Device(broker, "c1", "barrier", "barrier-1", answer=None)
    try:
        sent = client.post(
            f"{V1}/devices/barrier-1/commands", json={"command": {"action": "open"}}, headers=admin
        )
        assert sent.status_code == 202
        cid = sent.json()["correlation_id"]
        assert _wait_status(client, admin, "barrier-1", cid, timeout=0.5)["status"] == "sent"
        clock.advance(seconds=6)  # past command_ack_timeout_s
        failed = _wait_status(client, admin, "barrier-1", cid)
    finally:
        device.close()
    assert device.received
    assert failed["status"] == "failed"
    assert "no ack" in failed["detail"]
    listed = client.get(f"{V1}/devices/barrier-1/commands", headers=admin).json()
    assert [c["correlation_id"] for c in listed["data"]] == [cid]


def test_commands_are_validated_per_kind(client: httpx.Client, admin: dict[str, str]) -> None:
    wait_ready(client)
    wrong = client.post(
        f"{V1}/devices/light-1/commands", json={"command": {"action": "unlock"}}, headers=admin
    )
    assert wrong.status_code == 422
    assert "light device accepts dim, off, on, schedule" in wrong.json()["detail"]
    elder = client.post(
        f"{V1}/devices/sos-1/commands", json={"command": {"action": "on"}}, headers=admin
    )
    assert elder.status_code == 422
    assert "no commands" in elder.json()["detail"]
    bad_level = client.post(
        f"{V1}/devices/light-1/commands",
        json={"command": {"action": "dim", "level": 140}},
        headers=admin,
    )
    assert bad_level.status_code == 422
    unknown = client.post(
        f"{V1}/devices/ghost/commands", json={"command": {"action": "on"}}, headers=admin
    )
    assert unknown.status_code == 404
