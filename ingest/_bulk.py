"""Bulk loading of telemetry history that is not in the database yet: a benchmark's
year, a history moved over from another platform. Binary COPY straight into
`telemetry` (no staging table, no duplicate check: the range must be new), partitions
created first as the writer creates them, and the dirty marks made by the table's own
statement trigger, so that `refresh_rollups` fills `telemetry_hourly` from it exactly
as it does from the gateway's writes. psycopg's errors leave as `StorageUnavailable`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ingest._classes import data_classes
from ingest._conn import Conn, reading
from ingest._partitions import Partitions, chunk_start
from ingest._schema import StorageMode, current_mode

TelemetryRow = tuple[str, str, datetime, float, int | None]  # device, key, ts, value, seq
_TYPES = ["text", "text", "timestamptz", "float8", "int8"]


def copy_telemetry(
    conn: Conn, rows: Iterable[TelemetryRow], *, start: datetime, end: datetime
) -> int:
    """Copy `rows` (all with ts in [start, end)) into `telemetry` in one transaction;
    returns how many. A row already stored fails the whole copy (use the `Writer` for
    data that may repeat)."""
    with reading():
        if current_mode(conn) is StorageMode.POSTGRES:
            _partitions(conn, start, end)
        copied = 0
        with conn.transaction(), conn.cursor() as cur:
            copy_sql = "COPY telemetry (device_id, key, ts, value, seq) FROM STDIN (FORMAT BINARY)"
            with cur.copy(copy_sql) as copy:
                copy.set_types(_TYPES)
                for row in rows:
                    copy.write_row(row)
                    copied += 1
        return copied


def _partitions(conn: Conn, start: datetime, end: datetime) -> None:
    chunk = data_classes(conn)["telemetry"].chunk_interval
    starts, at = [], chunk_start(start, chunk)
    while at < end:
        starts.append(at)
        at += chunk
    Partitions({"telemetry": chunk}).ensure(conn, "telemetry", starts)
