"""`GET /telemetry`: bucketed series of a device or a group, from the hourly rollup."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import AwareDatetime

from api import _series
from api.deps import DbDep, Reader
from api.models import Bucket, Series, TelemetryPublic
from api.routes._params import IdQuery
from domain import Kind

router = APIRouter(prefix="/telemetry", tags=["telemetry"])


@router.get("")
def telemetry(
    user: Reader,
    conn: DbDep,
    start: Annotated[AwareDatetime, Query(alias="from", description="inclusive, with offset")],
    end: Annotated[AwareDatetime, Query(alias="to", description="exclusive, with offset")],
    bucket: _series.BucketSize = _series.BucketSize.HOUR,
    device: IdQuery = None,
    compound: IdQuery = None,
    kind: Kind | None = None,
    grid: IdQuery = None,
    key: Annotated[str | None, Query(pattern=r"^[a-z0-9_]{1,64}$")] = None,
) -> TelemetryPublic:
    """One device (`device`) gives a series per key; a group (`compound`, `kind`, `grid`)
    gives a series per key aggregated over its devices. Ranges are bounded."""
    if device is None and compound is None and grid is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "name a device, or a group by compound or grid"
        )
    try:
        _series.check_range(start, end, bucket)
    except _series.RangeRefused as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    devices = _series.group_devices(
        conn, user, device=device, compound=compound, kind=kind.value if kind else None, grid=grid
    )
    if device is not None and not devices:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device!r} (or not yours)")
    if len(devices) > _series.MAX_GROUP_DEVICES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"the group has more than {_series.MAX_GROUP_DEVICES} devices; narrow it",
        )
    found = _series.series(
        conn, devices, start=start, end=end, bucket=bucket, key=key, per_device=device is not None
    )
    return TelemetryPublic(
        bucket=bucket.value,
        start=start,
        end=end,
        devices=len(devices),
        series=[
            Series(
                key=s["key"],
                device=s["device"],
                points=[Bucket.model_validate(p) for p in s["points"]],
            )
            for s in found
        ],
    )
