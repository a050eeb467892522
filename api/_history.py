"""Device events, alarms and dead letters, read for the API with the caller's scope;
elderly-care data withheld from the roles without health access (`api._health`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from api import _health
from api._access import User
from api._db import Conn, row, rows

# Events are partitioned by ts: a bounded range lets PostgreSQL read only its chunks.
MAX_EVENT_RANGE = timedelta(days=31)
# Dead-letter samples shown per reason: enough to see a pattern, small enough to read.
SAMPLES_PER_REASON = 5
PAYLOAD_PREVIEW_BYTES = 512

_EVENTS = """
FROM {table} e JOIN devices d ON d.id = e.device_id
WHERE e.ts >= %(start)s AND e.ts < %(end)s
  AND (%(device)s::text IS NULL OR e.device_id = %(device)s)
  AND (%(compound)s::text IS NULL OR d.compound_id = %(compound)s)
  AND (%(kind)s::text IS NULL OR d.kind = %(kind)s)
  AND (%(type)s::text IS NULL OR e.type = %(type)s)
  AND (%(channel)s::text IS NULL OR e.channel = %(channel)s)
"""


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
) -> tuple[list[dict[str, Any]], int]:
    scope = user.scope
    where = _EVENTS.format(table=table) + scope.device_filter("d") + _health.event_filter(user)
    params = {"start": start, "end": end, **filters, **scope.params(), **_health.params()}
    data = rows(
        conn,
        "SELECT e.device_id, d.compound_id AS compound, d.kind, e.ts, e.type,"
        " nullif(e.seq, -1) AS seq, e.channel, e.data, e.received_at"
        f" {where} ORDER BY e.ts DESC, e.device_id LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": limit, "offset": offset},
    )
    total = row(conn, f"SELECT count(*) AS n {where}", params)
    if not user.reads_health:
        for e in data:
            if e["kind"] == _health.ELDER:
                e["data"], e["redacted"] = {}, True
    return data, int(total["n"]) if total else 0


_ALARM_COLUMNS = (
    "a.id, a.rule_id, a.title, a.severity, a.compound_id AS compound, a.device_id, a.flat,"
    " a.subject, a.count, a.first_seen, a.last_seen, a.opened_at, a.updated_at, a.cleared_at,"
    " a.flapping, a.trigger_values AS values,"
    " (a.flat IS NOT NULL OR d.kind = 'elder') AS elderly_care"
)
_ALARMS = """
FROM alarms a LEFT JOIN devices d ON d.id = a.device_id
WHERE (%(compound)s::text IS NULL OR a.compound_id = %(compound)s)
  AND (%(severity)s::text IS NULL OR a.severity = %(severity)s)
  AND (%(rule)s::text IS NULL OR a.rule_id = %(rule)s)
  AND (%(device)s::text IS NULL OR a.device_id = %(device)s)
  AND (%(id)s::bigint IS NULL OR a.id = %(id)s)
  AND (%(start)s::timestamptz IS NULL OR a.opened_at >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR a.opened_at < %(end)s)
  AND (%(open)s::boolean IS NULL OR (a.cleared_at IS NULL) = %(open)s)
"""


def alarm_scope(user: User) -> str:
    """Alarms the user sees: by the building of the flat or the device (grid workers),
    elderly-care alarms (care responders), everything (the rest)."""
    if user.grid_bound:
        return user.scope.address_filter("a.compound_id", "coalesce(a.flat, d.address)")
    if user.elderly_only:
        return " AND (a.flat IS NOT NULL OR d.kind = 'elder')"
    return ""


def alarms(
    conn: Conn, user: User, *, filters: dict[str, Any], limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    where = _ALARMS + alarm_scope(user)
    params = {**filters, **user.scope.params()}
    data = rows(
        conn,
        f"SELECT {_ALARM_COLUMNS} {where} ORDER BY a.id DESC LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": limit, "offset": offset},
    )
    total = row(conn, f"SELECT count(*) AS n {where}", params)
    if not user.reads_health:
        for a in data:
            if a["elderly_care"]:  # the flat needs help; its readings are not shown
                _health.redact_alarm(a)
    return data, int(total["n"]) if total else 0


def dead_letters(
    conn: Conn, *, start: datetime, end: datetime, reason: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    params = {"start": start, "end": end, "reason": reason, "per": SAMPLES_PER_REASON}
    where = (
        " WHERE received_at >= %(start)s AND received_at < %(end)s"
        " AND (%(reason)s::text IS NULL OR reason = %(reason)s)"
    )
    counts = rows(
        conn,
        f"SELECT reason, count(*) AS count FROM dead_letters{where}"
        " GROUP BY reason ORDER BY count(*) DESC, reason",
        params,
    )
    samples = rows(
        conn,
        "SELECT id, received_at, topic, device_id, reason, detail, payload, payload_size,"
        " refused, elements FROM ("
        " SELECT *, row_number() OVER (PARTITION BY reason ORDER BY received_at DESC, id DESC)"
        f" AS n FROM dead_letters{where}) s WHERE n <= %(per)s ORDER BY reason, received_at DESC",
        params,
    )
    for s in samples:
        payload = bytes(s.pop("payload"))[:PAYLOAD_PREVIEW_BYTES]
        s["payload_preview"] = payload.decode("utf-8", errors="replace")
    return counts, samples
