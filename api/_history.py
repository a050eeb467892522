"""Device events, alarms and dead letters, read for the API with the caller's scope
through their owners (`ingest.events`, `rules.alarm_page`, `ingest.dead_letters`);
elderly-care data withheld from the roles without health access (`api._health`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

import ingest
import rules
from api import _health
from api._access import User
from api._db import Conn

# Events are partitioned by ts: a bounded range lets PostgreSQL read only its chunks.
MAX_EVENT_RANGE = timedelta(days=31)
# Dead-letter samples shown per reason: enough to see a pattern, small enough to read.
SAMPLES_PER_REASON = 5
PAYLOAD_PREVIEW_BYTES = 512


def events(
    conn: Conn,
    user: User,
    *,
    table: Literal["events", "access_events"],
    start: datetime,
    end: datetime,
    filters: dict[str, str | None],
    limit: int,
    offset: int,
    after: ingest.EventKey | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Without health access, elderly-care devices show only their help events (SOS,
    fall), and those without their data (`redacted`)."""
    quiet = None if user.reads_health else _health.ELDER
    data, total = ingest.events(
        conn,
        user.scope,
        table=table,
        start=start,
        end=end,
        filters=filters,
        limit=limit,
        offset=offset,
        quiet_kind=quiet,
        loud_types=_health.HELP_EVENTS,
        after=after,
    )
    if not user.reads_health:
        for e in data:
            if e["kind"] == _health.ELDER:
                e["data"], e["redacted"] = {}, True
    return data, total


def alarms(
    conn: Conn,
    user: User,
    *,
    filters: dict[str, Any],
    limit: int,
    offset: int,
    before: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    renamed = None if user.reads_health else (_health.NEUTRAL_RULE, _health.PLAIN_ALARMS)
    data, total = rules.alarm_page(
        conn,
        user.scope,
        filters=filters,
        limit=limit,
        offset=offset,
        renamed=renamed,
        before=before,
    )
    if not user.reads_health:
        for a in data:
            if a["elderly_care"]:  # the flat needs help; its readings are not shown
                _health.redact_alarm(a)
    return data, total


def dead_letters(
    conn: Conn, *, start: datetime, end: datetime, reason: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    counts, samples = ingest.dead_letters(
        conn, start=start, end=end, reason=reason, samples_per_reason=SAMPLES_PER_REASON
    )
    for s in samples:
        payload = bytes(s.pop("payload"))[:PAYLOAD_PREVIEW_BYTES]
        s["payload_preview"] = payload.decode("utf-8", errors="replace")
    return counts, samples
