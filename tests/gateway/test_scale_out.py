"""Beyond one process: two gateways share one subscription and store every message
exactly once; alarms stay single across them; a rules-only consumer of a compound
partition sees every message of its compounds."""

from __future__ import annotations

import contextlib
import threading
import uuid
from typing import Any

import psycopg

import rules
from dayuan import wiring
from tests.factories import COMPOUND, SOS, dumps, now_ms, topic
from tests.fix_gateway import GatewayFactory, settings_for, wait_for
from tests.fix_mqtt import Broker, Publisher

N = 600


def _publish(fleet: Publisher, n: int) -> None:
    t = now_ms() - n
    for i in range(n):
        device = f"bench-{i % 4}"
        fleet.publish(
            topic("light", device, "telemetry"),
            dumps({"ts": t + i, "seq": i, "values": {"power_w": 1.0}}),
        )


def test_two_gateways_split_the_load_and_store_each_message_once(
    run_gateway: GatewayFactory, fleet: Publisher, conn: psycopg.Connection[Any]
) -> None:
    group = f"g{uuid.uuid4().hex[:8]}"
    sink_a, sink_b = rules.CollectingSink(), rules.CollectingSink()
    with (
        run_gateway(share_group=group, sink=sink_a) as a,
        run_gateway(share_group=group, sink=sink_b) as b,
    ):
        _publish(fleet, N)
        for i in range(10):  # SOS presses, each reaching one gateway or the other
            fleet.publish(
                topic("elder", SOS, "event"),
                dumps({"ts": now_ms() + i, "seq": 1000 + i, "type": "sos"}),
            )
        assert wait_for(conn, "SELECT count(*) FROM telemetry", N) == N
        assert wait_for(conn, "SELECT max(count) FROM alarms", 10) == 10
        assert wait_for(conn, "SELECT count(*) FROM events WHERE type = 'sos'", 10) == 10
        stored_a, stored_b = a.metrics.stored_messages, b.metrics.stored_messages
    assert stored_a > 0
    assert stored_b > 0  # the broker split the load between the two
    assert stored_a + stored_b == N + 10
    assert conn.execute(
        "SELECT count(*), count(DISTINCT (device_id, seq)) FROM telemetry"
    ).fetchone() == (N, N)
    opened = [c for c in sink_a.changes + sink_b.changes if c.change is rules.ChangeKind.OPENED]
    assert len(opened) == 1  # one alarm for ten presses, whichever process saw which
    assert conn.execute("SELECT count(*) FROM alarms").fetchone() == (1,)


def test_a_rules_consumer_of_a_partition_sees_every_message_of_its_compounds(
    db_url: str,
    broker: Broker,
    run_gateway: GatewayFactory,
    fleet: Publisher,
    conn: psycopg.Connection[Any],
) -> None:
    settings = settings_for(db_url, broker, compounds=COMPOUND)
    assert settings.mqtt_url is not None
    with (
        run_gateway(rules_enabled=False),  # the storing gateway
        wiring.pool(db_url) as db,
        contextlib.ExitStack() as stack,
    ):
        engine = stack.enter_context(wiring.rule_engine(settings, db, sink=rules.CollectingSink()))
        assert engine is not None
        consumer = stack.enter_context(
            wiring.gateway(
                settings,
                db,
                settings.endpoint_for(settings.mqtt_url),
                engine=engine,
                sink=wiring.EvaluateOnly(engine),
                client_id=f"dayuan-rules-{uuid.uuid4().hex[:6]}",
                share=False,
            )
        )
        assert consumer.connected.wait(10)
        _publish(fleet, N)
        fleet.publish(topic("light", "bench-0", "telemetry", compound="elsewhere"), b"{}")
        assert wait_for(conn, "SELECT count(*) FROM telemetry", N) == N
        pause = threading.Event()
        for _ in range(250):
            if engine.metrics.submitted >= N:
                break
            pause.wait(0.02)
    assert engine.metrics.submitted == N  # all of c1, nothing of another compound
    assert consumer.metrics.received == N
