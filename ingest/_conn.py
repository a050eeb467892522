"""The connection type every ingest function takes (rows as tuples), and the one place
psycopg's errors from reads and maintenance become `StorageUnavailable`."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ingest._errors import StorageUnavailable

Conn = psycopg.Connection[tuple[Any, ...]]


@contextmanager
def reading() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise StorageUnavailable(f"storage failed: {str(exc).strip()}") from exc


def dict_rows(conn: Conn, query: str, params: Any = None) -> list[dict[str, Any]]:
    with reading(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()
