"""The alarm half of the live feed, read for the API: one row per alarm change, in
commit order (`alarm_feed`, appended by a trigger on `alarms`: migrations 0006, 0008),
with the device's place (the registry's `device_places` view) for scope checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from rules._errors import AlarmStoreError

Conn = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class FeedRow:
    id: int
    at: datetime
    change: str  # opened / updated / cleared
    alarm_id: int
    compound: str
    device_id: str | None
    flat: str | None
    severity: str
    rule_id: str
    title: str
    count: int
    address: str | None  # the device's, from the registry
    kind: str | None


@contextmanager
def _reading() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise AlarmStoreError(f"cannot read the alarm feed: {exc}".strip()) from exc


def feed_head(conn: Conn) -> int:
    """The id of the last committed alarm change (0 for none)."""
    with _reading():
        found = conn.execute("SELECT coalesce(max(id), 0) FROM alarm_feed").fetchone()
    return int(found[0]) if found else 0


def alarm_feed(conn: Conn, *, after_id: int, limit: int) -> list[FeedRow]:
    """Alarm changes after `after_id`, oldest first, at most `limit`."""
    with _reading():
        found = conn.execute(
            "SELECT f.id, f.at, f.change, f.alarm_id, f.compound_id, f.device_id, f.flat,"
            " f.severity, f.rule_id, f.title, f.count, d.address, d.kind"
            " FROM alarm_feed f LEFT JOIN device_places d ON d.id = f.device_id"
            " WHERE f.id > %s ORDER BY f.id LIMIT %s",
            (after_id, limit),
        ).fetchall()
    return [FeedRow(*r) for r in found]
