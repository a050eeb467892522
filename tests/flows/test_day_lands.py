"""Issue 3's acceptance: the reference compound's morning, with the demo scenario's
incidents and wire faults, played flat-out through a real broker into the gateway,
lands completely by the simulator's manifest."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

import domain
import registry
import simulators
from bench import account
from broker import MqttEndpoint
from tests.factories import generated_compound, topic
from tests.fix_gateway import GatewayFactory, wait_for
from tests.fix_mqtt import FLEET, Broker, Publisher

HOURS = 5  # 06:00-11:00 local: the fall at 07:42, the SOS at 09:15, the malformed at 10:30


def test_a_simulated_morning_lands_with_nothing_lost(
    run_gateway: GatewayFactory,
    broker: Broker,
    fleet: Publisher,
    conn: psycopg.Connection[Any],
    tmp_path: Path,
) -> None:
    compound = generated_compound()
    registry.load(conn, compound, actor="test", now=datetime.now(UTC))
    local = ZoneInfo(compound.compounds[0].timezone)
    yesterday = datetime.now(local).date() - timedelta(days=1)
    start = datetime(yesterday.year, yesterday.month, yesterday.day, 6, tzinfo=local)
    manifest = tmp_path / "manifest.jsonl"
    with run_gateway():
        report = simulators.run_simulation(
            compound,
            start=start.astimezone(UTC),
            duration=timedelta(hours=HOURS),
            rate=math.inf,
            mode="fleet",
            manifest=manifest,
            scenario=simulators.load_scenario(simulators.DEMO_SCENARIO),
            target=simulators.MqttTarget(
                MqttEndpoint(broker.host, broker.port, FLEET.username, FLEET.password)
            ),
        )
        sent = simulators.read_manifest(manifest)
        expected = sum(len(sent.expected_data(d)) for d in sent.devices)
        wait_for(conn, "SELECT count(*) FROM device_state", len(sent.devices), timeout=60)
        # Each count in a transaction of its own: a read transaction held across polls
        # keeps share locks on the partitioned parents while the writer attaches new
        # partitions (a deadlock PostgreSQL resolves by killing the reader).
        conn.commit()
        result = account(conn, sent)
        pause = threading.Event()
        for _ in range(60):  # the last batches commit a moment after the last publish
            if result.lost == 0:
                break
            pause.wait(0.5)
            conn.commit()
            result = account(conn, sent)
    _clear_retained(fleet, compound)
    assert report.messages > 10_000, "the morning should be busy"
    assert result.expected == expected > 10_000
    assert result.lost == 0, f"lost, e.g. {result.lost_sample}"
    assert result.unexpected == 0
    assert result.malformed_sent >= 1
    assert result.malformed_dead_lettered == result.malformed_sent


def _clear_retained(fleet: Publisher, compound: domain.CompoundFile) -> None:
    """The simulated devices' retained statuses off the session's broker, so that the
    next test's gateway is not handed a compound it does not know."""
    for c in compound.compounds:
        for d in c.devices:
            fleet.publish(topic(d.kind.value, d.id, "status", compound=c.id), b"", retain=True)
