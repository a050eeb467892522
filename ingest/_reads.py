"""What others read of the time series in bulk: the stored history of a time range,
for the rule engine's replay, and the barriers' plate reads as they arrive, for
parking. psycopg's errors leave as `StorageUnavailable`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ingest._conn import Conn, reading

# Rows fetched per round trip when history is streamed from a server-side cursor.
FETCH_ROWS = 5000


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


def newest_ts(conn: Conn, devices: Sequence[str]) -> datetime | None:
    """The newest ts any of `devices` has reported (device_state), or None when none has
    been heard: where a simulation that resumes stored history picks up."""
    with reading():
        found = conn.execute(
            "SELECT max(last_ts) FROM device_state WHERE device_id = ANY(%s)", (list(devices),)
        ).fetchone()
    return None if found is None else found[0]


# A plate read stored this much later than its own ts is not paired (partition pruning
# keeps the parking sweep to a day or two of access_events instead of the whole 90).
PLATE_READ_LATENESS = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PlateRead:
    device: str
    ts: datetime
    seq: int
    plate: str
    direction: str  # "in" or "out"
    received_at: datetime


def plate_reads(
    conn: Conn, *, after: PlateRead | None, until: datetime, limit: int
) -> list[PlateRead]:
    """Barrier plate reads received after the read `after` (in the order received_at, ts,
    device, seq; None: from the beginning) and at or before `until`, at most
    PLATE_READ_LATENESS older by their ts than when they were received, in that order."""
    start = after.received_at if after else until - PLATE_READ_LATENESS
    key = (start, after.ts, after.device, after.seq) if after else (start, start, "", -(2**62))
    with reading():
        rows = conn.execute(
            "SELECT device_id, ts, seq, data ->> 'plate', data ->> 'direction', received_at"
            " FROM access_events WHERE type = 'plate' AND ts >= %s AND received_at <= %s"
            " AND (received_at, ts, device_id, seq) > (%s, %s, %s, %s)"
            " ORDER BY received_at, ts, device_id, seq LIMIT %s",
            (start - PLATE_READ_LATENESS, until, *key, limit),
        ).fetchall()
    return [PlateRead(str(d), ts, int(q), str(p), str(r), at) for d, ts, q, p, r, at in rows]
