"""The connection type and the one place psycopg's errors become `ParkingStoreError`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from parking._errors import ParkingStoreError

Conn = psycopg.Connection[tuple[Any, ...]]


@contextmanager
def transaction(conn: Conn) -> Iterator[Conn]:
    """A transaction of its own; psycopg's errors leave as parking's."""
    try:
        with conn.transaction():
            yield conn
    except psycopg.Error as exc:
        raise ParkingStoreError(f"the database failed: {exc}".strip()) from exc


@contextmanager
def reading() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise ParkingStoreError(f"the database failed: {exc}".strip()) from exc
