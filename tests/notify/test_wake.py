"""An idle notifier wakes on the NOTIFY of the transaction that dispatches an SOS: with
the safety-net poll an hour apart, the SOS still reaches the responder."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

import cases
import notify
from tests.cases.conftest import sos
from tests.factories import compound
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


def test_i_cannot_wakes_a_waiting_notifier_for_the_next_round(
    conn: Conn,
    workflow: cases.Workflow,
    receiver: Receiver,
    load_contacts: Callable[..., None],
    run_notifiers: Callable[..., Running],
) -> None:
    """The round "I cannot" brings forward is sent at once: the round was due only at
    60 s and the poll an hour apart, beyond this test's deadline (WAIT_S)."""
    load_contacts({s.id: [receiver.url("json", f"/{s.id}")] for s in compound().staff})
    links = notify.Links("https://dayuan.example.org", "wake-test-link-secret-0123456789")
    running = run_notifiers(interval_s=HOUR_S, links=links)
    notifier = running.notifiers[0]
    until(lambda: notifier.metrics.idle >= 1)
    idle = notifier.metrics.idle
    case = workflow.intake_alarm(conn, sos()).case
    message = receiver.wait_for(1, "/s-care")[0].json()["message"]
    token = re.search(r"/a/(\S+)", message)
    assert token is not None, message
    until(lambda: notifier.metrics.idle > idle)  # delivered, and waiting again
    woken = notifier.metrics.woken

    notify.answer_link(
        conn, links, token.group(1), notify.CANNOT, workflow=workflow, now=datetime.now(UTC)
    )

    until(lambda: any(n.round == 1 for n in notify.notifications_for_case(conn, case.id)))
    assert notifier.metrics.woken > woken
