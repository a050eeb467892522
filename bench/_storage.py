"""`dayuan bench storage`: bytes per stored telemetry point, before and after compression,
on simulated days of the reference compound, and what the choice costs the series query.

The days are played by the simulators (no broker: `Simulation` through the gateway's
`Intake`, as `dayuan bench alarms` does) and stored by the batch writer into a database
of its own migrated in the server's mode (`--mode auto`: TimescaleDB when it is usable).
A point is one row of `telemetry` (one value of one key at one ts); its bytes are the
relation's heap, TOAST and indexes (on TimescaleDB `hypertable_size`, which adds the
chunks' compressed relations). Every figure is the schema's own layout, what `dayuan db
upgrade` made; on TimescaleDB the same rows are also copied into candidate layouts
(`--variants`), each compressed whole, so the choice in the migrations can be checked
against its alternatives in one run. The query cost is the median execution time
(EXPLAIN ANALYZE) of one device's raw series over the whole load, one key and all keys,
and of the API's hourly series for that device (`ingest.hourly_series`).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

import ingest
from bench._ingest import scratch_database
from dayuan import wiring
from dayuan.settings import Settings
from domain import Message
from gateway import Intake, Limits
from rules import World
from simulators import Publish, Simulation, generate_compound

BATCH = 500  # messages per write, about what the gateway commits at once
QUERY_RUNS = 5
_EXECUTION_MS = re.compile(r"Execution Time: ([\d.]+)")


@dataclass(frozen=True)
class Layout:
    """A candidate columnstore layout for the telemetry table (TimescaleDB only)."""

    name: str
    segmentby: str
    orderby: str
    chunk: str
    value_type: str = "double precision"
    value_expr: str = "value"  # how a stored value becomes this layout's


MILLI = "round(value * 1000)::bigint"
# The alternatives measured beside the schema's layout: what a segment holds (one series,
# one device, one key), how it is ordered, how long a chunk is and the value's type.
VARIANTS = (
    Layout("device_key/ts/1d", "device_id, key", "ts DESC", "1 day"),
    Layout("device_key/ts/7d", "device_id, key", "ts DESC", "7 days"),
    Layout("device/key_ts/1d", "device_id", "key, ts DESC", "1 day"),
    Layout("device/key_ts/7d", "device_id", "key, ts DESC", "7 days"),
    Layout("key/device_ts/1d", "key", "device_id, ts DESC", "1 day"),
    Layout("device_key/ts/1d/real", "device_id, key", "ts DESC", "1 day", "real"),
    Layout("device_key/ts/7d/real", "device_id, key", "ts DESC", "7 days", "real"),
    # Fixed point: thousandths in a bigint (delta-delta and run lengths instead of
    # Gorilla's XOR of doubles); `values_changed` counts the values it would change.
    Layout("device_key/ts/1d/milli", "device_id, key", "ts DESC", "1 day", "bigint", MILLI),
    Layout("device_key/ts/7d/milli", "device_id, key", "ts DESC", "7 days", "bigint", MILLI),
)


def simulated(days: float, seed: int, end: datetime) -> list[Message]:
    """`days` of the reference compound up to `end`, as the gateway accepts them."""
    compounds = generate_compound(seed=seed)
    start = end - timedelta(days=days)
    sim = Simulation(compounds, start=start, seed=seed)
    world = World.from_compounds(compounds.compounds)
    intake = Intake(devices=world.devices.get, limits=Limits())
    out: list[Message] = []
    while sim.next_at() <= end:
        at, items = sim.step()
        for item in items:
            if isinstance(item, Publish):
                out.extend(intake.accept(item.topic, item.payload, at).messages)
    return out


def _store(url: str, messages: list[Message]) -> None:
    with psycopg.connect(url) as conn:
        mode, classes = ingest.current_mode(conn), ingest.data_classes(conn)
    with wiring.pool(url) as pool:
        writer = ingest.Writer(pool, mode=mode, classes=classes)
        for i in range(0, len(messages), BATCH):
            writer.write(messages[i : i + BATCH], [])


def _size(conn: psycopg.Connection[Any], relation: str, mode: ingest.StorageMode) -> int:
    if mode is ingest.StorageMode.TIMESCALEDB:
        row = conn.execute("SELECT hypertable_size(%s::regclass)", (relation,)).fetchone()
    else:  # a partitioned table: the sum of its partitions
        row = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(relid)), 0)"
            " FROM pg_partition_tree(%s::regclass)",
            (relation,),
        ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _compress(conn: psycopg.Connection[Any], relation: str) -> int:
    chunks = conn.execute("SELECT show_chunks(%s::regclass)", (relation,)).fetchall()
    for (chunk,) in chunks:
        conn.execute("SELECT compress_chunk(%s, if_not_compressed => true)", (chunk,))
    conn.execute(f"VACUUM ANALYZE {relation}")
    return len(chunks)


def _median_ms(conn: psycopg.Connection[Any], sql: str, params: dict[str, Any]) -> float:
    times = []
    for _ in range(QUERY_RUNS):
        plan = "\n".join(str(r[0]) for r in conn.execute("EXPLAIN ANALYZE " + sql, params))
        found = _EXECUTION_MS.search(plan)
        assert found is not None, plan
        times.append(float(found[1]))
    return round(statistics.median(times), 2)


def _queries(
    conn: psycopg.Connection[Any], relation: str, device: str, key: str, start: datetime
) -> dict[str, float]:
    params = {"device": device, "key": key, "start": start, "end": datetime.now(UTC)}
    one = (
        f"SELECT ts, value FROM {relation} WHERE device_id = %(device)s AND key = %(key)s"
        " AND ts >= %(start)s AND ts < %(end)s ORDER BY ts"
    )
    every = (
        f"SELECT key, ts, value FROM {relation} WHERE device_id = %(device)s"
        " AND ts >= %(start)s AND ts < %(end)s ORDER BY key, ts"
    )
    return {
        "raw_one_key_ms": _median_ms(conn, one, params),
        "raw_all_keys_ms": _median_ms(conn, every, params),
    }


def _hourly_ms(conn: psycopg.Connection[Any], device: str, start: datetime) -> float:
    times = []
    for _ in range(QUERY_RUNS):
        began = datetime.now(UTC)
        ingest.hourly_series(
            conn,
            [device],
            start=start,
            end=datetime.now(UTC),
            step=timedelta(hours=1),
            key=None,
            per_device=True,
        )
        times.append((datetime.now(UTC) - began) / timedelta(milliseconds=1))
    return round(statistics.median(times), 2)


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _rollup(
    conn: psycopg.Connection[Any], mode: ingest.StorageMode, start: datetime, end: datetime
) -> None:
    """The hourly rollup over the load, as its policy (TimescaleDB) or maintenance would."""
    if mode is ingest.StorageMode.TIMESCALEDB:
        conn.execute(
            "CALL refresh_continuous_aggregate('telemetry_hourly', %s, %s)",
            (_hour(start - timedelta(hours=1)), _hour(end)),  # whole buckets only
        )
    else:
        ingest.refresh_rollups(conn)


def _busiest(conn: psycopg.Connection[Any]) -> tuple[str, str]:
    row = conn.execute(
        "SELECT device_id, key FROM telemetry GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    assert row is not None, "no telemetry was stored"
    return str(row[0]), str(row[1])


def _variant(
    conn: psycopg.Connection[Any], layout: Layout, rows: int, device: str, key: str, start: datetime
) -> dict[str, Any]:
    conn.execute("DROP TABLE IF EXISTS telemetry_variant")
    conn.execute(
        "CREATE TABLE telemetry_variant (device_id text NOT NULL, key text NOT NULL,"
        f" ts timestamptz NOT NULL, value {layout.value_type} NOT NULL, seq bigint,"
        " UNIQUE (device_id, key, ts))"
    )
    conn.execute(
        "SELECT create_hypertable('telemetry_variant', by_range('ts', %s::interval))",
        (layout.chunk,),
    )
    conn.execute(
        "ALTER TABLE telemetry_variant SET (timescaledb.enable_columnstore = true,"
        f" timescaledb.segmentby = '{layout.segmentby}', timescaledb.orderby = '{layout.orderby}')"
    )
    conn.execute(
        "INSERT INTO telemetry_variant"
        f" SELECT device_id, key, ts, {layout.value_expr}, seq FROM telemetry ORDER BY ts"
    )
    changed = conn.execute(  # what reading the layout back would return, against the original
        f"SELECT count(*) FROM telemetry t WHERE ({layout.value_expr})::{layout.value_type}"
        f"::float8 / {1000 if layout.value_expr == MILLI else 1} <> t.value"
    ).fetchone()
    before = _size(conn, "telemetry_variant", ingest.StorageMode.TIMESCALEDB)
    chunks = _compress(conn, "telemetry_variant")
    after = _size(conn, "telemetry_variant", ingest.StorageMode.TIMESCALEDB)
    result = {
        "segmentby": layout.segmentby,
        "orderby": layout.orderby,
        "chunk": layout.chunk,
        "value_type": layout.value_type,
        "values_changed": int(changed[0]) if changed else None,
        "chunks": chunks,
        "bytes_per_point_before": round(before / rows, 2),
        "bytes_per_point_after": round(after / rows, 2),
        **_queries(conn, "telemetry_variant", device, key, start),
    }
    conn.execute("DROP TABLE telemetry_variant")
    return result


def _settings(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    row = conn.execute(
        "SELECT segmentby, orderby FROM timescaledb_information.hypertable_columnstore_settings"
        " WHERE hypertable = 'telemetry'::regclass"
    ).fetchone()
    chunk = conn.execute(
        "SELECT time_interval FROM timescaledb_information.dimensions"
        " WHERE hypertable_name = 'telemetry'"
    ).fetchone()
    return {
        "segmentby": row[0] if row else None,
        "orderby": row[1] if row else None,
        "chunk": str(chunk[0]) if chunk else None,
    }


def bench_storage(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url is None:  # before the simulation, not after it
        raise RuntimeError("set DAYUAN_DATABASE_URL to the server to measure on")
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(days=args.days)
    messages = simulated(args.days, args.seed, end)
    result: dict[str, Any] = {
        "benchmark": "storage",
        "days": args.days,
        "compound": "reference (generate_compound defaults)",
        "messages": len(messages),
    }
    with scratch_database(settings, prefix="dayuan_storage", migrate=args.mode) as url:
        _store(url, messages)
        with psycopg.connect(url, autocommit=True) as conn:
            mode = ingest.current_mode(conn)
            version = conn.execute(
                "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
            ).fetchone()
            server = conn.execute("SHOW server_version").fetchone()
            _rollup(conn, mode, start, end)
            conn.execute("VACUUM ANALYZE telemetry")
            row = conn.execute("SELECT count(*), count(DISTINCT (device_id, key)) FROM telemetry")
            counts = row.fetchone()
            assert counts is not None
            rows, series = int(counts[0]), int(counts[1])
            device, key = _busiest(conn)
            before = _size(conn, "telemetry", mode)
            result |= {
                "mode": mode.value,
                "server": str(server[0]) if server else None,
                "timescaledb": str(version[0]) if version else None,
                "points": rows,
                "series": series,
                "query_device": device,
                "query_key": key,
                "bytes_per_point_before": round(before / rows, 2),
            }
            if mode is ingest.StorageMode.TIMESCALEDB:
                result["schema_layout"] = _settings(conn)
                result["chunks"] = _compress(conn, "telemetry")
                after = _size(conn, "telemetry", mode)
                result["bytes_per_point_after"] = round(after / rows, 2)
            else:
                result["bytes_per_point_after"] = result["bytes_per_point_before"]
            result |= _queries(conn, "telemetry", device, key, start)
            result["hourly_series_ms"] = _hourly_ms(conn, device, start)
            if mode is ingest.StorageMode.TIMESCALEDB and args.variants:
                result["variants"] = {
                    v.name: _variant(conn, v, rows, device, key, start) for v in VARIANTS
                }
    print(json.dumps(result, indent=2, default=str))
    return 0
