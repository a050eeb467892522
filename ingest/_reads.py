"""What the API reads of storage: the newest values of a device, time-bucketed series
from the hourly rollup, device events in a bounded range, dead letters by reason, and
device acks. Devices are joined through the registry's `device_places` view and a
reader's `registry.Scope`; psycopg's errors leave as `StorageUnavailable`.

Series come from the rollup (`telemetry_hourly`), never from the raw table: a year of
a district is ~10^10 raw rows and 1/60 of that rolled up.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from ingest._conn import Conn, dict_rows, reading
from registry import Scope

# Rows fetched per round trip when history is streamed from a server-side cursor.
FETCH_ROWS = 5000
# Dead-letter samples shown per reason: enough to see a pattern, small enough to read.
SAMPLES_PER_REASON = 5
PAYLOAD_PREVIEW_BYTES = 512

Page = tuple[list[dict[str, Any]], int]


def latest_values(conn: Conn, device: str) -> list[dict[str, Any]]:
    return dict_rows(
        conn,
        "SELECT key, value, ts FROM telemetry_latest WHERE device_id = %s ORDER BY ts DESC, key",
        (device,),
    )


_SERIES = """
SELECT h.key, {device} AS device,
       date_bin(%(step)s, h.bucket, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS ts,
       sum(h.avg * h.samples) / nullif(sum(h.samples), 0) AS avg,
       min(h.min) AS min, max(h.max) AS max, sum(h.samples)::bigint AS samples
FROM telemetry_hourly h
WHERE h.device_id = ANY(%(devices)s) AND h.bucket >= %(start)s AND h.bucket < %(end)s
  AND (%(key)s::text IS NULL OR h.key = %(key)s)
GROUP BY h.key, {group} ts
ORDER BY h.key, {order} ts
"""


def series(
    conn: Conn,
    devices: list[str],
    *,
    start: datetime,
    end: datetime,
    step: timedelta,
    key: str | None,
    per_device: bool,
) -> list[dict[str, Any]]:
    """One series per key (and per device when `per_device`), points in time order."""
    device = "h.device_id" if per_device else "NULL::text"
    group = "h.device_id," if per_device else ""
    points = dict_rows(
        conn,
        _SERIES.format(device=device, group=group, order=group),
        {"step": step, "devices": devices, "start": start, "end": end, "key": key},
    )
    out: dict[tuple[str, str | None], dict[str, Any]] = {}
    for p in points:
        s = out.setdefault(
            (p["key"], p["device"]), {"key": p["key"], "device": p["device"], "points": []}
        )
        s["points"].append(
            {k: p[k] for k in ("ts", "avg", "min", "max", "samples")} | {"avg": p["avg"] or 0.0}
        )
    return list(out.values())


_EVENTS = """
FROM {table} e JOIN device_places d ON d.id = e.device_id
WHERE e.ts >= %(start)s AND e.ts < %(end)s
  AND (%(device)s::text IS NULL OR e.device_id = %(device)s)
  AND (%(compound)s::text IS NULL OR d.compound_id = %(compound)s)
  AND (%(kind)s::text IS NULL OR d.kind = %(kind)s)
  AND (%(type)s::text IS NULL OR e.type = %(type)s)
  AND (%(channel)s::text IS NULL OR e.channel = %(channel)s)
"""


def events(
    conn: Conn,
    scope: Scope,
    *,
    table: Literal["events", "access_events"],
    start: datetime,
    end: datetime,
    filters: dict[str, str | None],
    limit: int,
    offset: int,
) -> Page:
    where = _EVENTS.format(table=table) + scope.device_filter("d")
    params = {"start": start, "end": end, **filters, **scope.params()}
    data = dict_rows(
        conn,
        "SELECT e.device_id, d.compound_id AS compound, d.kind, e.ts, e.type,"
        " nullif(e.seq, -1) AS seq, e.channel, e.data, e.received_at"
        f" {where} ORDER BY e.ts DESC, e.device_id LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": limit, "offset": offset},
    )
    total = dict_rows(conn, f"SELECT count(*) AS n {where}", params)
    return data, int(total[0]["n"]) if total else 0


def dead_letters(
    conn: Conn, *, start: datetime, end: datetime, reason: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Counts by reason, and the newest few of each reason with a payload preview."""
    params = {"start": start, "end": end, "reason": reason, "per": SAMPLES_PER_REASON}
    where = (
        " WHERE received_at >= %(start)s AND received_at < %(end)s"
        " AND (%(reason)s::text IS NULL OR reason = %(reason)s)"
    )
    counts = dict_rows(
        conn,
        f"SELECT reason, count(*) AS count FROM dead_letters{where}"
        " GROUP BY reason ORDER BY count(*) DESC, reason",
        params,
    )
    samples = dict_rows(
        conn,
        "SELECT id, received_at, topic, device_id, reason, detail, payload, payload_size FROM ("
        " SELECT *, row_number() OVER (PARTITION BY reason ORDER BY received_at DESC, id DESC)"
        f" AS n FROM dead_letters{where}) s WHERE n <= %(per)s ORDER BY reason, received_at DESC",
        params,
    )
    for s in samples:
        payload = bytes(s.pop("payload"))[:PAYLOAD_PREVIEW_BYTES]
        s["payload_preview"] = payload.decode("utf-8", errors="replace")
    return counts, samples


def dead_letter_counts(conn: Conn, *, since: datetime) -> dict[str, int]:
    """Dead letters received since `since`, by reason (every gateway's)."""
    found = dict_rows(
        conn,
        "SELECT reason, count(*) AS n FROM dead_letters WHERE received_at >= %s"
        " GROUP BY reason ORDER BY reason",
        (since,),
    )
    return {str(r["reason"]): int(r["n"]) for r in found}


def stored_acks(
    conn: Conn, pending: Sequence[tuple[str, str]], *, since: datetime
) -> list[dict[str, Any]]:
    """The acks the gateways stored (with `ts` from `since`) for these (device,
    correlation id) pairs: device_id, correlation_id, result, detail. An ack counts only
    from the device that was commanded: each was validated at the edge and came on its
    sender's own topic (the broker lets a device publish only there)."""
    if not pending:
        return []
    return dict_rows(
        conn,
        "SELECT e.device_id, p.correlation_id, e.data->>'result' AS result,"
        " e.data->>'detail' AS detail"
        " FROM unnest(%s::text[], %s::text[]) AS p(device_id, correlation_id)"
        " JOIN events e ON e.device_id = p.device_id"
        " AND e.data->>'correlation_id' = p.correlation_id"
        " WHERE e.channel = 'ack' AND e.ts >= %s",
        ([d for d, _ in pending], [c for _, c in pending], since),
    )


_HISTORY = """
SELECT device_id, ts, seq, 'telemetry' AS channel, NULL AS type, key, value, NULL::jsonb, NULL
  FROM telemetry WHERE ts >= %(start)s AND ts < %(end)s
UNION ALL
SELECT device_id, ts, seq, channel, type, NULL, NULL, data, received_at
  FROM events WHERE ts >= %(start)s AND ts < %(end)s
UNION ALL
SELECT device_id, ts, seq, channel, type, NULL, NULL, data, received_at
  FROM access_events WHERE ts >= %(start)s AND ts < %(end)s
ORDER BY ts, device_id
"""

HistoryRow = tuple[
    str,
    datetime,
    int,
    str,
    str | None,
    str | None,
    float | None,
    dict[str, Any] | None,
    datetime | None,
]


def history(conn: Conn, *, start: datetime, end: datetime) -> Iterator[HistoryRow]:
    """Everything stored with `ts` in [start, end), in ts order: telemetry one row per
    key (device, ts, seq, 'telemetry', None, key, value, None, None), events and access
    events one row each (device, ts, seq, channel, type, None, None, data, received_at).
    Streamed from a server-side cursor: a day of a district does not fit in memory."""
    with reading(), conn.cursor(name="dayuan_history") as cur:
        cur.itersize = FETCH_ROWS
        cur.execute(_HISTORY, {"start": start, "end": end})
        yield from cur
