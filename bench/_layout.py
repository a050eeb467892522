"""`dayuan bench layout`: narrow (one row per value) against wide (one jsonb row per
message) telemetry, through the same path the writer uses - binary COPY into a staging
table, then INSERT ... ON CONFLICT DO NOTHING into a partitioned table - and the cost of
the query the rollups and charts run. Prints JSON; both layouts measured in one run.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from dayuan.settings import Settings

KEYS = ("power_w", "voltage_v", "current_a", "lux", "dim_level")
DEVICES = 200

_DDL = {
    "narrow": """
        CREATE TABLE t (device_id text NOT NULL, key text NOT NULL, ts timestamptz NOT NULL,
                        value double precision NOT NULL, seq bigint,
                        UNIQUE (device_id, key, ts)) PARTITION BY RANGE (ts);
        CREATE TEMP TABLE s (device_id text, key text, ts timestamptz, value float8, seq int8);
    """,
    "wide": """
        CREATE TABLE t (device_id text NOT NULL, ts timestamptz NOT NULL, seq bigint,
                        values jsonb NOT NULL, UNIQUE (device_id, ts)) PARTITION BY RANGE (ts);
        CREATE TEMP TABLE s (device_id text, ts timestamptz, seq int8, values jsonb);
    """,
}
_TYPES = {
    "narrow": ["text", "text", "timestamptz", "float8", "int8"],
    "wide": ["text", "timestamptz", "int8", "jsonb"],
}
_QUERY = {
    "narrow": "SELECT device_id, key, avg(value) FROM t WHERE key = 'power_w' GROUP BY 1, 2",
    "wide": "SELECT device_id, avg((values->>'power_w')::float8) FROM t GROUP BY 1",
}


def bench_layout(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url is None:
        raise RuntimeError("set DAYUAN_DATABASE_URL to the server to measure on")
    info = psycopg.conninfo.conninfo_to_dict(settings.database_url)
    admin = psycopg.conninfo.make_conninfo(**{**info, "dbname": "postgres"})  # type: ignore[arg-type]
    result: dict[str, Any] = {
        "benchmark": "layout",
        "messages": args.messages,
        "values_per_message": len(KEYS),
    }
    for layout in ("narrow", "wide"):
        name = f"dayuan_layout_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            url = psycopg.conninfo.make_conninfo(**{**info, "dbname": name})  # type: ignore[arg-type]
            result[layout] = _measure(url, layout, args.messages)
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps(result, indent=2))
    return 0


def _measure(url: str, layout: str, messages: int) -> dict[str, float]:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    with psycopg.connect(url) as conn:
        conn.execute(_DDL[layout])
        conn.execute(
            "CREATE TABLE t_p PARTITION OF t FOR VALUES FROM (%s) TO (%s)".replace(
                "%s", "'" + start.isoformat() + "'", 1
            ).replace("%s", "'" + (start + timedelta(days=2)).isoformat() + "'", 1)
        )
        conn.commit()
        batch = 5000
        started = time.perf_counter()
        for first in range(0, messages, batch):
            rows = _rows(layout, start, first, min(batch, messages - first))
            with conn.cursor().copy("COPY s FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(_TYPES[layout])
                for row in rows:
                    copy.write_row(row)
            conn.execute("INSERT INTO t SELECT * FROM s ON CONFLICT DO NOTHING")
            conn.execute("TRUNCATE s")
            conn.commit()
        ingest_s = time.perf_counter() - started
        size = conn.execute("SELECT pg_total_relation_size('t_p')").fetchone()
        started = time.perf_counter()
        conn.execute(_QUERY[layout]).fetchall()
        query_s = time.perf_counter() - started
    return {
        "msgs_per_s": round(messages / ingest_s),
        "bytes_per_message": round(int(size[0]) / messages) if size else 0,
        "aggregate_query_ms": round(query_s * 1000, 1),
    }


def _rows(layout: str, start: datetime, first: int, n: int) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for i in range(first, first + n):
        device = f"light-{i % DEVICES}"
        ts = start + timedelta(milliseconds=10 * (i // DEVICES))
        values = {k: float((i * 7 + j) % 100) for j, k in enumerate(KEYS)}
        if layout == "narrow":
            rows.extend((device, k, ts, v, i) for k, v in values.items())
        else:
            rows.append((device, ts, i, Jsonb(values)))
    return rows
