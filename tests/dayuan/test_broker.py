"""Broker security from the registry, against the real Mosquitto of the test run with the
generated dynamic-security configuration: a device publishes only as itself, subscribes
only to its own commands (refused in the SUBACK otherwise) and connects only under its
own client id. The hostile-device suite during traffic is tests/gateway/test_hostile.py."""

from __future__ import annotations

import base64
import threading
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from broker import BackendRole, BrokerError, backend_account, password_entry, write_config
from domain import BACKEND_PREFIX, device_password
from gateway import Presence, State, presence_topic
from tests.factories import GATE, LIGHT, dumps, now_ms, topic
from tests.fix_mqtt import API_ACCOUNT, BACKEND, BACKEND_SECRET, DEVICE_SECRET, Broker, Publisher


class Listener:
    def __init__(
        self,
        broker: Broker,
        user: str,
        password: str,
        *filters: str,
        client_id: str | None = None,
    ) -> None:
        self.got: list[str] = []
        self.granted: list[int] = []
        self.subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"l-{uuid.uuid4().hex[:6]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.username_pw_set(user, password)
        # Retained messages (other tests' device statuses) are not what is tested.
        self.client.on_message = lambda c, u, m: None if m.retain else self.got.append(m.topic)

        def on_subscribe(
            c: mqtt.Client, u: object, mid: int, codes: list[mqtt.ReasonCode], p: object
        ) -> None:
            self.granted.extend(code.value for code in codes)
            self.subscribed.set()

        self.client.on_subscribe = on_subscribe
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe([(f, 1) for f in filters])
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self.subscribed.wait(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_a_device_publishes_only_on_its_own_topics(broker: Broker) -> None:
    backend = Listener(broker, BACKEND.username, BACKEND.password, "dayuan/v1/#")
    gate = Publisher(broker, GATE, device_password(DEVICE_SECRET, GATE), GATE)
    try:
        gate.publish(topic("gate", GATE, "event"), dumps({"ts": now_ms(), "type": "tamper"}))
        gate.publish(topic("light", LIGHT, "telemetry"), dumps({"ts": now_ms(), "values": {}}))
        gate.publish(topic("gate", GATE, "event", compound="c9"), b"{}")
        gate.publish(topic("gate", GATE, "cmd"), b"{}")
        gate.publish(topic("gate", GATE, "telemetry"), dumps({"ts": now_ms(), "values": {}}))
        for _ in range(100):
            if len(backend.got) >= 2:
                break
            threading.Event().wait(0.02)
        threading.Event().wait(0.2)  # room for a wrongly allowed message to show up
    finally:
        gate.close()
        backend.close()
    assert backend.got == [topic("gate", GATE, "event"), topic("gate", GATE, "telemetry")]


def test_a_device_reads_only_its_own_commands(broker: Broker) -> None:
    own = Listener(
        broker,
        GATE,
        device_password(DEVICE_SECRET, GATE),
        topic("gate", GATE, "cmd"),
        topic("light", LIGHT, "cmd"),
        client_id=GATE,
    )
    backend = Publisher(broker, API_ACCOUNT.username, API_ACCOUNT.password, "backend-cmd")
    try:
        backend.publish(topic("light", LIGHT, "cmd"), b'{"op": "on"}')
        backend.publish(topic("gate", GATE, "cmd"), b'{"op": "unlock"}')
        for _ in range(100):
            if own.got:
                break
            threading.Event().wait(0.02)
        threading.Event().wait(0.2)  # room for a wrongly delivered command to show up
    finally:
        backend.close()
        own.close()
    assert own.got == [topic("gate", GATE, "cmd")]
    # The other device's `cmd` is refused at SUBSCRIBE (135, not authorized).
    assert own.granted == [1, 135]


def test_only_the_backend_reads_and_writes_gateway_presence(broker: Broker) -> None:
    """A device that could say a gateway is gone would have its session taken over."""
    password = device_password(DEVICE_SECRET, GATE)
    spoofed = Presence(State.GONE, "dayuan-gw-1", ("$share/dayuan/dayuan/v1/#",)).encode()
    group = f"acl-{uuid.uuid4().hex[:6]}"  # other tests' presence is retained elsewhere
    backend = Listener(broker, BACKEND.username, BACKEND.password, f"{BACKEND_PREFIX}/{group}/#")
    snoop = Listener(
        broker,
        LIGHT,
        device_password(DEVICE_SECRET, LIGHT),
        f"{BACKEND_PREFIX}/#",
        client_id=LIGHT,
    )
    gate = Publisher(broker, GATE, password, GATE)
    own = Publisher(broker, BACKEND.username, BACKEND.password, "backend-presence")
    try:
        gate.publish(presence_topic(group, "dayuan-gw-1"), spoofed)
        own.publish(presence_topic(group, "dayuan-gw-2"), b"{}")
        for _ in range(100):
            if backend.got:
                break
            threading.Event().wait(0.02)
        threading.Event().wait(0.2)  # room for a wrongly allowed message to show up
    finally:
        for client in (gate, own, snoop, backend):
            client.close()
    assert backend.got == [presence_topic(group, "dayuan-gw-2")]
    assert snoop.granted == [135]
    assert snoop.got == []


def test_a_wrong_password_is_refused(broker: Broker) -> None:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id="intruder",
        protocol=mqtt.MQTTv5,
        reconnect_on_failure=False,
    )
    client.username_pw_set(GATE, "guess")
    result: list[bool] = []
    done = threading.Event()

    def on_connect(c: mqtt.Client, u: object, f: object, rc: mqtt.ReasonCode, p: object) -> None:
        result.append(rc.is_failure)
        done.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert done.wait(5)
    client.loop_stop()
    client.disconnect()
    assert result == [True]


