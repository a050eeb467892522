"""Device accounts on a running Mosquitto (the project's generated config): provisioned,
a device connects as itself and publishes on its topics only; retired, it is dropped and
cannot come back."""

from __future__ import annotations

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
from tests.fix_mqtt import BACKEND_SECRET, DEVICE_SECRET, Broker, DeviceSession

NEW = DeviceEntry("light-new", "c1", Kind.LIGHT)


def _accounts(broker: Broker, role: BackendRole = BackendRole.ACCOUNTS) -> MqttEndpoint:
    account = backend_account(role, BACKEND_SECRET)
    return MqttEndpoint(broker.host, broker.port).as_user(account.username, account.password)


def _connect(broker: Broker, device_id: str) -> DeviceSession:
    return DeviceSession(broker, device_id, device_password(DEVICE_SECRET, device_id))


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
    backend = DeviceSession(broker, gateway.username, gateway.password)
    assert backend.accepted  # the gateway's account is untouched
    backend.close()
