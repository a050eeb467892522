"""SQL for notifications: claiming due rows, recording each attempt's outcome, and the
reads others make (a case's notifications, counts by state).

A claim is a short transaction: it takes due rows with FOR UPDATE SKIP LOCKED (two
notifiers never take the same row), counts the attempt, names the claimer and moves
`next_attempt_at` one lease ahead, then commits; delivery happens outside any
transaction. The outcome is written only if the row is still this claim's (same
claimer, same attempt): a notifier that overran its lease cannot overwrite the newer
claim's result. A notifier killed mid-delivery leaves the row queued, due again when
its lease ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from notify._db import Conn
from notify._model import DeliveryState, Message, Notification, public_channel


@dataclass(frozen=True, slots=True)
class Claim:
    """A row claimed for one attempt."""

    id: int
    channel: str
    attempt: int
    message: Message
    created_at: datetime  # the link's expiry counts from it


def claim_due(
    conn: Conn, *, claimer: str, now: datetime, lease: timedelta, limit: int
) -> list[Claim]:
    rows = conn.execute(
        "UPDATE notifications n SET attempts = n.attempts + 1, claimed_by = %s,"
        " next_attempt_at = %s FROM (SELECT id FROM notifications WHERE state = 'queued'"
        " AND next_attempt_at <= %s ORDER BY next_attempt_at, id LIMIT %s"
        " FOR UPDATE SKIP LOCKED) due WHERE n.id = due.id"
        " RETURNING n.id, n.channel, n.attempts, n.idempotency_key, n.subject, n.body,"
        " n.case_id, n.case_event_id, n.recipient, n.document, n.created_at",
        (claimer, now + lease, now, limit),
    ).fetchall()
    return [
        Claim(
            int(r[0]),
            str(r[1]),
            int(r[2]),
            Message(r[3], r[4], r[5], r[6], r[7], r[8], r[9]),
            r[10],
        )
        for r in sorted(rows, key=lambda r: int(r[0]))
    ]


def _finish(conn: Conn, claim: Claim, claimer: str, changes: str, params: Sequence[Any]) -> bool:
    row = conn.execute(
        f"UPDATE notifications SET {changes} WHERE id = %s AND claimed_by = %s"
        " AND attempts = %s AND state = 'queued' RETURNING id",
        [*params, claim.id, claimer, claim.attempt],
    ).fetchone()
    return row is not None


def mark_sent(conn: Conn, claim: Claim, claimer: str, now: datetime) -> bool:
    # last_error stays: a row sent on its third attempt still says why the second failed
    return _finish(conn, claim, claimer, "state = 'sent', sent_at = %s", [now])


def mark_retry(conn: Conn, claim: Claim, claimer: str, at: datetime, error: str) -> bool:
    return _finish(conn, claim, claimer, "next_attempt_at = %s, last_error = %s", [at, error])


def mark_failed(conn: Conn, claim: Claim, claimer: str, error: str) -> bool:
    return _finish(conn, claim, claimer, "state = 'failed', last_error = %s", [error])


def defer(conn: Conn, claim: Claim, claimer: str, at: datetime) -> bool:
    """Put a claimed row back untried (its channel's rate limit): the attempt is not
    counted."""
    return _finish(conn, claim, claimer, "attempts = attempts - 1, next_attempt_at = %s", [at])


_COLUMNS = (
    "id, case_id, case_event_id, recipient, channel, state, attempts, next_attempt_at,"
    " last_error, created_at, sent_at, acknowledged_at, round, answer, answered_at"
)


def for_case(conn: Conn, case_id: int) -> list[Notification]:
    """A case's notifications, oldest first, channels shown as scheme and host."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM notifications WHERE case_id = %s ORDER BY id", (case_id,)
    ).fetchall()
    return [
        Notification(
            id=r[0],
            case_id=r[1],
            case_event_id=r[2],
            recipient=r[3],
            channel=public_channel(r[4]),
            state=DeliveryState(r[5]),
            attempts=r[6],
            next_attempt_at=r[7],
            last_error=r[8],
            created_at=r[9],
            sent_at=r[10],
            acknowledged_at=r[11],
            round=r[12],
            answer=r[13],
            answered_at=r[14],
        )
        for r in rows
    ]


def next_due(conn: Conn) -> datetime | None:
    """When the earliest timed work is due: a queued row's next attempt (a retry, a
    deferral, a lease ending) or a repeat round; None: nothing waits."""
    row = conn.execute(
        "SELECT least((SELECT min(next_attempt_at) FROM notifications WHERE state = 'queued'),"
        " (SELECT min(next_at) FROM notify_repeats WHERE next_at IS NOT NULL))"
    ).fetchone()
    return row[0] if row else None


def counts_by_state(conn: Conn) -> dict[DeliveryState, int]:
    """Notifications by state, every state listed (zero included)."""
    found: dict[str, int] = dict(
        conn.execute("SELECT state, count(*) FROM notifications GROUP BY state").fetchall()
    )
    return {s: int(found.get(s.value, 0)) for s in DeliveryState}


def unplanned(conn: Conn) -> int:
    """Outbox rows (case events) the notifiers have not planned yet."""
    row = conn.execute("SELECT count(*) FROM notify_outbox WHERE planned_at IS NULL").fetchone()
    return int(row[0]) if row else 0
