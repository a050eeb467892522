"""Repeat until acknowledged, then climb: a case whose SOS or fall dispatch nobody has
acknowledged within the policy's `ack_repeat_s` is sent again to everyone reached so
far (but those who answered "I cannot") and to the next person on the call list; each
round the next. Any acknowledgement of the case, from the dashboard, the API or a
link, ends the repeats at the next due round (the case is read before anything is
sent), as does leaving the states that await one.

A round is one transaction: the due `notify_repeats` row is taken with FOR UPDATE SKIP
LOCKED (two notifiers never run the same round), its notifications are inserted as
queued rows for the ordinary delivery, and the row moves one interval ahead.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import cases
from notify._db import Conn
from notify._model import NotifyPolicy
from notify._plan import CallList, compound_zone, insert, messages_for, recipients_of

# Repeat rows run per transaction: each round is a few inserts.
REPEAT_BATCH = 20
_AWAITING = frozenset({cases.State.DISPATCHED, cases.State.REOPENED})


def run_due(conn: Conn, *, policy: NotifyPolicy, call_list: CallList, now: datetime) -> int:
    """Run the rounds due by `now` (the caller holds a transaction); returns the
    notifications made."""
    rows = conn.execute(
        "SELECT case_id, case_event_id, round, reached, declined FROM notify_repeats"
        " WHERE next_at <= %s ORDER BY next_at LIMIT %s FOR UPDATE SKIP LOCKED",
        (now, REPEAT_BATCH),
    ).fetchall()
    made = 0
    for case_id, event_id, round_, reached, declined in rows:
        case = cases.get_case(conn, case_id)
        why = _finished(case, round_, policy)
        if why is None:
            n, targets = _round(conn, case, event_id, round_ + 1, reached, declined, call_list, now)
            made += n
            why = None if targets else "nobody left to call"
        if why is not None:
            conn.execute(
                "UPDATE notify_repeats SET next_at = NULL, finished_at = %s, finished_why = %s"
                " WHERE case_id = %s",
                (now, why, case_id),
            )
            continue
        conn.execute(
            "UPDATE notify_repeats SET next_at = %s WHERE case_id = %s",
            (now + timedelta(seconds=policy.ack_repeat_s), case_id),
        )
    return made


def _finished(case: cases.Case, round_: int, policy: NotifyPolicy) -> str | None:
    if case.acknowledged_at is not None:
        return "acknowledged"
    if case.state not in _AWAITING:
        return f"the case is {case.state.value}"
    if round_ >= policy.max_rounds:
        return f"{round_} rounds sent"
    return None


def _round(
    conn: Conn,
    case: cases.Case,
    event_id: int,
    round_: int,
    reached: list[str],
    declined: list[str],
    call_list: CallList,
    now: datetime,
) -> tuple[int, int]:
    """Send round `round_` and record it: the notifications made, the people reached."""
    fresh = [s for s in call_list(conn, case, now) if s not in reached and s not in declined]
    reached = reached + fresh[:1]
    targets = [s for s in reached if s not in declined]
    event = cases.case_events(conn, case_id=case.id, after_id=event_id - 1, limit=1)[0]
    recipients = recipients_of(conn, case.compound, targets)
    zone = compound_zone(conn, case.compound)
    messages = messages_for(case, event, recipients, zone=zone, round=round_, told=reached)
    insert(conn, messages, now, round=round_)
    conn.execute(
        "UPDATE notify_repeats SET round = %s, reached = %s WHERE case_id = %s",
        (round_, reached, case.id),
    )
    return len(messages), len(targets)


def decline(conn: Conn, case_id: int, staff_id: str, now: datetime) -> None:
    """`staff_id` cannot go: they are not called again, and the next round (the next
    person) is due at once."""
    conn.execute(
        "UPDATE notify_repeats SET declined = array_append(declined, %s), next_at = %s"
        " WHERE case_id = %s AND next_at IS NOT NULL AND NOT %s = ANY(declined)",
        (staff_id, now, case_id, staff_id),
    )
