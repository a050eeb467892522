"""Issue 14 over a real Mosquitto into a real PostgreSQL: dead letters and backfills are
bounded per delivery and per device, and a face payload leaves none of its bytes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg

from domain import DEAD_LETTER_PAYLOAD_BYTES
from gateway import MAX_PARTITIONS_PER_DELIVERY
from tests.factories import GATE, LIGHT, WEARABLE, dumps, now_ms, topic
from tests.fix_gateway import GatewayFactory, wait_for
from tests.fix_mqtt import Publisher

BUDGET = 10  # dead-letter rows per device per window, for this test
FLOOD = 100  # messages, each of 1000 bad elements


def test_a_flood_of_bad_arrays_costs_bounded_rows_and_is_counted(
    run_gateway: GatewayFactory, fleet: Publisher, conn: psycopg.Connection[Any]
) -> None:
    t = now_ms()
    bad = dumps([{"ts": t, "values": {"power_w": -1}}] * 1000)
    mixed = dumps([{"ts": t, "seq": 7, "values": {"power_w": 5.0}}] + [{"ts": t, "x": 1}] * 999)
    with run_gateway(dead_letters_per_device=BUDGET) as gw:  # the default 60 s window
        for _ in range(FLOOD):
            fleet.publish(topic("light", LIGHT, "telemetry"), bad)
        fleet.publish(topic("light", LIGHT, "telemetry"), mixed)  # over budget, 1 valid
        fleet.publish(
            topic("elder", WEARABLE, "telemetry"),
            dumps({"ts": t, "seq": 1, "values": {"heart_rate": 70}}),
        )
        assert wait_for(conn, "SELECT count(*) FROM telemetry", 2) == 2
    # Stopping drained the budget's open windows into their `suppressed` rows.
    suppressed = gw.metrics.dead_letters_suppressed

    rows = conn.execute(
        "SELECT reason, refused, length(payload), length(detail), elements FROM dead_letters"
        " WHERE device_id = %s ORDER BY id",
        (LIGHT,),
    ).fetchall()
    kept = [r for r in rows if r[0] != "suppressed"]
    [summary] = [r for r in rows if r[0] == "suppressed"]
    assert len(kept) == BUDGET
    assert all(r[1] == 1000 and len(r[4]) == 20 for r in kept)
    assert sum(r[2] + r[3] for r in rows) <= (BUDGET + 1) * (DEAD_LETTER_PAYLOAD_BYTES + 2000)
    assert summary[1] == suppressed == FLOOD + 1 - BUDGET  # every delivery accounted for
    assert summary[2] == 0
    stored = conn.execute("SELECT device_id, value FROM telemetry ORDER BY device_id").fetchall()
    assert stored == [(LIGHT, 5.0), (WEARABLE, 70.0)]


def test_a_backfill_over_years_touches_a_bounded_number_of_partitions(
    run_gateway: GatewayFactory, fleet: Publisher, conn: psycopg.Connection[Any]
) -> None:
    partitions = "SELECT count(*) FROM pg_inherits WHERE inhparent = 'telemetry'::regclass"
    before = conn.execute(partitions).fetchone()
    assert before is not None
    day = timedelta(days=1)
    backfill = [{"ts": now_ms(-d * day), "seq": d, "values": {"lux": 1}} for d in range(500)]
    with run_gateway():
        fleet.publish(topic("light", LIGHT, "telemetry"), dumps(backfill))
        assert wait_for(conn, "SELECT count(*) FROM dead_letters", 1) == 1
    assert conn.execute("SELECT count(*) FROM telemetry").fetchone() == (
        MAX_PARTITIONS_PER_DELIVERY,
    )
    after = conn.execute(partitions).fetchone()
    assert after is not None
    assert after[0] - before[0] <= MAX_PARTITIONS_PER_DELIVERY
    row = conn.execute("SELECT reason, refused, detail, elements FROM dead_letters").fetchone()
    assert row is not None
    reason, refused, detail, elements = row
    assert (reason, refused) == ("too_many_partitions", 500 - MAX_PARTITIONS_PER_DELIVERY)
    assert "too_old 100" in detail  # past the 400-day telemetry retention
    assert "too_many_partitions" in detail
    assert "partition beyond" in detail
    assert elements[0] == [MAX_PARTITIONS_PER_DELIVERY, "too_many_partitions"]


MARKER = "FACE-MARKER-51c0de"


def test_a_privacy_violation_keeps_no_face_bytes(
    run_gateway: GatewayFactory, fleet: Publisher, conn: psycopg.Connection[Any]
) -> None:
    access = {"ts": now_ms(), "type": "access", "result": "granted", "method": "face"}
    payloads = [
        {**access, "face_image": f"data:image/jpeg;base64,{MARKER}" + "A" * 8000},
        [access, {**access, "embedding": [MARKER, *[0.125] * 512]}],
        {**access, "values": {"snapshot": MARKER}},  # nested: a schema violation, no copy kept
    ]
    with run_gateway():
        for payload in payloads:
            fleet.publish(topic("gate", GATE, "event"), dumps(payload))
        assert wait_for(conn, "SELECT count(*) FROM dead_letters", 3) == 3
    assert conn.execute(
        "SELECT count(*) FROM dead_letters d WHERE position(%s IN d::text) > 0"
        " OR position(%s::bytea IN payload) > 0",
        (MARKER, MARKER.encode()),
    ).fetchone() == (0,)
    rows = conn.execute("SELECT reason, payload, detail FROM dead_letters ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["privacy_violation", "privacy_violation", "schema_violation"]
    assert all(bytes(r[1]) == b"" for r in rows)
    assert "face_image (" in rows[0][2]
    assert "bytes)" in rows[0][2]
    assert conn.execute("SELECT count(*) FROM access_events").fetchone() == (1,)
