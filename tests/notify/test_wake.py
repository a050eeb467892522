"""An idle notifier wakes on the NOTIFY of the transaction that dispatches an SOS: with
the safety-net poll an hour apart, the SOS still reaches the responder."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

import cases
from tests.cases.conftest import sos
from tests.notify.conftest import WAIT_S, Conn, Receiver, Running

pytestmark = pytest.mark.usefixtures("schema_url")

HOUR_S = 3600.0  # the safety-net poll: far beyond any wait of this test


def until(done: Callable[[], bool]) -> None:
    give_up = time.monotonic() + WAIT_S
    while not done():
        assert time.monotonic() < give_up, "gave up waiting"
        time.sleep(0.05)


def test_an_sos_written_while_the_notifier_waits_is_delivered_at_once(
    conn: Conn,
    workflow: cases.Workflow,
    receiver: Receiver,
    load_contacts: Callable[..., None],
    run_notifiers: Callable[..., Running],
) -> None:
    load_contacts({"s-care": [receiver.url("json", "/care")]})
    running = run_notifiers(interval_s=HOUR_S)
    notifier = running.notifiers[0]
    until(lambda: notifier.metrics.idle >= 1)  # it found nothing and waits (an hour at most)

    case = workflow.intake_alarm(conn, sos()).case

    posted = receiver.wait_for(1, "/care")[0]
    assert f"案件{case.id}" in posted.json()["title"]
    assert notifier.metrics.woken >= 1
    until(lambda: notifier.metrics.sent >= 1)
