"""Provisioning through the API on a Mosquitto of the project's generated config: a
device registered by an administrator connects as itself at once and its telemetry is
stored; a retired one is dropped by the broker, cannot come back and leaves the
registry; each change is in the change log. Bad requests are refused with a reason and
touch neither the registry nor anyone's broker account."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api import create_app
from broker import MqttEndpoint, free_port
from domain import device_password
from tests.api.conftest import ADMIN_PASSWORD, Conn, FakeClock, bearer, config_for, login, serve
from tests.factories import GATE, dumps, now_ms
from tests.fix_gateway import GatewayFactory, wait_for
from tests.fix_mqtt import DEVICE_SECRET, Broker, DeviceSession, own_broker

NEW = "light-p1"
LIGHT = {"id": NEW, "kind": "light", "model": "led_light", "address": "1", "x": 5.0, "y": 7.0}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A broker of this module's own: provisioning changes its accounts."""
    with own_broker(tmp_path_factory.mktemp("provisioning")) as started:
        yield started


def _connect(broker: Broker, device_id: str) -> DeviceSession:
    return DeviceSession(broker, device_id, device_password(DEVICE_SECRET, device_id))


def _changes(client: httpx.Client, admin: dict[str, str]) -> list[tuple[str, str, str]]:
    """The device changes the administrator made (not the test registry's own load)."""
    seen: list[tuple[str, str, str]] = []
    after = 0
    while True:
        params = {"compound": "c1", "after_id": after, "limit": 100}
        found = client.get("/api/v1/registry-changes", params=params, headers=admin)
        assert found.status_code == 200, found.text
        page = found.json()["data"]
        if not page:
            return seen
        seen += [
            (c["entity"], c["key"], c["change"])
            for c in page
            if c["entity"] == "devices" and c["actor"] == "admin"
        ]
        after = page[-1]["id"]


def test_a_provisioned_device_connects_and_a_retired_one_is_gone(
    client: httpx.Client,
    admin: dict[str, str],
    broker: Broker,
    run_gateway: GatewayFactory,
    conn: Conn,
) -> None:
    made = client.post("/api/v1/devices", json={"compound": "c1", "device": LIGHT}, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json() == {
        "id": NEW,
        "compound": "c1",
        "kind": "light",
        "broker_account": "created",
    }
    with run_gateway():
        device = _connect(broker, NEW)
        assert device.accepted
        sent = device.client.publish(
            f"dayuan/v1/c1/light/{NEW}/telemetry",
            dumps({"ts": now_ms(), "seq": 1, "values": {"power_w": 40.0}}),
            qos=1,
        )
        sent.wait_for_publish(10)
        stored = wait_for(
            conn, f"SELECT count(*) FROM telemetry WHERE device_id = '{NEW}'", 1, timeout=30
        )
        assert stored == 1  # the gateway knew the new device: stored, not dead-lettered

        gone = client.delete(f"/api/v1/devices/{NEW}", headers=admin)
        assert gone.status_code == 200, gone.text
        assert gone.json()["broker_account"] == "deleted"
        assert device.gone.wait(10), "the broker kept a retired device connected"
        device.close()
    again = _connect(broker, NEW)
    assert not again.accepted
    again.close()
    assert client.get(f"/api/v1/devices/{NEW}", headers=admin).status_code == 404
    assert client.delete(f"/api/v1/devices/{NEW}", headers=admin).status_code == 404
    assert [c for c in _changes(client, admin) if c[1] == NEW] == [
        ("devices", NEW, "added"),
        ("devices", NEW, "removed"),
    ]


@pytest.mark.parametrize(
    ("body", "code", "reason"),
    [
        ({"compound": "c1", "device": {**LIGHT, "id": GATE}}, 409, "registered already"),
        ({"compound": "c1", "device": {**LIGHT, "id": "dayuan-gateway"}}, 422, "backend"),
        ({"compound": "nowhere", "device": LIGHT}, 422, "no compound"),
        ({"compound": "c1", "device": {**LIGHT, "address": "9"}}, 422, "no building 9"),
        (
            {"compound": "c1", "device": {**LIGHT, "kind": "elder", "model": "sos_pendant"}},
            422,
            "flat",
        ),
        ({"compound": "c1", "device": {**LIGHT, "id": "bad id!"}}, 422, "pattern"),
        ({"compound": "c1", "device": LIGHT, "extra": 1}, 422, "extra"),
    ],
    ids=["taken", "reserved", "compound", "building", "elder-flat", "bad-id", "extra-field"],
)
def test_bad_provisioning_is_refused_and_changes_nothing(
    client: httpx.Client,
    admin: dict[str, str],
    broker: Broker,
    body: dict[str, Any],
    code: int,
    reason: str,
) -> None:
    refused = client.post("/api/v1/devices", json=body, headers=admin)
    assert refused.status_code == code, refused.text
    assert reason in refused.text
    assert _changes(client, admin) == []
    gate = _connect(broker, GATE)  # a taken id's owner keeps its account
    assert gate.accepted
    gate.close()


def test_only_administrators_provision(
    client: httpx.Client, headers: dict[str, dict[str, str]]
) -> None:
    for role in ("property_staff", "grid_worker", "viewer"):
        made = client.post(
            "/api/v1/devices", json={"compound": "c1", "device": LIGHT}, headers=headers[role]
        )
        assert made.status_code == 403, (role, made.text)
        gone = client.delete(f"/api/v1/devices/{GATE}", headers=headers[role])
        assert gone.status_code == 403, (role, gone.text)


def test_a_broker_that_does_not_answer_leaves_the_registry_as_it_was(
    api_db: str, broker: Broker
) -> None:
    nowhere = MqttEndpoint("127.0.0.1", free_port(), "dayuan-accounts", "x")
    app = create_app(config_for(api_db, broker, accounts_mqtt=nowhere), clock=FakeClock())
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        admin = bearer(login(client, "admin", ADMIN_PASSWORD))
        made = client.post(
            "/api/v1/devices", json={"compound": "c1", "device": LIGHT}, headers=admin
        )
        assert made.status_code == 503, made.text
        assert "not provisioned" in made.text
        assert client.get(f"/api/v1/devices/{NEW}", headers=admin).status_code == 404
        gone = client.delete(f"/api/v1/devices/{GATE}", headers=admin)
        assert gone.status_code == 503, gone.text
        assert client.get(f"/api/v1/devices/{GATE}", headers=admin).status_code == 200


def test_external_accounts_register_only(api_db: str, broker: Broker) -> None:
    app = create_app(config_for(api_db, broker, accounts_mqtt=None), clock=FakeClock())
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        admin = bearer(login(client, "admin", ADMIN_PASSWORD))
        made = client.post(
            "/api/v1/devices", json={"compound": "c1", "device": LIGHT}, headers=admin
        )
        assert made.status_code == 201, made.text
        assert made.json()["broker_account"] == "external"
    device = _connect(broker, NEW)
    assert not device.accepted  # this deployment does not keep the broker's accounts
    device.close()
