"""Databases: each test run creates its own on the server named by
DAYUAN_TEST_ADMIN_URL (default: the local PostgreSQL as `postgres`) and drops them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import psycopg
import pytest

import ingest
import registry
from dayuan.wiring import SCHEMA
from tests.factories import TEST_REGISTRY

ADMIN_URL = os.environ.get("DAYUAN_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
RUN = uuid.uuid4().hex[:8]


def _url(name: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]


def timescaledb_available() -> bool:
    with psycopg.connect(ADMIN_URL) as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()
        preload = conn.execute("SHOW shared_preload_libraries").fetchone()
    return row is not None and preload is not None and "timescaledb" in str(preload[0])


@pytest.fixture(scope="session")
def make_database() -> Iterator[Callable[[], str]]:
    created: list[str] = []

    def make() -> str:
        name = f"dayuan_test_{RUN}_{len(created)}"
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return _url(name)

    yield make
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["postgres"])
def storage_mode(request: pytest.FixtureRequest) -> str:
    """Plain PostgreSQL by default; tests that matter on both modes override `params`."""
    mode = str(request.param)
    if mode == "timescaledb" and not timescaledb_available():
        pytest.skip("TimescaleDB is not installed on the test server")
    return mode


@pytest.fixture
def schema_url(make_database: Callable[[], str], storage_mode: str) -> str:
    """A fresh database with the schema and nothing in it."""
    url = make_database()
    with psycopg.connect(url) as conn:
        ingest.upgrade(conn, packages=SCHEMA, requested=storage_mode)
    return url


@pytest.fixture
def db_url(schema_url: str) -> str:
    """A fresh database: schema upgraded, the test registry loaded."""
    url = schema_url
    with psycopg.connect(url) as conn:
        registry.load(conn, TEST_REGISTRY, actor="test:setup", now=datetime.now(UTC))
    return url


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(db_url, autocommit=True) as c:
        yield c
