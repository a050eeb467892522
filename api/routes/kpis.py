"""KPIs of the governance loop, computed by `cases.kpis`, with the care programmes'
figures per grid (`care.kpis_by_grid`) beside them."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status

import care
import cases
from api import _cases, _health
from api.deps import DbDep, Reader, StateDep
from api.models import CareGridKpiPublic, KpiPublic, KpisPublic
from api.routes._params import IdQuery, Instant

router = APIRouter(prefix="/kpis", tags=["kpis"])
MAX_RANGE = timedelta(days=3700)  # ten years of cases is still a small table


@router.get("")
def kpis(
    user: Reader,
    conn: DbDep,
    state: StateDep,
    by: cases.KpiDimension = cases.KpiDimension.CATEGORY,
    period: Literal["day", "week", "month", "quarter", "year"] | None = None,
    start: Annotated[Instant | None, Query(alias="from")] = None,
    end: Annotated[Instant | None, Query(alias="to")] = None,
    compound: IdQuery = None,
    timezone: Annotated[str, Query(pattern=r"^[A-Za-z_]{1,32}(/[A-Za-z_+-]{1,32}){0,2}$")] = "UTC",
) -> KpisPublic:
    """Cases received in [from, to) (default: the last 30 days) in the caller's scope (a
    grid worker: their grids' cases), grouped `by` (a grid as "compound/grid"), optionally
    bucketed by `period` in `timezone`; `care`: the care programmes' figures of each grid
    in scope (visits and deliveries in [from, to), due and overdue now), whatever `by`
    and `period`. Refused with 422 and the reason: `to` not after
    `from`, or more than 3700 days after it; a `timezone` that is no IANA zone."""
    end = end or state.clock.now()
    start = start or end - timedelta(days=30)
    if not timedelta() < end - start <= MAX_RANGE:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"`to` must be after `from`, and at most {MAX_RANGE.days} days after it",
        )
    rows = cases.kpis(
        conn,
        since=start,
        until=end,
        by=by,
        period=period,
        timezone=timezone,
        compound=compound,
        scope=user.scope,
        withheld=_cases.withheld_categories(conn, user),
        withheld_as=_health.NEUTRAL_RULE,
    )
    grids = care.kpis_by_grid(
        conn, user.scope, compound=compound, now=state.clock.now(), since=start, until=end
    )
    return KpisPublic(
        data=[KpiPublic.model_validate(asdict(k)) for k in rows],
        count=len(rows),
        care=[_care(k) for k in grids],
    )


def _care(k: care.CareKpis) -> CareGridKpiPublic:
    return CareGridKpiPublic(
        key=f"{k.compound}/{k.grid or '-'}",
        compound=k.compound,
        grid=k.grid,
        plans_active=k.plans_active,
        visits_due=k.visits_due,
        visits_overdue=k.visits_overdue,
        visits_recorded=k.visits_recorded,
        visits_on_time=k.visits_on_time,
        on_time_rate=k.on_time_rate,
        follow_ups_open=k.follow_ups_open,
        deliveries_done=k.deliveries_done,
        deliveries_missed=k.deliveries_missed,
        deliveries_unrecorded=k.deliveries_unrecorded,
    )
