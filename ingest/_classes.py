"""Data classes as configured in the database: chunking and retention per table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ingest._conn import Conn, reading


@dataclass(frozen=True, slots=True)
class DataClass:
    name: str
    relation: str
    chunk_interval: timedelta
    compress_after: timedelta | None
    retention: timedelta


def data_classes(conn: Conn) -> dict[str, DataClass]:
    """By relation name."""
    with reading():
        rows = conn.execute(
            "SELECT name, relation, chunk_interval, compress_after, retention FROM data_classes"
        ).fetchall()
    return {str(r[1]): DataClass(*r) for r in rows}
