"""The connection type and the one place psycopg's errors become care's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from care._errors import CareStoreError, InvalidCare

Conn = psycopg.Connection[tuple[Any, ...]]


@contextmanager
def transaction(conn: Conn) -> Iterator[Conn]:
    """A short transaction of its own; psycopg's errors leave as care's (a value the
    database refuses, such as a NUL byte in a note, as a refusal)."""
    try:
        with conn.transaction():
            yield conn
    except psycopg.DataError as exc:
        raise InvalidCare("value", f"the database refused it: {exc}".strip()) from exc
    except psycopg.Error as exc:
        raise CareStoreError(f"the database failed: {exc}".strip()) from exc
