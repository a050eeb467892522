"""The connection type and the one place psycopg's errors become `NotifyStoreError`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from notify._errors import NotifyStoreError

Conn = psycopg.Connection[tuple[Any, ...]]


@contextmanager
def transaction(conn: Conn) -> Iterator[Conn]:
    """A short transaction of its own; psycopg's errors leave as notify's."""
    try:
        with conn.transaction():
            yield conn
    except psycopg.Error as exc:
        raise NotifyStoreError(f"the database failed: {exc}".strip()) from exc


@contextmanager
def reading() -> Iterator[None]:
    """A read on the caller's connection; psycopg's errors leave as notify's."""
    try:
        yield
    except psycopg.Error as exc:
        raise NotifyStoreError(f"the database failed: {exc}".strip()) from exc
