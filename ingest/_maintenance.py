"""Periodic upkeep of plain-PostgreSQL storage (TimescaleDB runs its own jobs).

- rollups: recompute the hours and device-hours of `telemetry_hourly` that inserts
  marked dirty, however old (late and backfilled rows included);
- retention: drop partitions wholly older than their class's retention, and delete
  rollup rows and dead letters past theirs (both modes: dead letters are a plain table).

Each step runs on its own: one that fails (a value the rollup cannot take, a lock) is
logged and named in the result, and the others still run, so that one bad row never
stops retention. Averages are taken in `numeric`: no stored double can overflow them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from ingest._classes import DataClass, data_classes
from ingest._conn import Conn, reading
from ingest._errors import StorageUnavailable
from ingest._partitions import PARTITIONED, drop_older_than
from ingest._schema import StorageMode

log = logging.getLogger(__name__)

# Dirty markers (see ingest/migrations/0019): a whole hour (device_ids NULL) is
# recomputed for every device, a device-hour for its device only (LATERAL: one lookup
# per pair in the unique index, which leads with device_id, and the one partition of
# its hour, where a join would be planned as a scan of every partition), and a
# device-hour inside a whole dirty hour is covered by it.
# The DELETE takes only the markers this statement sees: one of a writer still
# uncommitted stays for the next pass, with the rows this pass could not see yet.
_REFRESH = """
WITH dirty AS (DELETE FROM rollup_dirty RETURNING bucket, device_ids),
hours AS (SELECT DISTINCT bucket FROM dirty WHERE device_ids IS NULL),
pairs AS (
    SELECT DISTINCT bucket, unnest(device_ids) AS device_id FROM dirty
    WHERE device_ids IS NOT NULL AND bucket NOT IN (SELECT bucket FROM hours)
),
fresh AS (
    SELECT h.bucket, t.device_id, t.key, count(*) AS samples,
           avg(t.value::numeric)::float8 AS avg, min(t.value) AS min, max(t.value) AS max
    FROM hours h
    JOIN telemetry t ON t.ts >= h.bucket AND t.ts < h.bucket + INTERVAL '1 hour'
    GROUP BY h.bucket, t.device_id, t.key
    UNION ALL
    SELECT p.bucket, p.device_id, a.*
    FROM pairs p
    CROSS JOIN LATERAL (
        SELECT t.key, count(*), avg(t.value::numeric)::float8, min(t.value), max(t.value)
        FROM telemetry t
        WHERE t.device_id = p.device_id
          AND t.ts >= p.bucket AND t.ts < p.bucket + INTERVAL '1 hour'
        GROUP BY t.key
    ) a
)
INSERT INTO telemetry_hourly AS h (bucket, device_id, key, samples, avg, min, max)
SELECT bucket, device_id, key, samples, avg, min, max FROM fresh
ON CONFLICT (device_id, key, bucket) DO UPDATE SET
    samples = excluded.samples, avg = excluded.avg, min = excluded.min, max = excluded.max
"""


@dataclass(frozen=True, slots=True)
class MaintenanceResult:
    rollup_rows: int
    dropped_partitions: list[str]
    deleted_rows: int
    failed: dict[str, str] = field(default_factory=dict)  # step -> why, for the steps that failed


class MaintenanceStatus:
    """The last maintenance pass as the process's metrics and `/readyz` show it: the
    steps that failed and why (one failing step is data kept past its retention or a
    rollup gone stale: an operator must see it, the other steps still run)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failing: dict[str, str] = {}
        self._passes = 0

    def record(self, result: MaintenanceResult) -> None:
        with self._lock:
            self._failing = dict(result.failed)
            self._passes += 1

    def unreachable(self, why: str) -> None:
        with self._lock:
            self._failing = {"all": why}

    def failing(self) -> dict[str, str]:
        with self._lock:
            return dict(self._failing)

    @property
    def passes(self) -> int:
        with self._lock:
            return self._passes


def refresh_rollups(conn: Conn) -> int:
    """Recompute every dirty hour and device-hour, however old; returns the rollup rows
    written (plain PostgreSQL only)."""
    with reading(), conn.transaction():
        return _refresh(conn)


def _refresh(conn: Conn) -> int:
    """In the caller's transaction. Without JIT: the marks' row counts are unknown to the
    planner, whose estimates then make it compile the statement on every pass, ~0.7 s
    of compiling for 1 ms (one late device-hour) to 160 ms (a whole hour of 1,000
    series) of work (`dayuan bench rollups`)."""
    conn.execute("SET LOCAL jit = off")
    return max(conn.execute(_REFRESH).rowcount, 0)


def maintain(conn: Conn, *, mode: StorageMode, now: datetime) -> MaintenanceResult:
    """One pass of upkeep, each step on its own. `StorageUnavailable` only when the
    database cannot be reached at all; a failing step is in `failed`."""
    with reading():
        classes = data_classes(conn)
    failed: dict[str, str] = {}

    def step(name: str, run: Callable[[], int]) -> int:
        try:
            with conn.transaction():
                return run()
        except psycopg.OperationalError as exc:
            raise StorageUnavailable(f"storage failed: {str(exc).strip()}") from exc
        except psycopg.Error as exc:
            failed[name] = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            log.error("maintenance step %s failed, the others ran: %s", name, failed[name])
            return 0

    def delete(query: str, cutoff: datetime) -> Callable[[], int]:
        return lambda: max(conn.execute(query, (cutoff,)).rowcount, 0)

    deleted = step(
        "dead_letter_retention",
        delete(
            "DELETE FROM dead_letters WHERE received_at < %s",
            now - classes["dead_letters"].retention,
        ),
    )
    if mode is StorageMode.TIMESCALEDB:
        return MaintenanceResult(0, [], deleted, failed)
    rollups = step("rollups", lambda: _refresh(conn))
    dropped: list[str] = []
    for relation in PARTITIONED:
        klass = classes[relation]

        def drop(relation: str = relation, klass: DataClass = klass) -> int:
            gone = drop_older_than(conn, relation, klass.chunk_interval, now - klass.retention)
            dropped.extend(gone)
            return len(gone)

        step(f"{relation}_retention", drop)
    deleted += step(
        "rollup_retention",
        delete(
            "DELETE FROM telemetry_hourly WHERE bucket < %s",
            now - classes["telemetry_hourly"].retention,
        ),
    )
    if dropped:
        log.info("retention dropped %d partition(s): %s", len(dropped), ", ".join(dropped))
    return MaintenanceResult(rollups, dropped, deleted, failed)
