"""`GET /telemetry`: bucketed series of a device or a group, from the hourly rollup."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status

from api import _health, _series
from api.deps import DbDep, Reader, StateDep
from api.models import Bucket, Series, TelemetryPublic
from api.routes._params import IdQuery, Instant
from domain import Kind

router = APIRouter(prefix="/telemetry", tags=["telemetry"])


@router.get("")
def telemetry(
    user: Reader,
    conn: DbDep,
    state: StateDep,
    request: Request,
    start: Annotated[Instant, Query(alias="from", description="inclusive, with offset")],
    end: Annotated[Instant, Query(alias="to", description="exclusive, with offset")],
    bucket: _series.BucketSize = _series.BucketSize.HOUR,
    device: IdQuery = None,
    compound: IdQuery = None,
    kind: Kind | None = None,
    grid: IdQuery = None,
    key: Annotated[str | None, Query(pattern=r"^[a-z0-9_]{1,64}$")] = None,
) -> TelemetryPublic:
    """One device (`device`) gives a series per key; a group (`compound`, `kind`, `grid`)
    gives a series per key aggregated over its devices. Ranges are bounded. Elderly-care
    devices' health readings reach care responders and administrators only (audited);
    the other roles get the rest (`redacted`), or 403 when they ask for one by name.

    Refused with 422 and the reason: none of `device`, `compound`, `grid`; `to` not after
    `from`; a range over 400 days; more than 2000 buckets (widen `bucket`); a group of
    more than 5000 devices."""
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
    elderly = [d for d, k in devices.items() if k == _health.ELDER]
    if elderly and not user.reads_health and key in _health.HEALTH_KEYS and device is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, _health.REFUSED)
    withheld = [] if user.reads_health else elderly
    found = _series.series(
        conn,
        list(devices),
        start=start,
        end=end,
        bucket=bucket,
        key=key,
        per_device=device is not None,
        withheld=withheld,
        withheld_keys=sorted(_health.HEALTH_KEYS),
    )
    health = sorted({s["key"] for s in found if s["key"] in _health.HEALTH_KEYS})
    if elderly and user.reads_health and health:
        _health.record_read(
            conn,
            user,
            request,
            route="GET /api/v1/telemetry",
            subject=f"device={device or '*'} compound={compound or '*'} grid={grid or '*'}",
            devices=elderly,
            now=state.clock.now(),
            detail={"keys": health, "from": start.isoformat(), "to": end.isoformat()},
        )
    return TelemetryPublic(
        bucket=bucket.value,
        start=start,
        end=end,
        devices=len(devices),
        redacted=bool(withheld),
        series=[
            Series(
                key=s["key"],
                device=s["device"],
                points=[Bucket.model_validate(p) for p in s["points"]],
            )
            for s in found
        ],
    )
