"""The connection type every ingest function takes (rows as tuples), and the one place
psycopg's errors from reads and maintenance become `StorageUnavailable`."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from ingest._errors import StorageUnavailable

Conn = psycopg.Connection[tuple[Any, ...]]


@contextmanager
def reading() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise StorageUnavailable(f"storage failed: {str(exc).strip()}") from exc
