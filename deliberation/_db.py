"""The connection type and the one place psycopg's errors become `DeliberationStoreError`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from deliberation._errors import DeliberationStoreError

Conn = psycopg.Connection[tuple[Any, ...]]


@contextmanager
def transaction(conn: Conn) -> Iterator[Conn]:
    """A short transaction of its own; psycopg's errors leave as deliberation's."""
    try:
        with conn.transaction():
            yield conn
    except psycopg.Error as exc:
        raise DeliberationStoreError(f"the database failed: {exc}".strip()) from exc
