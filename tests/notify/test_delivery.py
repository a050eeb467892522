"""An SOS dispatched reaches the care responder by email (a real SMTP server), the grid
worker by Apprise's json:// and the grid lead by the signed webhook (a real HTTP
server checks the signature); the states are on the case's notifications."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import timedelta
from email.header import decode_header, make_header
from email.message import Message as EmailMessage

import pytest

import cases
import notify
from domain import Language
from tests.cases.conftest import report, sos
from tests.notify.conftest import SECRET, WAIT_S, Conn, Mailbox, Receiver, mail_url

pytestmark = pytest.mark.usefixtures("schema_url")


def text_of(mail: EmailMessage) -> str:
    parts = mail.walk() if mail.is_multipart() else [mail]
    return "".join(
        str(p.get_payload(decode=True).decode())  # type: ignore[union-attr]
        for p in parts
        if p.get_content_type() == "text/plain"
    )


def subject_of(mail: EmailMessage) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def wait_until(
    conn: Conn, case_id: int, done: Callable[[list[notify.Notification]], bool]
) -> list[notify.Notification]:
    give_up = time.monotonic() + WAIT_S
    while time.monotonic() < give_up:
        found = notify.notifications_for_case(conn, case_id)
        if found and done(found):
            return found
        time.sleep(0.05)
    raise AssertionError(notify.notifications_for_case(conn, case_id))


def settled(found: list[notify.Notification]) -> bool:
    return all(n.state is not notify.DeliveryState.QUEUED for n in found)


def test_an_sos_reaches_email_json_and_the_signed_webhook(
    conn: Conn,
    workflow: cases.Workflow,
    mailbox: Mailbox,
    receiver: Receiver,
    load_contacts: Callable[..., None],
    run_notifiers: Callable[..., object],
) -> None:
    load_contacts(
        {
            "s-care": [mail_url(mailbox.port, "care@example.org")],
            "s-worker2": [receiver.url("json", "/json")],
            "s-cadre2": [receiver.url("hmac+http", "/signed") + "?secret=" + SECRET],
        },
        {"s-worker2": Language.EN},
    )
    case = workflow.intake_alarm(conn, sos()).case
    run_notifiers()

    dispatched = next(
        e for e in cases.case_events(conn, case_id=case.id) if e.transition == "dispatched"
    )
    mail = mailbox.wait_for(1)[0]
    assert mail["To"] == "care@example.org"
    key = mail["X-Dayuan-Idempotency-Key"]
    assert key.startswith(f"dayuan-{dispatched.id}-")
    assert f"紧急 SOS求助 {case.flat} 案件{case.id} 已派给您" in subject_of(mail)  # Chinese
    assert f"Idempotency-Key: {key}" in text_of(mail)

    posted = receiver.wait_for(1, "/json")[0]
    assert posted.headers["X-Dayuan-Idempotency-Key"].startswith("dayuan-")
    assert posted.json()["title"].startswith("[Dayuan] CRITICAL SOS button pressed")  # English

    signed = receiver.wait_for(1, "/signed")[0]
    assert "secret" not in signed.path  # the key never travels
    timestamp = signed.headers["X-Dayuan-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + signed.body, hashlib.sha256)
    assert signed.headers["X-Dayuan-Signature"] == "sha256=" + expected.hexdigest()
    document = signed.json()
    assert document["case"]["id"] == case.id
    assert document["idempotency_key"] == signed.headers["Idempotency-Key"]

    found = wait_until(conn, case.id, lambda f: all(n.state.value == "sent" for n in f))
    assert {n.recipient: n.channel for n in found} == {
        "s-care": "mailto://127.0.0.1",
        "s-worker2": "json://127.0.0.1",
        "s-cadre2": "hmac+http://127.0.0.1",
    }
    assert {n.case_event_id for n in found} == {dispatched.id}


def test_a_repair_report_notifies_nobody_and_a_contactless_recipient_is_a_failure(
    conn: Conn,
    workflow: cases.Workflow,
    load_contacts: Callable[[dict[str, list[str]]], None],
    run_notifiers: Callable[..., object],
) -> None:
    load_contacts({})  # nobody has a contact point
    repair = workflow.intake_report(conn, report()).case
    elder = workflow.intake_alarm(conn, sos()).case
    run_notifiers()
    found = wait_until(conn, elder.id, settled)
    assert {(n.recipient, n.state.value, n.last_error) for n in found} == {
        (s, "failed", "the recipient has no contact points")
        for s in ("s-care", "s-cadre2", "s-worker2")
    }
    assert notify.notifications_for_case(conn, repair.id) == []
    assert notify.unplanned(conn) == 0


def test_a_failing_channel_is_retried_with_backoff_and_a_bad_url_fails_with_its_reason(
    conn: Conn,
    workflow: cases.Workflow,
    receiver: Receiver,
    load_contacts: Callable[[dict[str, list[str]]], None],
    run_notifiers: Callable[..., object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("notify._notifier.BACKOFF_BASE", timedelta(milliseconds=100))
    refusals = iter([503, 503])
    receiver.answer = lambda post: next(refusals, 200)
    load_contacts(
        {
            "s-care": [receiver.url("json", "/flaky")],
            "s-worker2": ["nonsense://nowhere"],
            "s-cadre2": [receiver.url("hmac+http", "/signed")],  # no secret anywhere
        }
    )
    case = workflow.intake_alarm(conn, sos()).case
    run_notifiers(deliver=notify.Channels(webhook_secret=None))
    found = {n.recipient: n for n in wait_until(conn, case.id, settled)}
    assert (found["s-care"].state.value, found["s-care"].attempts) == ("sent", 3)
    assert "attempt 2" in (found["s-care"].last_error or "")
    assert found["s-worker2"].state.value == "failed"
    assert "Apprise does not understand" in (found["s-worker2"].last_error or "")
    assert found["s-worker2"].attempts == 1
    assert "no secret" in (found["s-cadre2"].last_error or "")
    # one delivery per attempt, each with the same key
    keys = {p.headers["X-Dayuan-Idempotency-Key"] for p in receiver.posts}
    assert len(receiver.posts) == 3
    assert len(keys) == 1


def test_an_escalation_reaches_the_grid_lead(
    conn: Conn,
    workflow: cases.Workflow,
    receiver: Receiver,
    load_contacts: Callable[[dict[str, list[str]]], None],
    run_notifiers: Callable[..., object],
) -> None:
    load_contacts({"s-cadre2": [receiver.url("json", "/lead")]})
    case = workflow.intake_alarm(conn, sos()).case
    later = case.ack_due + timedelta(seconds=1)
    escalation = workflow.escalate_if_due(conn, case.id, later)[0]
    run_notifiers()
    receiver.wait_for(2, "/lead")  # the dispatch (cadre is in the grid team) and the escalation
    found = wait_until(conn, case.id, settled)
    lead = [n for n in found if n.recipient == "s-cadre2"]
    assert {n.case_event_id for n in lead} >= {escalation.id}
    assert all(n.state.value == "sent" for n in lead)


def test_the_outbox_row_commits_with_the_case_event_or_not_at_all(
    conn: Conn, workflow: cases.Workflow, load_contacts: Callable[[dict[str, list[str]]], None]
) -> None:
    load_contacts({})
    case = workflow.intake_alarm(conn, sos()).case
    outbox = "SELECT transition FROM notify_outbox WHERE case_id = %s ORDER BY case_event_id"
    assert conn.execute(outbox, (case.id,)).fetchall() == [("dispatched",)]

    conn.autocommit = False
    conn.execute(
        "INSERT INTO case_events (case_id, version, compound_id, at, actor, transition,"
        " to_state) VALUES (%s, 99, %s, now(), 'test', 'escalated', 'dispatched')",
        (case.id, case.compound),
    )
    inside = conn.execute(outbox, (case.id,)).fetchall()
    assert inside == [("dispatched",), ("escalated",)]
    conn.rollback()
    assert conn.execute(outbox, (case.id,)).fetchall() == [("dispatched",)]
