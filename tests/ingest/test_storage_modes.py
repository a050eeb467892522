"""The storage mode on the server as it is: `auto` falls back to plain PostgreSQL with a
warning naming the cause, `timescaledb` refuses with the cause and the remedy.

Which situation a server can show depends on what it has: without the extension
(most CI servers) only the not-installed path runs; with the extension installed but not
preloaded (a packaged TimescaleDB nobody configured), and with it preloaded (a private
cluster started with `-c shared_preload_libraries=timescaledb`), the others run. Every
test says why it is skipped."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
import pytest

import ingest
from dayuan.wiring import SCHEMA
from tests.fix_db import ADMIN_URL

SCHEMA_LOGGER = "ingest._schema"


@dataclass(frozen=True)
class Server:
    available: bool  # in pg_available_extensions: the files are installed
    preloaded: bool  # in shared_preload_libraries

    @classmethod
    def probe(cls) -> Server:
        with psycopg.connect(ADMIN_URL) as conn:
            row = conn.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
            ).fetchone()
            preload = conn.execute("SHOW shared_preload_libraries").fetchone()
        libraries = {x.strip() for x in str(preload[0] if preload else "").split(",")}
        return cls(available=row is not None, preloaded="timescaledb" in libraries)


SERVER = Server.probe()
not_installed = pytest.mark.skipif(
    SERVER.available, reason="the test server has TimescaleDB installed"
)
installed_not_preloaded = pytest.mark.skipif(
    not SERVER.available or SERVER.preloaded,
    reason="needs a server with TimescaleDB installed but not in shared_preload_libraries",
)
preloaded = pytest.mark.skipif(
    not SERVER.preloaded,
    reason="needs a server with TimescaleDB in shared_preload_libraries",
)


@pytest.fixture
def app_database(make_database: Callable[[], str]) -> Iterator[Callable[[bool], str]]:
    """A fresh database and a fresh non-superuser role that may create tables in it:
    `owner=True` makes the role its owner (so it holds CREATE on the database),
    `owner=False` grants only CREATE on schema public (no CREATE on the database)."""
    made: list[tuple[str, str]] = []  # (database, role)

    def make(owner: bool) -> str:
        info = psycopg.conninfo.conninfo_to_dict(make_database())
        role = f"dayuan_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER')
            made.append((str(info["dbname"]), role))
            if owner:
                admin.execute(f'ALTER DATABASE "{info["dbname"]}" OWNER TO "{role}"')
        if not owner:
            url = psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]
            with psycopg.connect(url, autocommit=True) as db:
                db.execute(f'GRANT CREATE ON SCHEMA public TO "{role}"')
        info["user"] = role
        return psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]

    yield make
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        for dbname, role in made:  # the role's objects and grants go with its database
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def _upgrade(url: str, requested: str) -> ingest.StorageMode:
    with psycopg.connect(url) as conn:
        return ingest.upgrade(conn, packages=SCHEMA, requested=requested)


def _fell_back(url: str, caplog: pytest.LogCaptureFixture, cause: str) -> None:
    """`auto` chose plain PostgreSQL, warned once with `cause`, and the schema works."""
    with caplog.at_level(logging.WARNING, logger=SCHEMA_LOGGER):
        assert _upgrade(url, "auto") is ingest.StorageMode.POSTGRES
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "using plain PostgreSQL" in warnings[0]
    assert cause in warnings[0]
    with psycopg.connect(url) as conn:
        kind = conn.execute("SELECT relkind FROM pg_class WHERE relname = 'telemetry'").fetchone()
        assert kind == ("p",)  # a partitioned table: the postgres layout
        assert _upgrade(url, "auto") is ingest.StorageMode.POSTGRES  # the mode is kept


def _refused(url: str, *causes: str) -> None:
    """`timescaledb` refused with every one of `causes` in the message, and left no
    schema behind, so a later `auto` or fixed server still chooses afresh."""
    with pytest.raises(ingest.StorageModeError) as caught:
        _upgrade(url, "timescaledb")
    for cause in causes:
        assert cause in str(caught.value)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM schema_versions").fetchone() == (0,)


@not_installed
def test_auto_without_the_extension_uses_postgres_and_says_why(
    make_database: Callable[[], str], caplog: pytest.LogCaptureFixture
) -> None:
    _fell_back(make_database(), caplog, "not installed on this server")


@not_installed
def test_timescaledb_mode_without_the_extension_refuses(
    make_database: Callable[[], str],
) -> None:
    _refused(make_database(), "TimescaleDB was required", "not installed on this server")


@installed_not_preloaded
@pytest.mark.parametrize("superuser", [True, False], ids=["superuser", "app-role"])
def test_auto_when_installed_but_not_preloaded_uses_postgres_and_says_why(
    make_database: Callable[[], str],
    app_database: Callable[[bool], str],
    caplog: pytest.LogCaptureFixture,
    superuser: bool,
) -> None:
    url = make_database() if superuser else app_database(True)
    _fell_back(url, caplog, "shared_preload_libraries")


@installed_not_preloaded
@pytest.mark.parametrize("superuser", [True, False], ids=["superuser", "app-role"])
def test_timescaledb_mode_when_installed_but_not_preloaded_refuses(
    make_database: Callable[[], str], app_database: Callable[[bool], str], superuser: bool
) -> None:
    url = make_database() if superuser else app_database(True)
    _refused(url, "not preloaded", "shared_preload_libraries", "restart")


@installed_not_preloaded
def test_the_cli_names_the_cause_without_a_traceback(
    app_database: Callable[[bool], str],
) -> None:
    url = app_database(True)
    env = {**os.environ, "DAYUAN_DATABASE_URL": url, "DAYUAN_STORAGE": "timescaledb"}
    refused = subprocess.run(
        [sys.executable, "-m", "dayuan.cli", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 1
    assert "shared_preload_libraries" in refused.stderr
    assert "Traceback" not in refused.stderr
    env["DAYUAN_STORAGE"] = "auto"
    done = subprocess.run(
        [sys.executable, "-m", "dayuan.cli", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "schema up to date (postgres)" in done.stdout
    assert "shared_preload_libraries" in done.stderr


@preloaded
def test_auto_where_create_extension_is_not_permitted_uses_postgres_and_says_why(
    app_database: Callable[[bool], str], caplog: pytest.LogCaptureFixture
) -> None:
    _fell_back(app_database(False), caplog, "CREATE EXTENSION was refused")


@preloaded
def test_timescaledb_mode_where_create_extension_is_not_permitted_refuses(
    app_database: Callable[[bool], str],
) -> None:
    _refused(app_database(False), "CREATE EXTENSION was refused", "permission denied")


@preloaded
@pytest.mark.parametrize("superuser", [True, False], ids=["superuser", "database-owner"])
def test_auto_chooses_timescaledb_where_it_can_be_created(
    make_database: Callable[[], str],
    app_database: Callable[[bool], str],
    caplog: pytest.LogCaptureFixture,
    superuser: bool,
) -> None:
    url = make_database() if superuser else app_database(True)
    with caplog.at_level(logging.WARNING, logger=SCHEMA_LOGGER):
        assert _upgrade(url, "auto") is ingest.StorageMode.TIMESCALEDB
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    with psycopg.connect(url) as conn:
        hypertables = {
            str(r[0])
            for r in conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables")
        }
    assert {"telemetry", "events", "access_events"} <= hypertables
