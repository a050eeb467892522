"""The live feed: alarm changes and case transitions, resumable with `Last-Event-ID`.

Two durable sources, each with ids handed out in commit order (an advisory lock held
to the end of each writing transaction), make the stream:
- alarm changes in the rules' `alarm_feed` (a trigger on `alarms` appends one row per
  change in the same transaction), read through `rules.alarm_feed`;
- case transitions in `case_events` (the cases package's history).

The cursor is both positions, `<alarm feed id>.<case event id>`, sent as the `id:` of
every event. A client that reconnects with it gets exactly what it has not
seen; a filtered-out row advances the cursor but is not sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

import cases
import rules
from api import _health
from api._access import User
from api._cases import elderly_alarm_cases, redact_event, visible_case_ids
from api._cases import head as case_head
from api._db import Conn

# How often a connected client's feed looks for news: an alarm reaches the monitoring
# room within this (plus the rule engine's own latency).
POLL_S = 0.5
# A comment line this often keeps proxies from closing an idle stream.
KEEPALIVE_S = 15.0
# Rows read per source per poll: a reconnecting client catches up in steps of this.
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
    return Cursor(rules.feed_head(conn), case_head(conn))


def _alarm_visible(user: User, r: rules.FeedRow) -> bool:
    if user.grid_bound:
        address = r.flat or r.address
        return user.sees_building(r.compound, address) if address else False
    if user.elderly_only:
        return r.flat is not None or r.kind == "elder"
    return True


def poll(conn: Conn, user: User, cursor: Cursor) -> tuple[list[tuple[str, str, bytes]], Cursor]:
    """New events the user may see after `cursor`: (id, event name, data) and the new cursor."""
    out: list[tuple[str, str, bytes]] = []
    for r in rules.alarm_feed(conn, after_id=cursor.alarm, limit=BATCH):
        cursor = Cursor(r.id, cursor.case_event)
        if _alarm_visible(user, r):
            document = {
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
            if not user.reads_health and (r.flat is not None or r.kind == _health.ELDER):
                _health.redact_alarm(document)
                del document["values"]  # the feed never carries any
            out.append((str(cursor), "alarm", orjson.dumps(document)))
    events = cases.case_events(conn, after_id=cursor.case_event, limit=BATCH)
    visible = visible_case_ids(conn, user, events)
    withheld: set[int] = set()
    if visible and not user.reads_health:
        withheld = set(elderly_alarm_cases(conn, sorted(visible)))
    for e in events:
        cursor = Cursor(cursor.alarm, e.id)
        if e.case_id in visible:
            document = cases.event_document(e)
            if e.case_id in withheld:
                document["actor"], document["detail"] = redact_event(e.actor, dict(e.detail))
            out.append((str(cursor), "case", orjson.dumps(document)))
    return out, cursor


def frame(event_id: str, name: str, data: bytes) -> bytes:
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (event_id.encode(), name.encode(), data)
