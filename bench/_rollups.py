"""`dayuan bench rollups`: what keeping the rollups' history costs on plain PostgreSQL,
each figure beside its baseline measured in the same run, on databases of its own.

- marks: the dirty-mark trigger's own time per writer statement (the trigger line of
  EXPLAIN ANALYZE on the writer's INSERT of `--devices` x 5 rows), for live rows and for
  rows two days old, against the trigger before migration 0019 (one mark per hour,
  merged; its definition is kept here as the baseline);
- refresh: recomputing one late reading's device-hour (what 0019 marks) against
  recomputing its whole hour (what the refresh did before 0019), on two days of history.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

import ingest
from dayuan.settings import Settings
from dayuan.wiring import SCHEMA

# The trigger and mark table as they were before ingest/migrations/0019: the baseline.
_BEFORE_0019 = """
DELETE FROM rollup_dirty;
ALTER TABLE rollup_dirty DROP COLUMN device_ids;
ALTER TABLE rollup_dirty ADD PRIMARY KEY (bucket);
CREATE OR REPLACE FUNCTION telemetry_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty (bucket)
    SELECT DISTINCT date_trunc('hour', ts) FROM new_rows
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
"""
_INSERT = (
    "EXPLAIN ANALYZE INSERT INTO telemetry"
    " SELECT 'd-' || (g / 5), 'k' || (g %% 5), %s, g, NULL"
    " FROM generate_series(0, %s - 1) g ON CONFLICT DO NOTHING"
)
_TRIGGER_MS = re.compile(r"Trigger telemetry_mark_dirty on telemetry: time=([\d.]+)")
_STATEMENT_MS = re.compile(r"Execution Time: ([\d.]+)")
# History for the refresh: a reading a minute per series, enough rows that an hour's
# recompute and a device-hour's differ by what the index, not the machine, decides.
HISTORY_DAYS = 2
REFRESH_RUNS = 7


@contextmanager
def _database(admin: str, url_info: dict[str, Any]) -> Iterator[psycopg.Connection[Any]]:
    name = f"dayuan_rollups_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = psycopg.conninfo.make_conninfo(**{**url_info, "dbname": name})
        with psycopg.connect(url, autocommit=True) as conn:
            ingest.upgrade(conn, packages=SCHEMA, requested="postgres")
            yield conn
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _partitions(conn: psycopg.Connection[Any], now: datetime) -> None:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for d in range(-1, HISTORY_DAYS + 2):
        start = day - timedelta(days=d)
        end = start + timedelta(days=1)
        conn.execute(
            f"CREATE TABLE telemetry_p{start:%Y%m%d}0000 PARTITION OF telemetry"
            f" FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )


def _marks(conns: dict[str, psycopg.Connection[Any]], devices: int, runs: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    loads = {"live": now - timedelta(minutes=30), "backfill_2d": now - timedelta(days=2)}
    times: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for i in range(runs):
        for load, base in loads.items():
            ts = base + timedelta(milliseconds=i + 1)  # new rows every statement
            for variant in sorted(conns, reverse=i % 2 == 1):  # interleaved, order alternating
                plan = "\n".join(
                    str(r[0]) for r in conns[variant].execute(_INSERT, (ts, devices * 5))
                )
                trigger, statement = _TRIGGER_MS.search(plan), _STATEMENT_MS.search(plan)
                assert trigger is not None, plan
                assert statement is not None, plan
                times.setdefault(load, {}).setdefault(variant, []).append(
                    (float(trigger[1]), float(statement[1]))
                )
    return {
        "rows_per_statement": devices * 5,
        "statements": runs,
        "trigger_ms_median": {
            load: {v: statistics.median(t for t, _ in r) for v, r in by.items()}
            for load, by in times.items()
        },
        "statement_ms_median": {
            load: {v: statistics.median(s for _, s in r) for v, r in by.items()}
            for load, by in times.items()
        },
    }


def _refresh(conn: psycopg.Connection[Any], devices: int) -> dict[str, Any]:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    conn.execute("ALTER TABLE telemetry DISABLE TRIGGER telemetry_mark_dirty")
    conn.execute(
        "INSERT INTO telemetry SELECT 'd-' || (g %% %s), 'k' || (g / %s %% 5),"
        " %s - (g / (%s * 5)) * INTERVAL '1 minute', random(), NULL"
        " FROM generate_series(0, %s * 5 * %s - 1) g",
        (devices, devices, now, devices, devices, HISTORY_DAYS * 24 * 60),
    )
    conn.execute("ALTER TABLE telemetry ENABLE TRIGGER telemetry_mark_dirty")
    conn.execute("ANALYZE telemetry")
    rows = conn.execute("SELECT count(*) FROM telemetry").fetchone()
    hour = now - timedelta(hours=30)
    marks = {"device_hour": ["d-0"], "whole_hour": None}
    timings: dict[str, list[float]] = {k: [] for k in marks}
    written: dict[str, int] = {}
    for _ in range(REFRESH_RUNS):
        for what, device_ids in marks.items():
            conn.execute(
                "INSERT INTO rollup_dirty (bucket, device_ids) VALUES (%s, %s)", (hour, device_ids)
            )
            started = time.perf_counter()
            written[what] = ingest.refresh_rollups(conn)
            timings[what].append((time.perf_counter() - started) * 1000)
    return {
        "telemetry_rows": rows[0] if rows else 0,
        "runs": REFRESH_RUNS,
        "ms_median": {k: round(statistics.median(v), 2) for k, v in timings.items()},
        "rollup_rows_rewritten": written,
    }


def bench_rollups(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url is None:
        raise RuntimeError("set DAYUAN_DATABASE_URL to the server to measure on")
    info = psycopg.conninfo.conninfo_to_dict(settings.database_url)
    admin = psycopg.conninfo.make_conninfo(**{**info, "dbname": "postgres"})  # type: ignore[arg-type]
    now = datetime.now(UTC)
    with _database(admin, info) as before, _database(admin, info) as after:
        before.execute(_BEFORE_0019)
        for conn in (before, after):
            _partitions(conn, now)
        marks = _marks({"before_0019": before, "now": after}, args.devices, args.statements)
        refresh = _refresh(after, args.history_devices)
    result = {"benchmark": "rollups", "marks": marks, "refresh": refresh}
    print(json.dumps(result, indent=2, default=str))
    return 0
