"""Planning: an outbox row (one case event) becomes one notification per recipient and
contact point, with the message it will carry, in one transaction that also marks the
row planned. Whom to reach is `recipients`, a function the notifier is given: this
default reaches the staff of the parties the case went to and the case's grid team
(an escalation: the rung's person or party). On-call rosters and quiet hours replace it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

import cases
import registry
from notify._db import Conn
from notify._model import Message, NotifyPolicy, Recipient

# The transitions the outbox trigger takes in (0013_notify.sql lists the same).
OUTBOX_TRANSITIONS = frozenset({"dispatched", "escalated"})
# Outbox rows planned per transaction: short transactions, and an SOS behind a burst
# of escalations waits for at most this many.
PLAN_BATCH = 50

Recipients = Callable[[Conn, cases.Case, cases.CaseEvent], Sequence[Recipient]]


def staff_recipients(conn: Conn, case: cases.Case, event: cases.CaseEvent) -> list[Recipient]:
    """The staff who must hear of this event, each with their contact points."""
    staff = _escalation_staff(conn, case, event) if event.transition == "escalated" else []
    if event.transition == "dispatched":
        for a in case.assignments:
            staff += registry.party_staff(conn, case.compound, a.party_id)
        staff += registry.grid_team(conn, case.compound, case.grid_id)
    unique = list(dict.fromkeys(staff))
    contacts = registry.staff_contacts(conn, case.compound, unique)
    return [Recipient(s, tuple(contacts[s])) for s in unique]


def _escalation_staff(conn: Conn, case: cases.Case, event: cases.CaseEvent) -> list[str]:
    # Who the workflow named in the escalation record (cases._workflow._notify);
    # the subdistrict rung names nobody yet.
    named = event.detail.get("notify") or {}
    if named.get("staff"):
        return [str(named["staff"])]
    return registry.party_staff(conn, case.compound, named.get("party"))


def idempotency_key(case_event_id: int, recipient: str, channel: str | None) -> str:
    """Stable for the same event, person and contact point: a receiver that sees it
    twice has the same message twice (deliveries are at least once)."""
    digest = hashlib.sha256(f"{recipient}\n{channel or ''}".encode()).hexdigest()[:24]
    return f"dayuan-{case_event_id}-{digest}"


def plan_pending(conn: Conn, *, policy: NotifyPolicy, recipients: Recipients, now: datetime) -> int:
    """Plan up to PLAN_BATCH outbox rows (the caller holds a transaction); returns the
    notifications made. Rows another notifier is planning are skipped, not waited for."""
    rows = conn.execute(
        "SELECT case_event_id, case_id FROM notify_outbox WHERE planned_at IS NULL"
        " ORDER BY case_event_id LIMIT %s FOR UPDATE SKIP LOCKED",
        (PLAN_BATCH,),
    ).fetchall()
    made = 0
    for event_id, case_id in rows:
        case = cases.get_case(conn, case_id)
        event = cases.case_events(conn, case_id=case_id, after_id=event_id - 1, limit=1)[0]
        messages = []
        if policy.notifies(event.transition.value, case.category, case.severity):
            messages = _messages(case, event, recipients(conn, case, event))
        _insert(conn, messages, now)
        conn.execute(
            "UPDATE notify_outbox SET planned_at = %s, planned = %s WHERE case_event_id = %s",
            (now, len(messages), event_id),
        )
        made += len(messages)
    return made


def _messages(
    case: cases.Case, event: cases.CaseEvent, recipients: Sequence[Recipient]
) -> list[tuple[Message, str | None]]:
    out: list[tuple[Message, str | None]] = []
    for r in recipients:
        for channel in r.contacts or (None,):  # no contact point: a failed row says so
            out.append((_message(case, event, r.id, channel), channel))
    return out


def _message(
    case: cases.Case, event: cases.CaseEvent, recipient: str, channel: str | None
) -> Message:
    key = idempotency_key(event.id, recipient, channel)
    what = "escalated" if event.transition == "escalated" else "dispatched to you"
    subject = f"[Dayuan] {case.severity.value.upper()} {case.title} - case {case.id} {what}"
    place = case.flat or case.location or "-"
    lines = [
        f"Case {case.id}: {case.title}",
        f"Category: {case.category}, severity: {case.severity.value}",
        f"Where: compound {case.compound}, {place} (grid {case.grid_id or '-'})",
        f"Opened: {case.opened_at.isoformat()}; acknowledge by {case.ack_due.isoformat()}",
        f"Event: {event.transition.value} at {event.at.isoformat()}",
        f"Idempotency-Key: {key}",
    ]
    document: dict[str, Any] = {
        "idempotency_key": key,
        "case": {
            "id": case.id,
            "compound": case.compound,
            "category": case.category,
            "severity": case.severity.value,
            "title": case.title,
            "flat": case.flat,
            "grid": case.grid_id,
            "state": case.state.value,
            "opened_at": case.opened_at.isoformat(),
            "ack_due": case.ack_due.isoformat(),
        },
        "event": {"id": event.id, "transition": event.transition.value, "at": event.at.isoformat()},
        "recipient": recipient,
    }
    return Message(key, subject, "\n".join(lines), case.id, event.id, recipient, document)


def _insert(conn: Conn, messages: Sequence[tuple[Message, str | None]], now: datetime) -> None:
    if not messages:
        return
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO notifications (case_id, case_event_id, recipient, channel,"
            " idempotency_key, subject, body, document, state, last_error, next_attempt_at,"
            " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (idempotency_key) DO NOTHING",
            [
                (
                    m.case_id,
                    m.case_event_id,
                    m.recipient,
                    channel,
                    m.idempotency_key,
                    m.subject,
                    m.body,
                    Jsonb(dict(m.document)),
                    "queued" if channel else "failed",
                    None if channel else "the recipient has no contact points",
                    now,
                    now,
                )
                for m, channel in messages
            ],
        )
