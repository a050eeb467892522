"""Schema migrations and the choice between TimescaleDB and plain PostgreSQL.

Each package that owns tables keeps its migrations beside its code, in
`<package>/migrations/NNNN_name.sql` (both storage modes) or `NNNN_name.<mode>.sql`
(one per mode); the entry point names the packages (`dayuan.wiring.SCHEMA`). Version
numbers are one sequence across the packages (take the next free number), so that a
migration may rely on everything numbered before it, whoever owns it. They are applied
in that order, each in its own transaction, under an advisory lock so that processes
starting together do not race. The mode is chosen once, when the schema is first
created, and recorded; after that a database keeps its mode.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
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
    package: str
    version: int
    name: str
    sql: str


def migrations(mode: StorageMode, packages: Sequence[str]) -> list[Migration]:
    """The migrations of `packages` that apply to `mode`, in the order they run."""
    found: dict[tuple[str, int], Migration] = {}
    for package in packages:
        for m in _package_migrations(package, mode):
            if (package, m.version) in found:
                raise MigrationError(f"two migrations of {package} share version {m.version}")
            found[package, m.version] = m
    rank = {p: i for i, p in enumerate(packages)}
    return sorted(found.values(), key=lambda m: (m.version, rank[m.package]))


def _package_migrations(package: str, mode: StorageMode) -> list[Migration]:
    folder = resources.files(package).joinpath("migrations")
    if not folder.is_dir():
        return []
    out = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match is None:
            continue
        version, name, variant = int(match[1]), match[2], match[3]
        if variant is not None and _variant_mode(variant) is not mode:
            continue
        out.append(Migration(package, version, name, entry.read_text(encoding="utf-8")))
    return out


def _variant_mode(variant: str) -> StorageMode:
    return StorageMode.POSTGRES if variant == "postgres" else StorageMode.TIMESCALEDB


def upgrade(conn: Conn, *, packages: Sequence[str], requested: str = "auto") -> StorageMode:
    """Bring the schema of `packages` (in layer order: registry first) up to date;
    return the storage mode in force. Idempotent.

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
        _adopt_legacy(conn, packages)
        mode = _recorded_mode(conn) or _choose_mode(conn, requested)
        if requested != "auto" and mode.value != requested:
            raise StorageModeError(
                f"this database was created in {mode.value} mode; {requested} was requested"
            )
        _apply(conn, mode, packages)
        return mode
    finally:
        if not conn.closed:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
            conn.autocommit = was_autocommit


_VERSIONS = (
    "CREATE TABLE IF NOT EXISTS schema_versions ("
    " package text NOT NULL, version integer NOT NULL, name text NOT NULL,"
    " mode text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (package, version))"
)


def _adopt_legacy(conn: Conn, packages: Sequence[str]) -> None:
    """A database made when every migration lived in `ingest` recorded one global
    version per file in `schema_migrations`. Those files were split by owner, keeping
    their numbers, so version N applied there means every package's N applied here."""
    conn.execute(_VERSIONS)
    if not _exists(conn, "schema_migrations"):
        return
    applied = conn.execute("SELECT version, mode FROM schema_migrations").fetchall()
    with conn.transaction():
        for version, mode in applied:
            for m in migrations(StorageMode(str(mode)), packages):
                if m.version == int(version):
                    conn.execute(
                        "INSERT INTO schema_versions (package, version, name, mode)"
                        " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        (m.package, m.version, m.name, str(mode)),
                    )
        conn.execute("DROP TABLE schema_migrations")
    log.info("adopted %d migrations recorded by an earlier layout", len(applied))


