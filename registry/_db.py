"""The connection type, and the one place psycopg's errors become the registry's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from registry._errors import RegistryError, RegistryUnavailable, ValueRefused

Conn = psycopg.Connection[tuple[Any, ...]]


def translated(exc: psycopg.Error) -> RegistryError:
    """A psycopg error as the registry's: a refused value, or the database failing."""
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, psycopg.DataError | psycopg.IntegrityError):
        return ValueRefused(f"the value was refused: {text}")
    return RegistryUnavailable(f"the registry's database failed: {text}")


@contextmanager
def transaction(conn: Conn) -> Iterator[Conn]:
    """A transaction of its own (never nested: what it records must commit together)."""
    if conn.info.transaction_status is not TransactionStatus.IDLE:
        raise RegistryError("the registry needs a connection outside a transaction")
    try:
        with conn.transaction():
            yield conn
    except psycopg.Error as exc:
        raise translated(exc) from exc


@contextmanager
def reading() -> Iterator[None]:
    """Around a read: psycopg's errors leave as the registry's."""
    try:
        yield
    except psycopg.Error as exc:
        raise translated(exc) from exc
