"""Time-bucketed telemetry, served from the hourly rollup (`ingest.hourly_series`), never
from the raw table: a year of a district is ~10^10 raw rows and 1/60 of that rolled up.

Buckets are whole hours or days; a range is bounded and so is the number of points, so
that no request can ask for an unbounded scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import ingest
import registry
from api._access import User
from api._db import Conn

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


def group_devices(
    conn: Conn,
    user: User,
    *,
    device: str | None,
    compound: str | None,
    kind: str | None,
    grid: str | None,
) -> dict[str, str]:
    """The devices of the group the user sees, id to kind, in id order (one more than
    MAX_GROUP_DEVICES at most: enough to tell the group is too big)."""
    found = registry.device_places(
        conn,
        user.scope,
        device=device,
        compound=compound,
        kind=kind,
        grid=grid,
        limit=MAX_GROUP_DEVICES + 1,
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
    return ingest.hourly_series(
        conn,
        devices,
        start=start,
        end=end,
        step=bucket.delta,
        key=key,
        per_device=per_device,
        withheld=withheld,
        withheld_keys=withheld_keys,
    )
