"""The connection type and the one place psycopg's errors become `ResidentsStoreError`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

from residents._errors import ResidentsStoreError

Conn = psycopg.Connection[tuple[Any, ...]]


@contextmanager
def transaction(conn: Conn) -> Iterator[Conn]:
    """A short transaction of its own; psycopg's errors leave as residents'."""
    try:
        with conn.transaction():
            yield conn
    except psycopg.Error as exc:
        raise ResidentsStoreError(f"the database failed: {exc}".strip()) from exc


def rows(conn: Conn, query: str, params: Any = None) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return list(cur.fetchall())


def one(conn: Conn, query: str, params: Any = None) -> dict[str, Any] | None:
    found = rows(conn, query, params)
    return found[0] if found else None
