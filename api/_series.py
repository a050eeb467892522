"""Time-bucketed telemetry, served from the hourly rollup (`telemetry_hourly`), never
from the raw table: a year of a district is ~10^10 raw rows and 1/60 of that rolled up.

Buckets are whole hours or days; a range is bounded and so is the number of points, so
that no request can ask for an unbounded scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from api._access import User
from api._db import Conn, rows

# The rollups are kept five years; a chart of more than about 13 months is an export.
MAX_RANGE = timedelta(days=400)
# Enough points for any screen: 400 days at one-day buckets, or 2 weeks hourly.
MAX_POINTS = 2000
# A group series over more devices than this is a district report, not a chart.
MAX_GROUP_DEVICES = 5000


class BucketSize(StrEnum):
    HOUR = "1h"
    SIX_HOURS = "6h"
    DAY = "1d"
    WEEK = "7d"

    @property
    def delta(self) -> timedelta:
        return {"1h": timedelta(hours=1), "6h": timedelta(hours=6), "1d": timedelta(days=1)}.get(
            self.value, timedelta(days=7)
        )


class RangeRefused(ValueError):
    """The range or the number of points is beyond what one request may ask."""


def check_range(start: datetime, end: datetime, bucket: BucketSize) -> None:
    if end <= start:
        raise RangeRefused("`to` must be after `from`")
    if end - start > MAX_RANGE:
        raise RangeRefused(f"the range is longer than {MAX_RANGE.days} days; ask in parts")
    points = (end - start) / bucket.delta
    if points > MAX_POINTS:
        raise RangeRefused(
            f"{int(points)} buckets of {bucket.value} is more than {MAX_POINTS}; widen the bucket"
        )


_SELECT = """
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


def group_devices(
    conn: Conn,
    user: User,
    *,
    device: str | None,
    compound: str | None,
    kind: str | None,
    grid: str | None,
) -> dict[str, str]:
    """The devices of the group the user sees, id to kind, in id order."""
    found = rows(
        conn,
        "SELECT d.id, d.kind FROM devices d LEFT JOIN grid_buildings gb"
        " ON gb.compound_id = d.compound_id AND gb.building_id = split_part(d.address, '-', 1)"
        " WHERE (%(device)s::text IS NULL OR d.id = %(device)s)"
        " AND (%(compound)s::text IS NULL OR d.compound_id = %(compound)s)"
        " AND (%(kind)s::text IS NULL OR d.kind = %(kind)s)"
        " AND (%(grid)s::text IS NULL OR gb.grid_id = %(grid)s)"
        + user.scope.device_filter("d")
        + " ORDER BY d.id LIMIT %(limit)s",
        {
            "device": device,
            "compound": compound,
            "kind": kind,
            "grid": grid,
            "limit": MAX_GROUP_DEVICES + 1,
            **user.scope.params(),
        },
    )
    return {str(r["id"]): str(r["kind"]) for r in found}


def series(
    conn: Conn,
    devices: list[str],
    *,
    start: datetime,
    end: datetime,
    bucket: BucketSize,
    key: str | None,
    per_device: bool,
    withheld: Sequence[str] = (),
    withheld_keys: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """One series per key (and per device when `per_device`), points in time order;
    the `withheld_keys` of the `withheld` devices are left out (health readings)."""
    device = "h.device_id" if per_device else "NULL::text"
    group = "h.device_id," if per_device else ""
    query = _SELECT.format(device=device, group=group, order=group)
    points = rows(
        conn,
        query,
        {
            "step": bucket.delta,
            "devices": devices,
            "start": start,
            "end": end,
            "key": key,
            "withheld": list(withheld),
            "withheld_keys": list(withheld_keys),
        },
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
