"""Schema migrations and the choice between TimescaleDB and plain PostgreSQL.

Migrations are `migrations/NNNN_name.sql` (both storage modes) or
`NNNN_name.<mode>.sql` (one per mode). They are applied in order, each in its own
transaction, under an advisory lock so that processes starting together do not race.
The mode is chosen once, when the schema is first created, and recorded; after that a
database keeps its mode.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources

import psycopg
from psycopg import sql

from ingest._conn import Conn
from ingest._errors import MigrationError, StorageModeError

log = logging.getLogger(__name__)

# Any constant shared by every Dayuan process: "DAYUAN" in ASCII.
MIGRATION_LOCK = 0x444159_55414E
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(postgres|timescaledb|timescale))?\.sql$")


class StorageMode(StrEnum):
    TIMESCALEDB = "timescaledb"
    POSTGRES = "postgres"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(mode: StorageMode) -> list[Migration]:
    """The migrations that apply to `mode`, in order."""
    found: dict[int, Migration] = {}
    for entry in resources.files("ingest").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match is None:
            continue
        version, name, variant = int(match[1]), match[2], match[3]
        if variant is not None and _variant_mode(variant) is not mode:
            continue
        if version in found:
            raise MigrationError(f"two migrations share version {version}: {name}")
        found[version] = Migration(version, name, entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def _variant_mode(variant: str) -> StorageMode:
    return StorageMode.POSTGRES if variant == "postgres" else StorageMode.TIMESCALEDB


def upgrade(conn: Conn, *, requested: str = "auto") -> StorageMode:
    """Bring the schema up to date; return the storage mode in force. Idempotent.

    `requested` is `auto` (TimescaleDB when the extension can be created), `timescaledb`
    (refuse to run without it) or `postgres` (never use it).
    """
    if requested not in ("auto", "timescaledb", "postgres"):
        raise StorageModeError(f"storage mode must be auto, timescaledb or postgres: {requested!r}")
    was_autocommit = conn.autocommit
    if not was_autocommit:
        conn.commit()  # each migration runs in a transaction of its own
        conn.autocommit = True
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        mode = _recorded_mode(conn) or _choose_mode(conn, requested)
        if requested != "auto" and mode.value != requested:
            raise StorageModeError(
                f"this database was created in {mode.value} mode; {requested} was requested"
            )
        _apply(conn, mode)
        return mode
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
        conn.autocommit = was_autocommit


def _recorded_mode(conn: Conn) -> StorageMode | None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY, name text NOT NULL, mode text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    row = conn.execute("SELECT mode FROM schema_migrations ORDER BY version LIMIT 1").fetchone()
    return None if row is None else StorageMode(str(row[0]))


def _choose_mode(conn: Conn, requested: str) -> StorageMode:
    if requested == "postgres":
        return StorageMode.POSTGRES
    problem = _enable_timescaledb(conn)
    if problem is None:
        return StorageMode.TIMESCALEDB
    if requested == "timescaledb":
        raise StorageModeError(f"TimescaleDB was required but is not usable: {problem}")
    log.info("TimescaleDB not usable (%s): using plain PostgreSQL partitioning", problem)
    return StorageMode.POSTGRES


def _enable_timescaledb(conn: Conn) -> str | None:
    row = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    if row is None:
        return "the extension is not installed on this server"
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error as exc:  # e.g. not in shared_preload_libraries, or no privilege
        return str(exc).strip().splitlines()[0]
    return None


def _apply(conn: Conn, mode: StorageMode) -> None:
    done = {int(r[0]) for r in conn.execute("SELECT version FROM schema_migrations")}
    for migration in migrations(mode):
        if migration.version in done:
            continue
        log.info("applying migration %04d_%s (%s)", migration.version, migration.name, mode)
        try:
            with conn.transaction():
                conn.execute(sql.SQL(migration.sql))
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, mode) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, mode.value),
                )
        except psycopg.Error as exc:
            raise MigrationError(
                f"migration {migration.version:04d}_{migration.name} failed: {exc}"
            ) from exc
    if mode is StorageMode.TIMESCALEDB:
        _apply_timescaledb_policies(conn)


def current_mode(conn: Conn) -> StorageMode:
    row = conn.execute("SELECT mode FROM schema_migrations ORDER BY version LIMIT 1").fetchone()
    if row is None:
        raise MigrationError("the database has no Dayuan schema: run `dayuan db upgrade`")
    return StorageMode(str(row[0]))


# Continuous-aggregate refresh: re-materialize the last 3 days every 15 minutes, leaving
# the newest hour to real-time aggregation (the docs advise excluding the bucket that is
# still being written). Late data older than 3 days is picked up by the next manual
# refresh_continuous_aggregate; the gateway refuses data older than the retention anyway.
CAGG_START_OFFSET = "3 days"
CAGG_END_OFFSET = "1 hour"
CAGG_SCHEDULE = "15 minutes"


def _apply_timescaledb_policies(conn: Conn) -> None:
    """(Re)apply chunk intervals, columnstore and retention policies from data_classes."""
    classes = conn.execute(
        "SELECT relation, chunk_interval, compress_after, retention FROM data_classes"
        " WHERE relation IN ('telemetry', 'events', 'access_events', 'telemetry_hourly')"
    ).fetchall()
    with conn.transaction():
        conn.execute(
            "SELECT remove_continuous_aggregate_policy('telemetry_hourly', if_exists => true)"
        )
        conn.execute(
            "SELECT add_continuous_aggregate_policy('telemetry_hourly',"
            " start_offset => %s::interval, end_offset => %s::interval,"
            " schedule_interval => %s::interval)",
            (CAGG_START_OFFSET, CAGG_END_OFFSET, CAGG_SCHEDULE),
        )
        for relation, chunk, compress_after, retention in classes:
            _policies_for(conn, str(relation), chunk, compress_after, retention)


def _policies_for(conn: Conn, relation: str, chunk: object, compress: object, keep: object) -> None:
    if relation != "telemetry_hourly":  # a cagg's chunks follow its hypertable's
        conn.execute("SELECT set_chunk_time_interval(%s, %s::interval)", (relation, chunk))
    conn.execute("CALL remove_columnstore_policy(%s, if_exists => true)", (relation,))
    if compress is not None:
        if relation == "telemetry_hourly":
            conn.execute(
                "ALTER MATERIALIZED VIEW telemetry_hourly"
                " SET (timescaledb.enable_columnstore = true)"
            )
        conn.execute("CALL add_columnstore_policy(%s, after => %s::interval)", (relation, compress))
    conn.execute("SELECT remove_retention_policy(%s, if_exists => true)", (relation,))
    conn.execute("SELECT add_retention_policy(%s, drop_after => %s::interval)", (relation, keep))
