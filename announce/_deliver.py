"""Sending announcements to the targeted households' emergency contacts when their
window opens, through notify's channels (`notify.Deliver`).

Two steps, each safe to run from several processes at once (rows are claimed with
SKIP LOCKED): `plan` writes one queued delivery per targeted household and contact
position for every announcement whose window has opened; `send` takes queued ones,
reads the contact URL from the registry at that moment (a household that withdrew
consent has none left and is not written to) and delivers it with an idempotency key,
retrying a transient failure on the next round up to MAX_ATTEMPTS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import notify
import registry
from announce._db import Conn, transaction
from announce._model import Announcement
from announce._store import audience, get
from domain import Language

# Deliveries taken per round: a round holds its rows' locks while it sends, and ten
# seconds per channel at worst (notify's timeout) times this stays under a minute.
BATCH = 5
# A contact that failed this many rounds in a row is given up on (marked failed, shown
# to staff as such): an announcement is read on the page too, it is not an alarm.
MAX_ATTEMPTS = 5
# How often the API's background loop plans and sends: a notice "when it opens" means
# within a minute, not to the second.
POLL_S = 30.0

_WINDOW = {
    Language.ZH: "有效期 {start} 至 {end}",
    Language.EN: "From {start} to {end}",
}


@dataclass(frozen=True, slots=True)
class Round:
    planned: int  # delivery rows written
    sent: int
    failed: int  # given up for good this round
    retrying: int


def plan(conn: Conn, now: datetime) -> int:
    """Queue the deliveries of every announcement whose window has opened; one whose
    window closed before it was planned is marked planned with none."""
    written = 0
    with transaction(conn):
        due = conn.execute(
            "SELECT id, compound_id, ends_at > %s AND withdrawn_at IS NULL FROM announcements"
            " WHERE planned_at IS NULL AND starts_at <= %s FOR UPDATE SKIP LOCKED",
            (now, now),
        ).fetchall()
        for announcement_id, compound, live in due:
            if live:
                written += _queue(conn, get(conn, str(compound), int(announcement_id)), now)
            conn.execute(
                "UPDATE announcements SET planned_at = %s WHERE id = %s", (now, announcement_id)
            )
    return written


def _queue(conn: Conn, announcement: Announcement, now: datetime) -> int:
    rows = [
        (announcement.id, flat, position, now)
        for flat in audience(conn, announcement)
        for position, _ in enumerate(registry.emergency_contacts(conn, announcement.compound, flat))
    ]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO announcement_deliveries (announcement_id, flat, position, updated_at)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            rows,
        )
    return len(rows)


def send(conn: Conn, deliver: notify.Deliver, now: datetime) -> Round:
    """One round: up to BATCH queued deliveries of current announcements, each sent once."""
    sent = failed = retrying = 0
    with transaction(conn):
        rows = conn.execute(
            "SELECT d.announcement_id, a.compound_id, d.flat, d.position, d.attempts"
            " FROM announcement_deliveries d JOIN announcements a ON a.id = d.announcement_id"
            " WHERE d.state = 'queued' AND a.withdrawn_at IS NULL AND a.ends_at > %s"
            # Tried in this round already (a transient failure): its turn is the next run.
            " AND (d.attempts = 0 OR d.updated_at < %s)"
            " ORDER BY d.announcement_id, d.flat, d.position LIMIT %s"
            " FOR UPDATE OF d SKIP LOCKED",
            (now, now, BATCH),
        ).fetchall()
        for announcement_id, compound, flat, position, attempts in rows:
            announcement = get(conn, str(compound), int(announcement_id))
            state, error = _one(conn, deliver, announcement, str(flat), int(position))
            if state == "queued" and attempts + 1 >= MAX_ATTEMPTS:
                state = "failed"
            sent += state == "sent"
            failed += state == "failed"
            retrying += state == "queued"
            conn.execute(
                "UPDATE announcement_deliveries SET state = %s, error = %s,"
                " attempts = attempts + 1, updated_at = %s"
                " WHERE announcement_id = %s AND flat = %s AND position = %s",
                (state, error, now, announcement_id, flat, position),
            )
    return Round(0, sent, failed, retrying)


def run_once(conn: Conn, deliver: notify.Deliver, now: datetime) -> Round:
    """Plan, then send rounds until nothing is left that can go now."""
    planned = plan(conn, now)
    total = Round(planned, 0, 0, 0)
    while True:
        r = send(conn, deliver, now)
        total = Round(
            planned, total.sent + r.sent, total.failed + r.failed, total.retrying + r.retrying
        )
        if r.sent + r.failed + r.retrying < BATCH:
            return total


def _one(
    conn: Conn, deliver: notify.Deliver, a: Announcement, flat: str, position: int
) -> tuple[str, str | None]:
    contacts = registry.emergency_contacts(conn, a.compound, flat)
    if position >= len(contacts):
        return "failed", "the household no longer has this contact"
    _, url, language = contacts[position]
    window = _WINDOW.get(language, _WINDOW[Language.ZH]).format(
        start=a.starts_at.isoformat(timespec="minutes"), end=a.ends_at.isoformat(timespec="minutes")
    )
    message = notify.Message(
        idempotency_key=f"announcement-{a.id}-{a.compound}-{flat}-{position}",
        subject=a.title,
        body=f"{a.body}\n\n{window}",
        case_id=0,  # notify's Message is a case's; an announcement belongs to no case
        case_event_id=0,
        recipient=f"household:{a.compound}/{flat}",
        document={
            "kind": "announcement",
            "announcement_id": a.id,
            "compound": a.compound,
            "flat": flat,
            "starts_at": a.starts_at.isoformat(),
            "ends_at": a.ends_at.isoformat(),
        },
    )
    try:
        deliver(url, message)
    except notify.DeliveryFailed as exc:
        return ("failed" if exc.permanent else "queued"), exc.reason[:500]
    return "sent", None
