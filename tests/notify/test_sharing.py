"""Several notifiers share the rows and a killed one loses none: two running together
deliver every notification exactly once; one killed with SIGKILL mid-delivery leaves
its claimed row to come back when its lease ends, and a restart delivers it (again,
with the same idempotency key: at least once)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import cases
import notify
from tests.cases.conftest import sos
from tests.notify.conftest import WAIT_S, Conn, Post, Receiver

# Short for the test (the default is a minute), long enough that the doomed notifier
# cannot reclaim its own hung row before it is killed.
KILLED_LEASE = timedelta(seconds=3)


def care(conn: Conn, case_id: int) -> notify.Notification:
    (row,) = [n for n in notify.notifications_for_case(conn, case_id) if n.recipient == "s-care"]
    return row


def all_sent(conn: Conn, expected: int) -> None:
    give_up = time.monotonic() + WAIT_S
    while time.monotonic() < give_up:
        counts = notify.counts_by_state(conn)
        if counts[notify.DeliveryState.SENT] == expected:
            return
        time.sleep(0.05)
    raise AssertionError(notify.counts_by_state(conn))


def test_two_notifiers_never_deliver_the_same_row_twice(
    conn: Conn,
    workflow: cases.Workflow,
    receiver: Receiver,
    load_contacts: Callable[[dict[str, list[str]]], None],
    run_notifiers: Callable[..., object],
) -> None:
    url = receiver.url("json", "/many")
    load_contacts({"s-care": [url], "s-worker2": [url], "s-cadre2": [url + "?x=2"]})
    for i in range(12):
        workflow.intake_alarm(conn, sos(fingerprint=f"sos:device-{i}"))
    run_notifiers(2)
    all_sent(conn, 36)
    keys = Counter(p.headers["X-Dayuan-Idempotency-Key"] for p in receiver.wait_for(36))
    assert len(keys) == 36
    assert set(keys.values()) == {1}


_KILLABLE = """
import sys, threading
from datetime import timedelta
from psycopg_pool import ConnectionPool
import ingest, notify
from domain import SystemClock
pool = ConnectionPool(sys.argv[1], min_size=1, max_size=4, configure=ingest.prepare_connection)
worker = notify.Notifier(pool, clock=SystemClock(), deliver=notify.Channels(), name="doomed",
                         lease=timedelta(seconds=float(sys.argv[2])))
print("running", flush=True)
worker.run(threading.Event(), interval_s=0.05)
"""


def test_a_notifier_killed_mid_delivery_loses_nothing(
    conn: Conn,
    schema_url: str,
    workflow: cases.Workflow,
    receiver: Receiver,
    load_contacts: Callable[[dict[str, list[str]]], None],
    run_notifiers: Callable[..., object],
) -> None:
    release = threading.Event()

    def answer(post: Post) -> int:
        if post.path.startswith("/hang"):
            release.wait(WAIT_S)  # the first delivery hangs until the notifier is dead
        return 200

    receiver.answer = answer
    load_contacts({"s-care": [receiver.url("json", "/hang")]})
    case = workflow.intake_alarm(conn, sos()).case
    doomed = subprocess.Popen(
        [sys.executable, "-c", _KILLABLE, schema_url, str(KILLED_LEASE.total_seconds())],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert doomed.stdout is not None
        assert doomed.stdout.readline().strip() == "running"
        first = receiver.wait_for(1, "/hang")[0]
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(WAIT_S)
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait()
        if doomed.stdout is not None:
            doomed.stdout.close()
    release.set()
    row = care(conn, case.id)
    assert row.state is notify.DeliveryState.QUEUED  # claimed, never recorded: not lost
    assert row.attempts == 1

    run_notifiers(lease=KILLED_LEASE)
    give_up = time.monotonic() + WAIT_S
    while care(conn, case.id).state.value != "sent":
        assert time.monotonic() < give_up, care(conn, case.id)
        time.sleep(0.05)
    again = receiver.wait_for(2, "/hang")
    key = first.headers["X-Dayuan-Idempotency-Key"]
    assert {p.headers["X-Dayuan-Idempotency-Key"] for p in again} == {key}
    row = care(conn, case.id)
    assert (row.state.value, row.attempts) == ("sent", 2)
