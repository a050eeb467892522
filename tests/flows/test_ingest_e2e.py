"""End to end over a real Mosquitto into a real PostgreSQL: what lands, what is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
import pytest

from tests.factories import BARRIER, GATE, LIGHT, SOS, WEARABLE, dumps, now_ms, topic
from tests.fix_gateway import GatewayFactory, wait_for
from tests.fix_mqtt import Publisher


def test_valid_traffic_of_every_kind_lands(
    run_gateway: GatewayFactory, fleet: Publisher, conn: psycopg.Connection[Any]
) -> None:
    t = now_ms()
    with run_gateway():
        fleet.publish(
            topic("light", LIGHT, "telemetry"),
            dumps({"ts": t, "seq": 1, "values": {"power_w": 61.5, "dim_level": 80, "on": True}}),
        )
        fleet.publish(
            topic("elder", WEARABLE, "telemetry"),
            dumps({"ts": t, "seq": 1, "values": {"heart_rate": 72, "spo2": 97, "battery": 80}}),
        )
        fleet.publish(
            topic("barrier", BARRIER, "telemetry"),
            dumps({"ts": t, "seq": 1, "values": {"occupancy": 300, "capacity": 520}}),
        )
        fleet.publish(topic("gate", GATE, "telemetry"), dumps({"ts": t, "seq": 1, "values": {}}))
        fleet.publish(
            topic("gate", GATE, "event"),
            dumps(
                {
                    "ts": t,
                    "seq": 2,
                    "type": "access",
                    "result": "granted",
                    "method": "face",
                    "person_ref": "p-7f3a",
                    "score": 0.93,
                }
            ),
        )
        fleet.publish(
            topic("barrier", BARRIER, "event"),
            dumps(
                {
                    "ts": t,
                    "seq": 2,
                    "type": "plate",
                    "plate": "浙A12345",
                    "direction": "in",
                    "confidence": 0.97,
                }
            ),
        )
        fleet.publish(topic("elder", SOS, "event"), dumps({"ts": t, "seq": 1, "type": "sos"}))
        fleet.publish(
            topic("light", LIGHT, "event"),
            dumps({"ts": t, "seq": 2, "type": "switch", "state": "on"}),
        )
        fleet.publish(topic("elder", SOS, "status"), dumps({"ts": t, "online": True}))
        fleet.publish(
            topic("light", LIGHT, "ack"),
            dumps({"ts": t, "correlation_id": "cmd-1", "result": "ok"}),
        )
        assert wait_for(conn, "SELECT sum(messages) FROM device_state", 10) == 10

    telemetry = dict(
        conn.execute("SELECT device_id || '.' || key, value FROM telemetry").fetchall()
    )
    assert telemetry == {
        f"{LIGHT}.power_w": 61.5,
        f"{LIGHT}.dim_level": 80.0,
        f"{LIGHT}.on": 1.0,
        f"{WEARABLE}.heart_rate": 72.0,
        f"{WEARABLE}.spo2": 97.0,
        f"{WEARABLE}.battery": 80.0,
        f"{BARRIER}.occupancy": 300.0,
        f"{BARRIER}.capacity": 520.0,
    }
    events = sorted(conn.execute("SELECT device_id, type, channel FROM events").fetchall())
    assert events == [
        (LIGHT, "ack", "ack"),
        (LIGHT, "switch", "event"),
        (SOS, "sos", "event"),
        (SOS, "status", "status"),
    ]
    access = conn.execute("SELECT type, data FROM access_events ORDER BY type").fetchall()
    assert access == [
        ("access", {"result": "granted", "method": "face", "person_ref": "p-7f3a", "score": 0.93}),
        ("plate", {"plate": "浙A12345", "direction": "in", "confidence": 0.97}),
    ]
    assert conn.execute("SELECT count(*) FROM dead_letters").fetchone() == (0,)


BAD = [
    ("malformed_json", topic("light", LIGHT, "telemetry"), b'{"ts": 1, "values": {'),
    ("not_utf8", topic("light", LIGHT, "telemetry"), b"\xff\xfe\x00garbage"),
    (
        "schema_violation",
        topic("light", LIGHT, "telemetry"),
        dumps({"ts": now_ms(), "values": {"power_w": "lots"}}),
    ),
    ("schema_violation", topic("elder", SOS, "event"), dumps({"ts": now_ms(), "type": "explode"})),
    (
        "privacy_violation",
        topic("gate", GATE, "event"),
        dumps(
            {
                "ts": now_ms(),
                "type": "access",
                "result": "granted",
                "method": "face",
                "face_image": "iVBORw0KGgo...",
            }
        ),
    ),
    (
        "unknown_device",
        topic("light", "light-999", "telemetry"),
        dumps({"ts": now_ms(), "values": {"power_w": 1}}),
    ),
    (
        "topic_mismatch",
        topic("light", LIGHT, "telemetry", compound="c2"),
        dumps({"ts": now_ms(), "values": {"power_w": 1}}),
    ),
    ("topic_mismatch", topic("gate", LIGHT, "telemetry"), dumps({"ts": now_ms(), "values": {}})),
    ("bad_topic", "dayuan/v1/c1/toaster/t-1/telemetry", b"{}"),
    ("bad_topic", "dayuan/v1/c1/light/light-1/telemetry/extra", b"{}"),
    (
        "oversized",
        topic("light", LIGHT, "telemetry"),
        b'{"ts": 1, "pad": "' + b"x" * 70_000 + b'"}',
    ),
    (
        "clock_skew",
        topic("light", LIGHT, "telemetry"),
        dumps({"ts": now_ms(timedelta(days=3650)), "values": {"power_w": 1}}),
    ),
    (
        "too_old",
        topic("gate", GATE, "event"),
        dumps(
            {
                "ts": now_ms(-timedelta(days=200)),
                "type": "access",
                "result": "denied",
                "method": "card",
            }
        ),
    ),
    ("bad_topic", "dayuan/v1/c1", b"{}"),
]


def test_every_rejection_reason_lands_in_dead_letters_beside_good_traffic(
    run_gateway: GatewayFactory, fleet: Publisher, conn: psycopg.Connection[Any]
) -> None:
    with run_gateway():
        for seq, (_, bad_topic, payload) in enumerate(BAD):
            fleet.publish(bad_topic, payload)
            fleet.publish(
                topic("light", LIGHT, "telemetry"),
                dumps({"ts": now_ms() + seq, "seq": seq, "values": {"power_w": seq}}),
            )
        assert wait_for(conn, "SELECT count(*) FROM dead_letters", len(BAD)) == len(BAD)
        assert wait_for(conn, "SELECT count(*) FROM telemetry", len(BAD)) == len(BAD)

    rows = conn.execute(
        "SELECT reason, topic, detail, length(payload), payload_size FROM dead_letters ORDER BY id"
    ).fetchall()
    assert [r[0] for r in rows] == [reason for reason, _, _ in BAD]
    assert [r[1] for r in rows] == [t for _, t, _ in BAD]
    for reason, _, detail, kept, size in rows:
        assert detail, f"{reason} has no readable detail"
        assert kept <= 4096
        assert size >= kept
    oversized = next(r for r in rows if r[0] == "oversized")
    assert oversized[4] > 70_000
    assert oversized[3] == 4096
    assert "65536" in oversized[2]


def test_face_data_never_reaches_a_stored_row(
    run_gateway: GatewayFactory, fleet: Publisher, conn: psycopg.Connection[Any]
) -> None:
    with run_gateway():
        for key in ("image", "face_template", "embedding", "Picture"):
            fleet.publish(
                topic("gate", GATE, "event"),
                dumps(
                    {
                        "ts": now_ms(),
                        "type": "access",
                        "result": "granted",
                        "method": "face",
                        key: "AAAA",
                    }
                ),
            )
        assert wait_for(conn, "SELECT count(*) FROM dead_letters", 4) == 4
    assert conn.execute("SELECT count(*) FROM access_events").fetchone() == (0,)
    reasons = {r[0] for r in conn.execute("SELECT reason FROM dead_letters")}
    assert reasons == {"privacy_violation"}


def test_batch_array_stores_good_elements_and_dead_letters_bad_ones(
    run_gateway: GatewayFactory, fleet: Publisher, conn: psycopg.Connection[Any]
) -> None:
    t = now_ms()
    batch = [{"ts": t - 3000 + i, "seq": i, "values": {"power_w": float(i)}} for i in range(5)]
    batch.insert(2, {"ts": t, "seq": 99, "values": {"power_w": -5}})  # negative power
    with run_gateway():
        fleet.publish(topic("light", LIGHT, "telemetry"), dumps(batch))
        assert wait_for(conn, "SELECT count(*) FROM telemetry", 5) == 5
        assert wait_for(conn, "SELECT count(*) FROM dead_letters", 1) == 1
    detail = conn.execute("SELECT detail FROM dead_letters").fetchone()
    assert detail is not None
    assert "batch element 2" in str(detail[0])


def test_duplicates_leave_no_duplicate_rows_and_latest_is_by_ts(
    run_gateway: GatewayFactory, fleet: Publisher, conn: psycopg.Connection[Any]
) -> None:
    t = now_ms()
    newer = {"ts": t, "seq": 2, "values": {"power_w": 20.0}}
    older = {"ts": t - 60_000, "seq": 1, "values": {"power_w": 10.0}}
    with run_gateway():
        fleet.publish(topic("light", LIGHT, "telemetry"), dumps(newer))
        fleet.publish(topic("light", LIGHT, "telemetry"), dumps(newer))  # a device retry
        fleet.publish(topic("light", LIGHT, "telemetry"), dumps(older))  # late, out of order
        fleet.publish(
            topic("light", LIGHT, "telemetry"), dumps([older, newer])
        )  # overlapping backfill
        fleet.publish(topic("elder", SOS, "event"), dumps({"ts": t, "seq": 5, "type": "sos"}))
        fleet.publish(topic("elder", SOS, "event"), dumps({"ts": t, "seq": 5, "type": "sos"}))
        assert wait_for(conn, "SELECT sum(messages) FROM device_state", 7) == 7

    assert conn.execute("SELECT count(*) FROM telemetry").fetchone() == (2,)
    assert conn.execute("SELECT count(*) FROM events").fetchone() == (1,)
    latest = conn.execute(
        "SELECT t.value, seq FROM telemetry_latest t JOIN telemetry USING (device_id, key, ts)"
    ).fetchone()
    assert latest == (20.0, 2)


@pytest.mark.parametrize("storage_mode", ["postgres", "timescaledb"], indirect=True)
def test_both_storage_modes_store_and_roll_up(
    run_gateway: GatewayFactory,
    fleet: Publisher,
    conn: psycopg.Connection[Any],
    storage_mode: str,
) -> None:
    t = now_ms()
    with run_gateway():
        for i in range(10):
            fleet.publish(
                topic("light", LIGHT, "telemetry"),
                dumps({"ts": t - i * 1000, "seq": i, "values": {"power_w": float(i)}}),
            )
        assert wait_for(conn, "SELECT count(*) FROM telemetry", 10) == 10
    mode = conn.execute("SELECT DISTINCT mode FROM schema_versions").fetchone()
    assert mode == (storage_mode,)
    if storage_mode == "postgres":
        conn.execute("SELECT 1")
        import ingest

        ingest.refresh_rollups(conn)
    rollup = conn.execute(
        "SELECT sum(samples), min(min), max(max) FROM telemetry_hourly WHERE key = 'power_w'"
    ).fetchone()
    assert rollup == (10, 0.0, 9.0)
