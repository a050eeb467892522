"""Device accounts on a running Mosquitto (the project's generated config): provisioned,
a device connects as itself and publishes on its topics only; retired, it is dropped and
cannot come back."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest

from broker import (
    AccountRefused,
    BackendRole,
    BrokerUnreachable,
    DeviceEntry,
    MqttEndpoint,
    backend_account,
    provision_device,
    retire_device,
)
from domain import Kind, device_password
from tests.fix_mqtt import BACKEND_SECRET, DEVICE_SECRET, Broker

NEW = DeviceEntry("light-new", "c1", Kind.LIGHT)


def _accounts(broker: Broker, role: BackendRole = BackendRole.ACCOUNTS) -> MqttEndpoint:
    account = backend_account(role, BACKEND_SECRET)
    return MqttEndpoint(broker.host, broker.port).as_user(account.username, account.password)


class _Device:
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


def _connect(broker: Broker, device_id: str) -> _Device:
    return _Device(broker, device_id, device_password(DEVICE_SECRET, device_id))


def test_a_provisioned_device_connects_and_a_retired_one_is_dropped(broker: Broker) -> None:
    before = _connect(broker, NEW.device_id)
    assert not before.accepted  # unknown to the broker
    before.close()

    provision_device(_accounts(broker), NEW, device_secret=DEVICE_SECRET)
    provision_device(_accounts(broker), NEW, device_secret=DEVICE_SECRET)  # idempotent
    device = _connect(broker, NEW.device_id)
    assert device.accepted
    info = device.client.publish("dayuan/v1/c1/light/light-new/telemetry", b"{}", qos=1)
    info.wait_for_publish(10)
    assert info.is_published()

    retire_device(_accounts(broker), NEW.device_id)
    assert device.gone.wait(10), "the broker kept a retired device's connection"
    device.close()
    again = _connect(broker, NEW.device_id)
    assert not again.accepted
    again.close()
    retire_device(_accounts(broker), NEW.device_id)  # retiring twice is fine


def test_only_the_accounts_role_may_change_accounts(broker: Broker) -> None:
    with pytest.raises(BrokerUnreachable, match="no answer"):
        provision_device(_accounts(broker, BackendRole.API), NEW, device_secret=DEVICE_SECRET)
    device = _connect(broker, NEW.device_id)
    assert not device.accepted
    device.close()


def test_a_device_cannot_take_a_backend_account(broker: Broker) -> None:
    gateway = backend_account(BackendRole.GATEWAY, BACKEND_SECRET)
    squatter = DeviceEntry(gateway.username, "c1", Kind.LIGHT)
    with pytest.raises(AccountRefused, match="reserved"):
        provision_device(_accounts(broker), squatter, device_secret=DEVICE_SECRET)
    with pytest.raises(AccountRefused, match="reserved"):
        retire_device(_accounts(broker), gateway.username)
    backend = _Device(broker, gateway.username, gateway.password)
    assert backend.accepted  # the gateway's account is untouched
    backend.close()
