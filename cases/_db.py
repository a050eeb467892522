"""The connection type and the one place psycopg's errors become `CaseStoreError`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from cases._errors import CasesError, CaseStoreError

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
        raise CaseStoreError(f"the database failed: {exc}".strip()) from exc
