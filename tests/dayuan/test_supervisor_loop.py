"""The supervisor loop of `dayuan up` and `dayuan supervisor` shares the process's pool:
it must use a connection only while it holds it. (It once kept the connection of its
first pass for good, after handing it back: whoever took it next, a case intake or an
API request, met the supervisor's transactions on it - "cases needs a connection
outside a transaction" - and an SOS intake waited for its retry.)"""

from __future__ import annotations

import logging
import threading

import pytest
from psycopg_pool import ConnectionPool

import cases
from dayuan import wiring
from domain import SystemClock

PASSES = 20


def test_the_supervisor_never_uses_a_connection_someone_else_holds(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    workflow = cases.Workflow(clock=SystemClock(), publisher=cases.NoPublisher())
    # One connection: the supervisor and this test take turns with it.
    with (
        ConnectionPool(db_url, min_size=1, max_size=1, open=True) as db,
        caplog.at_level(logging.WARNING, logger="dayuan"),
        wiring.supervisor(db, workflow, interval_s=0.005),
    ):
        for _ in range(PASSES):
            with db.connection() as conn, conn.transaction():
                conn.execute("SELECT 1")
                threading.Event().wait(0.02)  # the supervisor's next pass falls in here
                conn.execute("SELECT 1")
    failed = [r.getMessage() for r in caplog.records if "supervisor pass failed" in r.getMessage()]
    assert failed == []
