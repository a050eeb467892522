"""Native range partitions for plain PostgreSQL mode.

Partitions are aligned like TimescaleDB's chunks (multiples of the class's chunk
interval since the Unix epoch, UTC) and created on demand, just before a batch that
needs them is copied in. Creation takes a transaction-scoped advisory lock so that
two writers never race on the same partition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from psycopg import sql

from ingest._conn import Conn

PARTITIONED = ("telemetry", "events", "access_events")
PARTITION_LOCK = 0x444159_504152  # "DAYPAR"
_BOUND = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


def chunk_start(ts: datetime, chunk: timedelta) -> datetime:
    step = int(chunk.total_seconds())
    return datetime.fromtimestamp(int(ts.timestamp()) // step * step, UTC)


def partition_name(relation: str, start: datetime) -> str:
    return f"{relation}_p{start:%Y%m%d%H%M}"


class Partitions:
    """Knows which partitions exist; creates the missing ones. One per writer connection."""

    def __init__(self, chunks: dict[str, timedelta]) -> None:
        self._chunks = chunks
        self._known: dict[str, set[datetime]] = {r: set() for r in chunks}

    def chunk(self, relation: str) -> timedelta:
        return self._chunks[relation]

    def ensure(self, conn: Conn, relation: str, starts: Iterable[datetime]) -> None:
        missing = set(starts) - self._known[relation]
        if not missing:
            return
        self._known[relation] |= {s for s, _ in existing(conn, relation)}
        missing -= self._known[relation]
        if not missing:
            return
        chunk = self._chunks[relation]
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (PARTITION_LOCK,))
            for start in sorted(missing):
                conn.execute(
                    sql.SQL(
                        "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})"
                    ).format(
                        sql.Identifier(partition_name(relation, start)),
                        sql.Identifier(relation),
                        sql.Literal(start),
                        sql.Literal(start + chunk),
                    )
                )
        self._known[relation] |= missing


def existing(conn: Conn, relation: str) -> list[tuple[datetime, str]]:
    """(start, name) of every partition of `relation`."""
    rows = conn.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
        (relation,),
    ).fetchall()
    found = []
    for name, bound in rows:
        match = _BOUND.search(str(bound))
        if match:
            found.append((datetime.fromisoformat(match[1]).astimezone(UTC), str(name)))
    return found


def drop_older_than(conn: Conn, relation: str, chunk: timedelta, cutoff: datetime) -> list[str]:
    """Drop the partitions of `relation` whose whole range lies before `cutoff`."""
    dropped = []
    for start, name in existing(conn, relation):
        if start + chunk <= cutoff:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
            dropped.append(name)
    return dropped
