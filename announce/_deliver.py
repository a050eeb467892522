"""Sending announcements to the targeted households' emergency contacts and confirmed
residents when their window opens, through notify's channels (`notify.Deliver`) and
the residents' own channel (`ResidentChannel`, when the process has one).

Two steps, each safe to run from several processes at once (rows are claimed with
SKIP LOCKED): `plan` writes one queued delivery per targeted household and contact
position for every announcement whose window has opened, and one per confirmed
resident whose number is not already an emergency contact of the household; `send`
takes queued ones, reads the contact URL from the registry (or the resident from the
channel) at that moment (a household that withdrew consent has none left, a resident
no longer confirmed is not written to) and delivers it with an idempotency key,
retrying a transient failure on the next round up to MAX_ATTEMPTS. A resident's
delivery is stored at position -(their account id): emergency contacts take the
positions from 0, so the table needs no other key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import notify
import registry
from announce._channel import ResidentChannel, ResidentContact, same_number
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


def plan(conn: Conn, now: datetime, *, residents: ResidentChannel | None = None) -> int:
    """Queue the deliveries of every announcement whose window has opened; one whose
    window closed before it was planned is marked planned with none. Without a
    `residents` channel only emergency contacts are written to."""
    written = 0
    with transaction(conn):
        due = conn.execute(
            "SELECT id, compound_id, ends_at > %s AND withdrawn_at IS NULL FROM announcements"
            " WHERE planned_at IS NULL AND starts_at <= %s FOR UPDATE SKIP LOCKED",
            (now, now),
        ).fetchall()
        for announcement_id, compound, live in due:
            if live:
                announcement = get(conn, str(compound), int(announcement_id))
                written += _queue(conn, announcement, now, residents)
            conn.execute(
                "UPDATE announcements SET planned_at = %s WHERE id = %s", (now, announcement_id)
            )
    return written


def _queue(
    conn: Conn, announcement: Announcement, now: datetime, residents: ResidentChannel | None
) -> int:
    rows = []
    for flat in audience(conn, announcement):
        contacts = registry.emergency_contacts(conn, announcement.compound, flat)
        rows += [(announcement.id, flat, position, now) for position in range(len(contacts))]
        for resident in _residents(conn, residents, announcement.compound, flat):
            if not same_number(resident.phone, (url for _, url, _ in contacts)):
                rows.append((announcement.id, flat, -resident.resident, now))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO announcement_deliveries (announcement_id, flat, position, updated_at)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            rows,
        )
    return len(rows)


def _residents(
    conn: Conn, channel: ResidentChannel | None, compound: str, flat: str
) -> Sequence[ResidentContact]:
    return () if channel is None else channel.residents(conn, compound, flat)


def send(
    conn: Conn, deliver: notify.Deliver, now: datetime, *, residents: ResidentChannel | None = None
) -> Round:
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
            if position < 0:
                state, error = _to_resident(conn, residents, announcement, str(flat), -position)
            else:
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


def run_once(
    conn: Conn, deliver: notify.Deliver, now: datetime, *, residents: ResidentChannel | None = None
) -> Round:
    """Plan, then send rounds until nothing is left that can go now."""
    planned = plan(conn, now, residents=residents)
    total = Round(planned, 0, 0, 0)
    while True:
        r = send(conn, deliver, now, residents=residents)
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
    message = notify.Message(
        idempotency_key=f"announcement-{a.id}-{a.compound}-{flat}-{position}",
        subject=a.title,
        body=_text(a, language),
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


def _to_resident(
    conn: Conn, channel: ResidentChannel | None, a: Announcement, flat: str, resident: int
) -> tuple[str, str | None]:
    if channel is None:
        return "failed", "no residents' channel is configured to send it"
    found = [r for r in channel.residents(conn, a.compound, flat) if r.resident == resident]
    if not found:
        return "failed", "no longer a confirmed resident of the household"
    key = f"announcement-{a.id}-{a.compound}-resident-{resident}"
    try:
        channel.send(found[0], a.title, _text(a, found[0].language), key=key)
    except notify.DeliveryFailed as exc:
        return ("failed" if exc.permanent else "queued"), exc.reason[:500]
    return "sent", None


def _text(a: Announcement, language: Language) -> str:
    window = _WINDOW.get(language, _WINDOW[Language.ZH]).format(
        start=a.starts_at.isoformat(timespec="minutes"), end=a.ends_at.isoformat(timespec="minutes")
    )
    return f"{a.body}\n\n{window}"
