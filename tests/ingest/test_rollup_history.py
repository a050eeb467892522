"""Rollups keep their history: readings older than any refresh window (a backfill, a
compound's buffer after an outage) and late readings into an hour already rolled up
reach `telemetry_hourly`, and the API's series shows every hour, on both storage paths.

The refresh is run by its entry point: `ingest.maintain` on plain PostgreSQL, the
continuous aggregate's policy job (`CALL run_job`) on TimescaleDB.

    hours ago  120 ......... 72 (the old 3-day window) ......... 2   1   now
    history    |=3 readings an hour, two devices ========================|
    late       one more reading of light-1 into hour 116 and hour 2, after a refresh
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

import ingest
from api import create_app
from dayuan import wiring
from domain import Message, Topic, decode
from tests.api.conftest import ADMIN_PASSWORD, bearer, config_for, login, serve
from tests.factories import COMPOUND, LIGHT

OTHER = "bench-0"
HOURS = 120  # five days: more than the 3-day window the old policy refreshed
MINUTES = (0, 20, 40)
LATE = 500.0  # above every reading of light-1: the late one is its hour's max
BATCH = 60  # messages per write, about what the gateway commits at once


def _message(device: str, ts: datetime, value: float) -> Message:
    topic = Topic.parse(f"dayuan/v1/{COMPOUND}/light/{device}/telemetry")
    payload = f'{{"ts": "{ts.isoformat()}", "values": {{"power_w": {value}}}}}'.encode()
    (body,) = decode(topic, payload)
    assert not isinstance(body, Exception), body
    return Message(topic, body, datetime.now(UTC))


def _write(db_url: str, messages: list[Message]) -> None:
    """Through the real writer (partitions, staging, ON CONFLICT), a batch at a time."""
    with psycopg.connect(db_url) as conn:
        mode, classes = ingest.current_mode(conn), ingest.data_classes(conn)
    with wiring.pool(db_url) as pool:
        writer = ingest.Writer(pool, mode=mode, classes=classes)
        for i in range(0, len(messages), BATCH):
            writer.write(messages[i : i + BATCH], [])


def _base(device: str, hour: int) -> float:
    return float(hour) if device == LIGHT else 1000.0 + hour


def _history(first: datetime) -> list[Message]:
    return [
        _message(device, first + timedelta(hours=h, minutes=m), _base(device, h) + i)
        for h in range(HOURS)
        for i, m in enumerate(MINUTES)
        for device in (LIGHT, OTHER)
    ]


def _run_refresh(conn: psycopg.Connection[Any], mode: str) -> int:
    """One run of the rollup's refresh, as its scheduler would start it."""
    if mode == "postgres":
        done = ingest.maintain(conn, mode=ingest.StorageMode.POSTGRES, now=datetime.now(UTC))
        assert not done.failed, done.failed
        return done.rollup_rows
    row = conn.execute(
        "SELECT job_id FROM timescaledb_information.jobs"
        " WHERE proc_name = 'policy_refresh_continuous_aggregate'"
    ).fetchone()
    assert row is not None, "the continuous aggregate has no refresh policy"
    conn.execute("CALL run_job(%s)", (row[0],))
    return -1


@pytest.fixture
def api(db_url: str) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    app = create_app(config_for(db_url, None))
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client, bearer(login(client, "admin", ADMIN_PASSWORD))


def _series(
    api: tuple[httpx.Client, dict[str, str]], device: str, start: datetime, end: datetime
) -> dict[datetime, dict[str, Any]]:
    client, admin = api
    params = {
        "device": device,
        "key": "power_w",
        "bucket": "1h",
        "from": start.isoformat(),
        "to": end.isoformat(),
    }
    response = client.get("/api/v1/telemetry", params=params, headers=admin)
    assert response.status_code == 200, response.text
    (series,) = response.json()["series"]
    return {datetime.fromisoformat(p["ts"]): p for p in series["points"]}


@pytest.mark.parametrize("storage_mode", ["postgres", "timescaledb"], indirect=True)
def test_history_older_than_the_window_and_late_readings_reach_the_api_series(
    db_url: str,
    conn: psycopg.Connection[Any],
    api: tuple[httpx.Client, dict[str, str]],
    storage_mode: str,
) -> None:
    first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS)
    _write(db_url, _history(first))
    _run_refresh(conn, storage_mode)
    late = {
        3: first + timedelta(hours=3, minutes=50),
        HOURS - 2: first + timedelta(hours=HOURS - 2, minutes=55),
    }
    _write(db_url, [_message(LIGHT, ts, LATE) for ts in late.values()])
    _run_refresh(conn, storage_mode)

    end = first + timedelta(hours=HOURS)
    for device in (LIGHT, OTHER):
        points = _series(api, device, first, end)
        assert len(points) == HOURS, f"{HOURS - len(points)} hours of {device} missing"
        for h in range(HOURS):
            point, base = points[first + timedelta(hours=h)], _base(device, h)
            if device == LIGHT and h in late:
                assert (point["samples"], point["max"]) == (4, LATE), h
                assert point["avg"] == pytest.approx((3 * base + 3 + LATE) / 4), h
            else:
                assert (point["samples"], point["min"], point["max"]) == (3, base, base + 2), h
                assert point["avg"] == pytest.approx(base + 1), h


def test_a_late_reading_recomputes_its_own_device_hour_only(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=10)
    hour = [
        _message(device, first + timedelta(minutes=m), _base(device, 0) + i)
        for i, m in enumerate(MINUTES)
        for device in (LIGHT, OTHER)
    ]
    _write(db_url, hour)
    assert _run_refresh(conn, "postgres") == 2  # both devices' rows of the hour
    _write(db_url, [_message(LIGHT, first + timedelta(minutes=50), LATE)])
    # One device's late reading rewrites that device's rollup row, not the hour's.
    assert _run_refresh(conn, "postgres") == 1
    assert _run_refresh(conn, "postgres") == 0
    rows = conn.execute(
        "SELECT device_id, samples, max FROM telemetry_hourly WHERE bucket = %s ORDER BY 1",
        (first,),
    ).fetchall()
    assert rows == [(OTHER, 3, 1002.0), (LIGHT, 4, LATE)]


def test_a_writer_committing_after_a_refresh_began_is_rolled_up_by_the_next(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """A refresh that runs while a writer's transaction is open cannot see the writer's
    rows; the writer's dirty mark must outlive that refresh, even when the hour was
    already marked by an earlier, committed write."""
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    _write(db_url, [_message(LIGHT, hour, 1.0)])  # marks the hour, not yet rolled up
    insert = (
        "INSERT INTO telemetry (device_id, key, ts, value, seq)"
        " VALUES (%s, 'power_w', %s, %s, NULL)"
    )
    with psycopg.connect(db_url) as writer:
        with writer.transaction():  # the same trigger as the batch writer's INSERT
            writer.execute(insert, (LIGHT, hour + timedelta(minutes=30), 3.0))
            ingest.refresh_rollups(conn)  # sees the first row only
        ingest.refresh_rollups(conn)
    row = conn.execute(
        "SELECT samples, avg FROM telemetry_hourly WHERE device_id = %s AND bucket = %s",
        (LIGHT, hour),
    ).fetchone()
    assert row == (2, 2.0)
