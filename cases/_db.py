"""The connection type and the one place psycopg's errors become `CaseStoreError`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from cases._errors import CasesError, CaseStoreError, CaseValueRefused

Conn = psycopg.Connection[tuple[Any, ...]]


@contextmanager
def transaction(conn: Conn) -> Iterator[Conn]:
    """A transaction of its own (never nested: what it records is published on exit)."""
    if conn.info.transaction_status is not TransactionStatus.IDLE:
        raise CasesError("cases needs a connection outside a transaction: it commits its own")
    try:
        with conn.transaction():
            yield conn
    except psycopg.Error as exc:
        raise translated(exc) from exc


def translated(exc: psycopg.Error, doing: str = "the database failed") -> CaseStoreError:
    """A psycopg error as cases': a refused value (422 at the API), or the store failing."""
    if isinstance(exc, psycopg.DataError | psycopg.IntegrityError):
        return CaseValueRefused(f"the value was refused: {exc}".strip())
    return CaseStoreError(f"{doing}: {exc}".strip())