def _exists(conn: Conn, table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    return bool(row and row[0])


def _recorded_mode(conn: Conn) -> StorageMode | None:
    row = conn.execute("SELECT mode FROM schema_versions LIMIT 1").fetchone()
    return None if row is None else StorageMode(str(row[0]))


def _choose_mode(conn: Conn, requested: str) -> StorageMode:
    if requested == "postgres":
        return StorageMode.POSTGRES
    problem = _enable_timescaledb(conn)
    if problem is None:
        return StorageMode.TIMESCALEDB
    if requested == "timescaledb":
        raise StorageModeError(f"TimescaleDB was required but is not usable: {problem}")
    log.warning("TimescaleDB is not usable, using plain PostgreSQL partitioning: %s", problem)
    return StorageMode.POSTGRES


# Defined by TimescaleDB's loader, which refuses to load unless it is preloaded: a row in
# pg_settings (which, unlike current_setting, omits unloaded placeholders) proves the
# preload to a role that may not read shared_preload_libraries (a superuser-only setting).
_LOADER_SETTING = "timescaledb.max_background_workers"
_NOT_INSTALLED = (
    "the extension is not installed on this server: install TimescaleDB for this"
    " PostgreSQL version, or set DAYUAN_STORAGE=postgres"
)
_NOT_PERMITTED = (
    "grant this role CREATE on the database, or have a superuser run"
    " CREATE EXTENSION timescaledb in it once, or set DAYUAN_STORAGE=postgres"
)
_NOT_PRELOADED = (
    "the extension is installed but not preloaded: add timescaledb to"
    " shared_preload_libraries in postgresql.conf and restart the server,"
    " or set DAYUAN_STORAGE=postgres"
)


def _enable_timescaledb(conn: Conn) -> str | None:
    """None when the extension is in place, else why not. The library must be preloaded:
    creating the extension without that ends the server's session (a FATAL error), so
    that is asked first and never tried."""
    row = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    if row is None:
        return _NOT_INSTALLED
    if not _preloaded(conn):
        return _NOT_PRELOADED
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error as exc:  # e.g. no CREATE privilege on the database
        if conn.closed:
            raise StorageModeError(
                f"the server closed the connection while creating the extension: {exc}"
            ) from exc
        return f"CREATE EXTENSION was refused: {_first_line(exc)}{_hint(exc)}; {_NOT_PERMITTED}"
    return None


def _preloaded(conn: Conn) -> bool:
    try:
        row = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
    except psycopg.errors.InsufficientPrivilege:
        loader = conn.execute("SELECT 1 FROM pg_settings WHERE name = %s", (_LOADER_SETTING,))
        return loader.fetchone() is not None
    libraries = {x.strip() for x in str(row[0] if row else "").split(",")}
    return "timescaledb" in libraries


def _first_line(exc: psycopg.Error) -> str:
    return str(exc).strip().splitlines()[0]


def _hint(exc: psycopg.Error) -> str:
    hint = exc.diag.message_hint
    return f" ({hint.strip()})" if hint else ""


def _apply(conn: Conn, mode: StorageMode, packages: Sequence[str]) -> None:
    done = {
        (str(r[0]), int(r[1])) for r in conn.execute("SELECT package, version FROM schema_versions")
    }
    for m in migrations(mode, packages):
        if (m.package, m.version) in done:
            continue
        log.info("applying migration %s/%04d_%s (%s)", m.package, m.version, m.name, mode)
        try:
            with conn.transaction():
                conn.execute(sql.SQL(m.sql))
                conn.execute(
                    "INSERT INTO schema_versions (package, version, name, mode)"
                    " VALUES (%s, %s, %s, %s)",
                    (m.package, m.version, m.name, mode.value),
                )
        except psycopg.Error as exc:
            raise MigrationError(
                f"migration {m.package}/{m.version:04d}_{m.name} failed: {exc}"
            ) from exc
    if mode is StorageMode.TIMESCALEDB and "ingest" in packages:
        _apply_timescaledb_policies(conn)


def current_mode(conn: Conn) -> StorageMode:
    row = conn.execute(
        "SELECT mode FROM schema_versions LIMIT 1"
        if _exists(conn, "schema_versions")
        else "SELECT NULL WHERE false"
    ).fetchone()
    if row is None:
        raise MigrationError("the database has no Dayuan schema: run `dayuan db upgrade`")
    return StorageMode(str(row[0]))


# Continuous-aggregate refresh, every 15 minutes, over every hour a reading may still
# arrive for: from the raw telemetry's retention (the gateway refuses older readings,
# `too_old`) to one hour ago (the docs advise leaving the bucket still being written to
# real-time aggregation). A refresh re-materializes only the buckets that writes
# invalidated inside that window, so late and backfilled data reach the rollup and an
# idle pass costs little; its first pass materializes the whole history. The window
# must never reach past the retention: refreshing over raw chunks the retention
# dropped would erase their rollups, which are kept five years.
CAGG_END_OFFSET = "1 hour"
CAGG_SCHEDULE = "15 minutes"


def _apply_timescaledb_policies(conn: Conn) -> None:
    """(Re)apply chunk intervals, columnstore and retention policies from data_classes,
    and the rollup's refresh policy over the raw telemetry's retention."""
    classes = conn.execute(
        "SELECT relation, chunk_interval, compress_after, retention FROM data_classes"
        " WHERE relation IN ('telemetry', 'events', 'access_events', 'telemetry_hourly')"
    ).fetchall()
    raw_retention = next(keep for relation, _, _, keep in classes if relation == "telemetry")
    with conn.transaction():
        conn.execute(
            "SELECT remove_continuous_aggregate_policy('telemetry_hourly', if_exists => true)"
        )
        conn.execute(
            "SELECT add_continuous_aggregate_policy('telemetry_hourly',"
            " start_offset => %s::interval, end_offset => %s::interval,"
            " schedule_interval => %s::interval)",
            (raw_retention, CAGG_END_OFFSET, CAGG_SCHEDULE),
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
