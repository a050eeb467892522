"""Databases: each test run creates its own on the server named by
DAYUAN_TEST_ADMIN_URL (default: the local PostgreSQL as `postgres`) and drops them.

Every test still gets a database of its own, but the migrations run once per session and
storage mode: `schema_url` copies a migrated template (`CREATE DATABASE ... TEMPLATE`,
a tenth of a second where migrating takes seconds). `make_database` stays an empty
database, for the tests of migrating itself."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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


def _name(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])


# DROP DATABASE waits for a checkpoint of the whole server (a second or more on the shared
# test machine's disk), and drops requested together share one: a test's database is
# dropped on one of these threads while the next tests run.
DROP_THREADS = 4
# On a server with TimescaleDB preloaded, its background-worker launcher connects for a
# moment to every database it has not seen (to look for the extension), the template
# included, and a database in use cannot be copied ("being accessed by other users").
# The copy is tried again until that session is gone; longer is a template really in use.
TEMPLATE_BUSY_S = 15.0
TEMPLATE_RETRY_S = 0.1


class Databases:
    """The databases of this run: created empty or as copies of a template, each dropped
    once its test is done (`drop_soon`) or when the session ends."""

    def __init__(self) -> None:
        self._created: list[str] = []
        self._dropping: dict[str, Future[None]] = {}
        self._threads = ThreadPoolExecutor(DROP_THREADS, thread_name_prefix="drop-database")

    def create(self, template: str | None = None) -> str:
        name = f"dayuan_test_{RUN}_{len(self._created)}"
        copy = "" if template is None else f' TEMPLATE "{template}"'
        deadline = time.monotonic() + TEMPLATE_BUSY_S
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            while True:
                try:
                    conn.execute(f'CREATE DATABASE "{name}"{copy}')
                    break
                except psycopg.errors.ObjectInUse:
                    if template is None or time.monotonic() > deadline:
                        raise
                    time.sleep(TEMPLATE_RETRY_S)
        self._created.append(name)
        return _url(name)

    def drop_soon(self, url: str) -> None:
        name = _name(url)
        self._dropping[name] = self._threads.submit(_drop, name)

    def close(self) -> None:
        for name in self._created:
            if name not in self._dropping:
                self.drop_soon(_url(name))
        self._threads.shutdown(wait=True)
        for future in self._dropping.values():
            future.result()  # a database left behind fails the run, saying which


def _drop(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def databases() -> Iterator[Databases]:
    dbs = Databases()
    yield dbs
    dbs.close()


@pytest.fixture(scope="session")
def make_database(databases: Databases) -> Callable[[], str]:
    """An empty database (no schema, no extension), dropped when the session ends."""
    return databases.create


@pytest.fixture(scope="session")
def migrated_template(databases: Databases) -> Callable[[str], str]:
    """`template(mode)`: the name of a database of this run migrated in storage `mode`,
    made on first use and never connected to again, so that it can be copied."""
    templates: dict[str, str] = {}

    def template(mode: str) -> str:
        if mode not in templates:
            url = databases.create()
            with psycopg.connect(url) as conn:
                ingest.upgrade(conn, packages=SCHEMA, requested=mode)
            templates[mode] = _name(url)
        return templates[mode]

    return template


@pytest.fixture(params=["postgres"])
def storage_mode(request: pytest.FixtureRequest) -> str:
    """Plain PostgreSQL by default; tests that matter on both modes override `params`."""
    mode = str(request.param)
    if mode == "timescaledb" and not timescaledb_available():
        pytest.skip("TimescaleDB is not installed and preloaded on the test server")
    return mode


@pytest.fixture
def schema_url(
    databases: Databases, migrated_template: Callable[[str], str], storage_mode: str
) -> Iterator[str]:
    """A fresh database with the schema and nothing in it: on plain PostgreSQL a copy of
    the session's migrated template. TimescaleDB's background workers connect to every
    database holding the extension, and a database in use cannot be copied: that mode
    migrates each test's database itself. Dropped when the test is done."""
    if storage_mode == "postgres":
        url = databases.create(migrated_template(storage_mode))
    else:
        url = databases.create()
        with psycopg.connect(url) as conn:
            ingest.upgrade(conn, packages=SCHEMA, requested=storage_mode)
    yield url
    databases.drop_soon(url)


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
