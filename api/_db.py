"""The connection type the API's queries take, and the pool's lifecycle."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

Conn = psycopg.Connection[tuple[Any, ...]]

# Handlers run in the threadpool (sync `def`), each holding a connection for one query or
# two; the live feed's one poller and the command sweeper take one briefly per poll (an
# open SSE stream holds none).
POOL_MIN = 1
POOL_MAX = 10
POOL_OPEN_TIMEOUT_S = 30.0
# A request waits at most this long for a connection, then gets 503: better than hanging.
CONNECTION_TIMEOUT_S = 5.0


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.autocommit = True  # reads are single statements; writes take explicit transactions


def rows(conn: Conn, query: str, params: Any = None) -> list[dict[str, Any]]:
    """Run a read and return its rows as dicts (the pool's connections give tuples, as
    the ingest and cases functions the API calls expect)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()


def row(conn: Conn, query: str, params: Any = None) -> dict[str, Any] | None:
    found = rows(conn, query, params)
    return found[0] if found else None


def open_pool(url: str) -> ConnectionPool[Conn]:
    pool: ConnectionPool[Conn] = ConnectionPool(
        url,
        min_size=POOL_MIN,
        max_size=POOL_MAX,
        open=False,
        configure=_configure,
        timeout=CONNECTION_TIMEOUT_S,
        name="dayuan-api",
    )
    pool.open(wait=True, timeout=POOL_OPEN_TIMEOUT_S)
    return pool
