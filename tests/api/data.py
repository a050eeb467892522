"""Rows for the API tests, stored the way the pipeline stores them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

import ingest
from domain import Message, Topic, decode


def store(db_url: str, *messages: tuple[str, dict[str, Any]]) -> None:
    """(topic, payload) pairs through the real writer (partitions, staging, latest values)."""
    now = datetime.now(UTC)
    decoded = []
    for topic, payload in messages:
        parsed = Topic.parse(topic)
        for body in decode(parsed, orjson.dumps(payload)):
            assert not isinstance(body, Exception), body
            decoded.append(Message(parsed, body, now))
    with psycopg.connect(db_url) as conn:
        mode = ingest.current_mode(conn)
        classes = ingest.data_classes(conn)
    with ConnectionPool(db_url, configure=ingest.prepare_connection, open=True) as pool:
        ingest.Writer(pool, mode=mode, classes=classes).write(decoded, [])


def alarm(
    conn: psycopg.Connection[Any],
    *,
    rule: str = "sos",
    device: str | None = "sos-1",
    flat: str | None = "3-2-301",
    severity: str = "critical",
    at: datetime | None = None,
) -> int:
    at = at or datetime.now(UTC)
    subject = device or f"c1/{flat}"
    row = conn.execute(
        "INSERT INTO alarms (fingerprint, rule_id, rule_version, title, severity, compound_id,"
        " device_id, flat, subject, first_seen, last_seen, opened_at, updated_at, trigger_values)"
        " VALUES (%s, %s, 1, %s, %s, 'c1', %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            f"{rule}:{subject}",
            rule,
            f"{rule} at {subject}",
            severity,
            device,
            flat,
            subject,
            at,
            at,
            at,
            at,
            Jsonb({"type": rule}),
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def clear_alarm(conn: psycopg.Connection[Any], alarm_id: int) -> None:
    conn.execute("UPDATE alarms SET cleared_at = now() WHERE id = %s", (alarm_id,))


def rollup(
    conn: psycopg.Connection[Any], device: str, key: str, hour: datetime, value: float
) -> None:
    conn.execute(
        "INSERT INTO telemetry_hourly (bucket, device_id, key, samples, avg, min, max)"
        " VALUES (%s, %s, %s, 60, %s, %s, %s)",
        (hour, device, key, value, value - 1, value + 1),
    )


def dead_letter(conn: psycopg.Connection[Any], reason: str, payload: bytes = b"{bad") -> None:
    conn.execute(
        "INSERT INTO dead_letters (received_at, topic, device_id, reason, detail, payload,"
        " payload_size) VALUES (now(), 'dayuan/v1/c1/light/light-1/telemetry', 'light-1', %s,"
        " 'test', %s, %s)",
        (reason, payload, len(payload)),
    )
