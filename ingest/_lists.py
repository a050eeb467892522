"""What others list of the stored time series, a page at a time: a device's last values,
bucketed series from the hourly rollup, events and access events under a reader's
`registry.Scope`, and dead letters by reason (a page, or the recent counts of the
monitoring gauges). Rows come back as dicts (the API's models read them); devices'
places come from the registry's `device_places` view. psycopg's errors leave as
`StorageUnavailable`."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from psycopg.rows import dict_row

from ingest._conn import Conn, reading
from registry import Scope

Rows = list[dict[str, Any]]


def _rows(conn: Conn, query: str, params: Any = None) -> Rows:
    with reading(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()


def _count(conn: Conn, query: str, params: Any) -> int:
    found = _rows(conn, query, params)
    return int(found[0]["n"]) if found else 0


def last_values(conn: Conn, device: str) -> Rows:
    """The newest value of each key a device reports (`key`, `value`, `ts`), newest first."""
    return _rows(
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
  AND NOT (h.device_id = ANY(%(withheld)s) AND h.key = ANY(%(withheld_keys)s))
GROUP BY h.key, {group} ts
ORDER BY h.key, {order} ts
"""


def hourly_series(
    conn: Conn,
    devices: Sequence[str],
    *,
    start: datetime,
    end: datetime,
    step: timedelta,
    key: str | None,
    per_device: bool,
    withheld: Sequence[str] = (),
    withheld_keys: Sequence[str] = (),
) -> Rows:
    """From the hourly rollup (never the raw table), buckets of `step` (weeks start on a
    Monday): one series per key, and per device when `per_device`, points in time order;
    the `withheld_keys` of the `withheld` devices are left out."""
    device = "h.device_id" if per_device else "NULL::text"
    group = "h.device_id," if per_device else ""
    params = {
        "step": step,
        "devices": list(devices),
        "start": start,
        "end": end,
        "key": key,
        "withheld": list(withheld),
        "withheld_keys": list(withheld_keys),
    }
    # Never prepared: planned for its devices and range every time. A prepared statement's
    # generic plan cannot know how few rows one device has of the range, and took the
    # bucket index (every device's rows of the range: 790 ms for a light's 30 days on a
    # year of the reference compound, where its own plan takes 8; 0.3 ms to plan).
    # Tuples in binary: a month of a light is 5,040 points, and dict rows decoded from
    # text cost more than the query (`dayuan bench queries`).
    query = _SERIES.format(device=device, group=group, order=group)
    out: dict[tuple[str, str | None], dict[str, Any]] = {}
    with reading(), conn.cursor(binary=True) as cur:
        cur.execute(query, params, prepare=False)
        for name, dev, ts, avg, low, high, samples in cur:
            series = out.get((name, dev))
            if series is None:
                series = out[(name, dev)] = {"key": name, "device": dev, "points": []}
            point = {"ts": ts, "avg": avg or 0.0, "min": low, "max": high, "samples": samples}
            series["points"].append(point)
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
# Devices of the `quiet_kind` show only their `loud_types` of event (the API's privacy).
_QUIET = " AND (d.kind <> %(quiet_kind)s OR e.type = ANY(%(loud_types)s))"
# An event's place in the list's order: (ts, device_id, type, seq).
EventKey = tuple[datetime, str, str, int]
# After that place: older, or as old and later in (device, type, seq). The plain
# `ts <= k` lets the (ts DESC, ...) index bound the scan.
_AFTER = (
    " AND e.ts <= %(k_ts)s AND (e.ts < %(k_ts)s OR (e.device_id, e.type, e.seq)"
    " > (%(k_device)s, %(k_type)s, %(k_seq)s))"
)


def _after(key: EventKey | None) -> dict[str, Any]:
    if key is None:
        return {}
    return dict(zip(("k_ts", "k_device", "k_type", "k_seq"), key, strict=True))


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
    quiet_kind: str | None = None,
    loud_types: Collection[str] = (),
    after: EventKey | None = None,
) -> tuple[Rows, int]:
    """A page of events (or access events) with ts in [start, end) of the devices the
    reader sees, newest first (then by device, type and seq: the table's unique key), and
    how many there are. `filters`: device, compound, kind, type, channel (None: any). With
    `quiet_kind`, that kind's devices show only events of the `loud_types`. With `after`
    (ts, device, type, seq, -1 for none), only the events after that one in this order
    (a keyset page; the count is still of them all)."""
    where = _EVENTS.format(table=table) + scope.device_filter("d")
    if quiet_kind is not None:
        where += _QUIET
    params = {
        "start": start,
        "end": end,
        **filters,
        **scope.params(),
        "quiet_kind": quiet_kind,
        "loud_types": sorted(loud_types),
    }
    data = _rows(
        conn,
        "SELECT e.device_id, d.compound_id AS compound, d.kind, e.ts, e.type,"
        " nullif(e.seq, -1) AS seq, e.channel, e.data, e.received_at"
        f" {where}{'' if after is None else _AFTER}"
        " ORDER BY e.ts DESC, e.device_id, e.type, e.seq LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": limit, "offset": offset, **_after(after)},
    )
    return data, _count(conn, f"SELECT count(*) AS n {where}", params)


def dead_letters(
    conn: Conn, *, start: datetime, end: datetime, reason: str | None, samples_per_reason: int
) -> tuple[Rows, Rows]:
    """Dead letters received in [start, end) (of one `reason`, or all): the count of each
    reason, most first, and the newest `samples_per_reason` of each, with their payload."""
    params = {"start": start, "end": end, "reason": reason, "per": samples_per_reason}
    where = (
        " WHERE received_at >= %(start)s AND received_at < %(end)s"
        " AND (%(reason)s::text IS NULL OR reason = %(reason)s)"
    )
    counts = _rows(
        conn,
        f"SELECT reason, count(*) AS count FROM dead_letters{where}"
        " GROUP BY reason ORDER BY count(*) DESC, reason",
        params,
    )
    samples = _rows(
        conn,
        "SELECT id, received_at, topic, device_id, reason, detail, payload, payload_size,"
        " refused, elements FROM ("
        " SELECT *, row_number() OVER (PARTITION BY reason ORDER BY received_at DESC, id DESC)"
        f" AS n FROM dead_letters{where}) s WHERE n <= %(per)s ORDER BY reason, received_at DESC",
        params,
    )
    return counts, samples


def dead_letters_by_reason(conn: Conn, *, since: datetime) -> dict[str, int]:
    """The messages dead-lettered at or after `since` (by every gateway), by reason in
    order of reason; a reason without any is left out."""
    found = _rows(
        conn,
        "SELECT reason, count(*) AS n FROM dead_letters WHERE received_at >= %s"
        " GROUP BY reason ORDER BY reason",
        (since,),
    )
    return {str(r["reason"]): int(r["n"]) for r in found}
