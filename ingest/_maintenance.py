"""Periodic upkeep of plain-PostgreSQL storage (TimescaleDB runs its own jobs).

- rollups: recompute the hours of `telemetry_hourly` that inserts marked dirty;
- retention: drop partitions wholly older than their class's retention, and delete
  rollup rows and dead letters past theirs (both modes: dead letters are a plain table).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from ingest._classes import data_classes
from ingest._conn import Conn, reading
from ingest._partitions import PARTITIONED, drop_older_than
from ingest._schema import StorageMode

log = logging.getLogger(__name__)

_REFRESH = """
WITH dirty AS (DELETE FROM rollup_dirty RETURNING bucket)
INSERT INTO telemetry_hourly AS h (bucket, device_id, key, samples, avg, min, max)
SELECT d.bucket, t.device_id, t.key, count(*), avg(t.value), min(t.value), max(t.value)
FROM dirty d
JOIN telemetry t ON t.ts >= d.bucket AND t.ts < d.bucket + INTERVAL '1 hour'
GROUP BY d.bucket, t.device_id, t.key
ON CONFLICT (device_id, key, bucket) DO UPDATE SET
    samples = excluded.samples, avg = excluded.avg, min = excluded.min, max = excluded.max
"""


@dataclass(frozen=True, slots=True)
class MaintenanceResult:
    rollup_rows: int
    dropped_partitions: list[str]
    deleted_rows: int


def refresh_rollups(conn: Conn) -> int:
    """Recompute every dirty hour; returns the rollup rows written (plain PostgreSQL only)."""
    with reading(), conn.transaction():
        return max(conn.execute(_REFRESH).rowcount, 0)


def maintain(conn: Conn, *, mode: StorageMode, now: datetime) -> MaintenanceResult:
    """One pass of upkeep; a failing statement leaves as `StorageUnavailable`."""
    with reading():
        return _maintain(conn, mode=mode, now=now)


def _maintain(conn: Conn, *, mode: StorageMode, now: datetime) -> MaintenanceResult:
    classes = data_classes(conn)
    deleted = 0
    with conn.transaction():
        cutoff = now - classes["dead_letters"].retention
        deleted += max(
            conn.execute("DELETE FROM dead_letters WHERE received_at < %s", (cutoff,)).rowcount, 0
        )
    if mode is StorageMode.TIMESCALEDB:
        return MaintenanceResult(0, [], deleted)
    rollups = refresh_rollups(conn)
    dropped: list[str] = []
    with conn.transaction():
        for relation in PARTITIONED:
            klass = classes[relation]
            dropped += drop_older_than(conn, relation, klass.chunk_interval, now - klass.retention)
        cutoff = now - classes["telemetry_hourly"].retention
        deleted += max(
            conn.execute("DELETE FROM telemetry_hourly WHERE bucket < %s", (cutoff,)).rowcount, 0
        )
    if dropped:
        log.info("retention dropped %d partition(s): %s", len(dropped), ", ".join(dropped))
    return MaintenanceResult(rollups, dropped, deleted)
