"""A command to a device the simulator plays, end to end: the API publishes it, the
simulated light (its own MQTT session and credentials, the project's ACL) carries it out
and acknowledges, the API marks it acknowledged, the gateway stores the ack, and the
simulator's manifest accounts for it as for every other message it sent."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

import bench
import simulators
from broker import MqttEndpoint
from simulators import RealisticTransport
from tests.api.conftest import wait_ready
from tests.api.test_commands import V1, _wait_status
from tests.factories import TEST_REGISTRY
from tests.fix_gateway import GatewayFactory
from tests.fix_mqtt import DEVICE_SECRET, Broker, own_broker


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A Mosquitto of the project's config for this module alone: the simulated devices
    leave retained statuses behind, which the session's broker must not keep."""
    with own_broker(tmp_path_factory.mktemp("mosquitto")) as started:
        yield started


def test_a_light_the_simulator_plays_acknowledges_and_its_ack_is_accounted(
    client: httpx.Client,
    headers: dict[str, dict[str, str]],
    broker: Broker,
    run_gateway: GatewayFactory,
    conn: psycopg.Connection[Any],
    tmp_path: Path,
) -> None:
    """The test registry played in realistic mode (each device its own credentials and
    ACL), an hour behind and at 60x; the gateway stores what it says."""
    wait_ready(client)
    manifest = tmp_path / "manifest.jsonl"
    target = simulators.MqttTarget(
        MqttEndpoint(broker.host, broker.port), device_secret=DEVICE_SECRET
    )
    transport = RealisticTransport(target)
    stop = threading.Event()
    run = threading.Thread(
        target=simulators.run_simulation,
        args=(TEST_REGISTRY,),
        kwargs={
            "target": target,
            "transport": transport,
            "start": datetime.now(UTC) - timedelta(hours=1),
            "speed": 60.0,
            "spontaneous": False,
            "manifest": manifest,
            "stop": stop,
        },
    )
    with run_gateway():
        run.start()
        try:
            deadline = time.monotonic() + 10
            while not transport.listening() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert transport.listening(), "the simulated devices did not subscribe"
            sent = client.post(
                f"{V1}/devices/light-1/commands",
                json={"command": {"action": "dim", "level": 40}},
                headers=headers["property_staff"],
            )
            assert sent.status_code == 202, sent.text
            cid = sent.json()["correlation_id"]
            done = _wait_status(client, headers["admin"], "light-1", cid)
        finally:
            stop.set()
            run.join(30)
        account = _account_when_landed(conn, simulators.read_manifest(manifest))
        stored = conn.execute(
            "SELECT seq, data->>'result' FROM events WHERE device_id = 'light-1'"
            " AND channel = 'ack' AND data->>'correlation_id' = %s",
            (cid,),
        ).fetchall()

    assert done["status"] == "acknowledged", done
    assert done["result"] == "ok"
    record = simulators.read_manifest(manifest).devices["light-1"]
    assert record.channels["ack"] == 1
    [(seq, result)] = stored
    assert result == "ok"
    assert seq in record.seq_set()
    assert account.lost == 0, account.lost_sample
    assert account.unexpected == 0
    assert account.expected == account.stored > 0


def _account_when_landed(
    conn: psycopg.Connection[Any], manifest: simulators.Manifest
) -> bench.ManifestAccount:
    """`dayuan manifest check`'s account, once the gateway has committed the last batch."""
    deadline = time.monotonic() + 15
    while True:
        conn.commit()  # no read transaction across polls: the writer attaches partitions
        account = bench.account(conn, manifest)
        if account.lost == 0 or time.monotonic() > deadline:
            return account
        time.sleep(0.1)