def test_a_device_cannot_connect_under_another_client_id(broker: Broker) -> None:
    password = device_password(DEVICE_SECRET, GATE)
    for client_id in (LIGHT, "dayuan-gateway-1", "dayuan-fleet"):
        assert _connack(broker, GATE, password, client_id) == "Not authorized", client_id
    assert _connack(broker, GATE, password, GATE) == "Success"


def _connack(broker: Broker, username: str, password: str, client_id: str) -> str:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
        reconnect_on_failure=False,
    )
    client.username_pw_set(username, password)
    result: list[str] = []
    done = threading.Event()

    def on_connect(c: mqtt.Client, u: object, f: object, rc: mqtt.ReasonCode, p: object) -> None:
        result.append(str(rc))
        done.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert done.wait(5), "no CONNACK"
    finally:
        client.disconnect()
        client.loop_stop()
    return result[0]


def test_passwords_use_mosquittos_pbkdf2_format() -> None:
    # What `mosquitto_ctrl dynsec init` wrote for password "adminpw" and this salt.
    entry = password_entry("adminpw", salt=base64.b64decode("0wCEsZ4YtxB/ykWc"))
    assert entry == {
        "password": "kEnwsLrjtsVI41RPlRkMBYXt4rypvLOGV9eXkYyS1N98O3HK4EM/zu0Jblxmfz/e/"
        "G5tTad5Adw78HNGyKzPhQ==",
        "salt": "0wCEsZ4YtxB/ykWc",
        "iterations": 101,
    }


def test_a_missing_dynsec_plugin_is_a_readable_error(tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match="no such file"):
        write_config(
            tmp_path,
            [],
            device_secret=DEVICE_SECRET,
            backend_secret=BACKEND_SECRET,
            fleet=None,
            host="127.0.0.1",
            port=1883,
            plugin=tmp_path / "mosquitto_dynamic_security.so",
        )


# What each backend connection may subscribe to (the SUBACK's codes: 1 granted at QoS 1,
# 135 not authorized) - least privilege per account (broker.BackendRole).
SUBSCRIBE = {
    BackendRole.GATEWAY: {
        "dayuan/v1/#": 1,
        "$share/any-group/dayuan/v1/#": 1,
        f"{BACKEND_PREFIX}/#": 1,
        "$SYS/#": 135,
    },
    BackendRole.RULES: {
        "dayuan/v1/#": 1,
        "$share/any-group/dayuan/v1/#": 135,
        f"{BACKEND_PREFIX}/#": 135,
    },
    BackendRole.CASES: {"dayuan/v1/#": 135, "dayuan/v1/+/cases/#": 135},
    BackendRole.API: {
        "dayuan/v1/+/+/+/ack": 135,  # acks reach the API through the gateway's storage
        "$share/any-group/dayuan/v1/+/+/+/ack": 135,
        "dayuan/v1/#": 135,
        "dayuan/v1/+/+/+/telemetry": 135,
    },
    # Reads the dynamic-security plugin's answers, nothing of the devices'.
    BackendRole.ACCOUNTS: {
        "$CONTROL/dynamic-security/v1/response": 1,
        "dayuan/v1/#": 135,
        "$CONTROL/#": 135,
    },
}


@pytest.mark.parametrize("role", list(BackendRole))
def test_each_backend_account_subscribes_only_to_what_its_connection_reads(
    broker: Broker, role: BackendRole
) -> None:
    account = backend_account(role, BACKEND_SECRET)
    wanted = SUBSCRIBE[role]
    listener = Listener(broker, account.username, account.password, *wanted)
    listener.close()
    assert dict(zip(wanted, listener.granted, strict=True)) == wanted


# Who may publish where: only the API sends commands, only the case publisher sends case
# transitions, only a gateway its presence, and no backend account a device's telemetry
# (a compromised API cannot forge an SOS).
CMD = topic("light", LIGHT, "cmd")
CASE = "dayuan/v1/c1/cases/case-1/opened"
TELEMETRY = topic("light", LIGHT, "telemetry")
PRESENCE = f"{BACKEND_PREFIX}/acl-roles/gateways/dayuan-gw-9"
PUBLISH = {
    BackendRole.GATEWAY: {PRESENCE},
    BackendRole.RULES: set[str](),
    BackendRole.CASES: {CASE},
    BackendRole.API: {CMD},
    BackendRole.ACCOUNTS: set[str](),
}


@pytest.mark.parametrize("role", list(BackendRole))
def test_each_backend_account_publishes_only_what_its_connection_sends(
    broker: Broker, role: BackendRole
) -> None:
    account = backend_account(role, BACKEND_SECRET)
    watcher = Listener(broker, BACKEND.username, BACKEND.password, "dayuan/v1/#", PRESENCE)
    sender = Publisher(broker, account.username, account.password, f"role-{role}")
    try:
        for target in (CMD, CASE, TELEMETRY, PRESENCE):
            sender.publish(target, b"{}")
        for _ in range(100):
            if len(watcher.got) >= len(PUBLISH[role]):
                break
            threading.Event().wait(0.02)
        threading.Event().wait(0.2)  # room for a wrongly allowed message to show up
    finally:
        sender.close()
        watcher.close()
    assert set(watcher.got) == PUBLISH[role]


def test_every_backend_account_has_its_own_password() -> None:
    accounts = [backend_account(role, BACKEND_SECRET) for role in BackendRole]
    assert len({a.password for a in accounts}) == len(accounts)
    assert {a.username for a in accounts} == {
        "dayuan-gateway",
        "dayuan-rules",
        "dayuan-cases",
        "dayuan-api",
        "dayuan-accounts",
    }
    # Another deployment's secret gives other passwords.
    assert backend_account(BackendRole.API, "another").password != accounts[-1].password
