"""The live feed: alarm changes and case transitions, resumable with `Last-Event-ID`.

Two durable sources, each with ids handed out in commit order (an advisory lock held
to the end of each writing transaction), make the stream:
- alarm changes in the rules' `alarm_feed` (a trigger on `alarms` appends one row per
  change in the same transaction), read through `rules.alarm_feed`;
- case transitions in `case_events` (the cases package's history).

The cursor is both positions, `<alarm feed id>.<case event id>`, sent as the `id:` of
every event. A client that reconnects with it gets exactly what it has not
seen; a filtered-out row advances the cursor but is not sent.

Rows are read for every user at once (`read`: the app's poller in api/_hub.py, and a
resuming stream's catch-up) and filtered per user in process (`select`). Each row is
serialized twice where it matters: as it is, and redacted for the roles without health
access (an elderly-care alarm keeps where and how urgent, never the readings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import orjson

import cases
import rules
from api import _health
from api._access import User
from api._cases import NO_SCOPE, redact_event, sees_case_scope
from api._db import Conn

# How often the app's one feed poller looks for news: an alarm reaches the monitoring
# room within this (plus the rule engine's own latency).
POLL_S = 0.5
# A comment line this often keeps proxies from closing an idle stream.
KEEPALIVE_S = 15.0
# Rows read per source per query: the poller and a reconnecting client read in steps of this.
BATCH = 500
RETRY_MS = 3000  # what EventSource waits before reconnecting
_CURSOR = re.compile(r"^(\d{1,18})\.(\d{1,18})$")


class BadCursor(ValueError):
    """A Last-Event-ID this feed did not issue."""


@dataclass(frozen=True, slots=True)
class Cursor:
    alarm: int
    case_event: int

    def __str__(self) -> str:
        return f"{self.alarm}.{self.case_event}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        match = _CURSOR.match(text.strip())
        if match is None:
            raise BadCursor(f"Last-Event-ID {text[:80]!r} is not a cursor of this feed (a.b)")
        return cls(int(match[1]), int(match[2]))


def head(conn: Conn) -> Cursor:
    """Where a new client starts: everything already committed counts as seen."""
    return Cursor(rules.feed_head(conn), cases.event_head(conn))


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of either source, serialized once, with what decides who sees it."""

    source: Literal["alarm", "case"]
    id: int  # the row's position in its source
    data: bytes
    redacted: bytes | None = None  # for roles without health access, when it differs
    alarm: rules.FeedRow | None = None  # alarm changes: judged by the device's place
    case: cases.CaseScope = NO_SCOPE  # case transitions: judged by the case's grid and parties


def advance(cursor: Cursor, entry: Entry) -> Cursor:
    if entry.source == "alarm":
        return Cursor(entry.id, cursor.case_event)
    return Cursor(cursor.alarm, entry.id)


def covers(cursor: Cursor, entry: Entry) -> bool:
    """Whether a client at `cursor` has already had `entry` (sent or filtered out)."""
    return entry.id <= (cursor.alarm if entry.source == "alarm" else cursor.case_event)


def behind(cursor: Cursor, other: Cursor) -> bool:
    return cursor.alarm < other.alarm or cursor.case_event < other.case_event


def _alarm_visible(user: User, r: rules.FeedRow) -> bool:
    if not user.sees_compound(r.compound):
        return False
    if user.grid_bound:
        address = r.flat or r.address
        return user.sees_building(r.compound, address) if address else False
    if user.elderly_only:
        return r.flat is not None or r.kind == "elder"
    return True


def visible(user: User, entry: Entry) -> bool:
    if entry.alarm is not None:
        return _alarm_visible(user, entry.alarm)
    return sees_case_scope(user, entry.case)


def _alarm_entry(r: rules.FeedRow) -> Entry:
    document: dict[str, object] = {
        "change": r.change,
        "alarm_id": r.alarm_id,
        "severity": r.severity,
        "rule_id": r.rule_id,
        "title": r.title,
        "compound": r.compound,
        "device_id": r.device_id,
        "flat": r.flat,
        "count": r.count,
        "at": r.at.isoformat(),
    }
    redacted = None
    if r.flat is not None or r.kind == _health.ELDER:
        hidden = dict(document)
        _health.redact_alarm(hidden)
        del hidden["values"]  # the feed never carries any
        redacted = orjson.dumps(hidden)
    return Entry("alarm", r.id, orjson.dumps(document), redacted, alarm=r)


def _case_entry(e: cases.CaseEvent, scope: cases.CaseScope) -> Entry:
    document = cases.event_document(e)
    redacted = None
    if scope.health:
        hidden = dict(document)
        hidden["actor"], hidden["detail"] = redact_event(e.actor, dict(e.detail))
        redacted = orjson.dumps(hidden)
    return Entry("case", e.id, orjson.dumps(document), redacted, case=scope)


def read(conn: Conn, cursor: Cursor) -> tuple[tuple[Entry, ...], Cursor, bool]:
    """Every row after `cursor`, for any user (alarm changes first, then case
    transitions), the cursor past them, and whether a source had more than one batch."""
    alarms = rules.alarm_feed(conn, after_id=cursor.alarm, limit=BATCH)
    events = cases.case_events(conn, after_id=cursor.case_event, limit=BATCH)
    scopes = cases.case_scopes(conn, sorted({e.case_id for e in events}))
    entries = [_alarm_entry(r) for r in alarms] + [
        _case_entry(e, scopes.get(e.case_id, NO_SCOPE)) for e in events
    ]
    for entry in entries:
        cursor = advance(cursor, entry)
    return tuple(entries), cursor, len(alarms) == BATCH or len(events) == BATCH


def poll(conn: Conn, user: User, cursor: Cursor) -> tuple[list[tuple[str, str, bytes]], Cursor]:
    """New events the user may see after `cursor`: (id, event name, data) and the new cursor."""
    entries, _, _ = read(conn, cursor)
    return select(user, cursor, entries)


def select(
    user: User, cursor: Cursor, entries: tuple[Entry, ...]
) -> tuple[list[tuple[str, str, bytes]], Cursor]:
    """Of `entries`, those the user has not had and may see, each with the cursor it
    leaves the client at; the cursor past all of them (filtered-out rows count as seen)."""
    out: list[tuple[str, str, bytes]] = []
    for entry in entries:
        if covers(cursor, entry):
            continue
        cursor = advance(cursor, entry)
        if visible(user, entry):
            hidden = entry.redacted is not None and not user.reads_health
            data = entry.redacted if hidden and entry.redacted is not None else entry.data
            out.append((str(cursor), entry.source, data))
    return out, cursor


def frame(event_id: str, name: str, data: bytes) -> bytes:
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (event_id.encode(), name.encode(), data)
