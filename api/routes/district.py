"""The district view: every compound the caller sees with where it lies and how its
cases stand now (open, critical, overdue, the nearest deadline, the on-time rate), worst
SLA first, in one read for a district's map and list (never paged: a district is a few
hundred compounds, a whole city a few thousand). The registry gives the compounds and
their places (`registry.compound_places`), `cases.compound_cases` the counts in one
query over all of them; both under the caller's `registry.Scope` (a grid worker: their
grids' compounds and cases)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

import cases
import registry
from api.deps import DbDep, Reader, StateDep
from api.models import Message

router = APIRouter(prefix="/district", tags=["district"])
# The on-time rate counts the cases received this many days back, as `/kpis` by default.
ON_TIME_DAYS = 30

REFUSALS: dict[int | str, dict[str, Any]] = {
    503: {"model": Message, "description": "the registry or the cases could not be read"},
}


class DistrictCompound(BaseModel):
    model_config = ConfigDict(frozen=True)

    compound: str
    name: str
    lat: float
    lon: float
    open: int
    critical: int
    overdue: int
    critical_overdue: int
    due_soon: int
    escalated: int
    next_due: datetime | None
    sla: cases.SlaState
    due: int
    closed_on_time: int
    on_time_rate: float | None


class DistrictPublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    data: list[DistrictCompound]
    count: int
    at: datetime
    since: datetime  # the start of the on-time rate's window
    due_soon_s: float  # "due soon": a next deadline closer than this


@router.get("", responses=REFUSALS)
def district(user: Reader, conn: DbDep, state: StateDep) -> DistrictPublic:
    """The compounds the caller sees, worst SLA first: more overdue open cases first,
    then the nearest next deadline (an open case's acknowledgement while it waits for
    one, else its resolution), then those with no open case by id. Counts are of the
    cases the caller sees (a grid worker: their grids'; a care responder: those sent to
    the care centre); the on-time rate is the KPIs' over the last 30 days."""
    now = state.clock.now()
    since = now - timedelta(days=ON_TIME_DAYS)
    by_id = {str(p["id"]): p for p in registry.compound_places(conn, user.scope)}
    found = {
        s.compound: s
        for s in cases.compound_cases(conn, scope=user.scope, now=now, since=since)
        if s.compound in by_id
    }
    worst = [s for s in found.values() if s.open]  # in the query's order: worst first
    quiet = sorted(by_id.keys() - {s.compound for s in worst})
    rows = [_row(by_id[s.compound], s) for s in worst] + [
        _row(by_id[c], found.get(c) or cases.CompoundCases(c, 0, 0, 0, 0, 0, 0, None, 0, 0))
        for c in quiet
    ]
    return DistrictPublic(
        data=rows,
        count=len(rows),
        at=now,
        since=since,
        due_soon_s=cases.DUE_SOON.total_seconds(),
    )


def _row(place: dict[str, Any], s: cases.CompoundCases) -> DistrictCompound:
    return DistrictCompound(
        compound=s.compound,
        name=str(place["name"]),
        lat=float(place["lat"]),
        lon=float(place["lon"]),
        open=s.open,
        critical=s.critical,
        overdue=s.overdue,
        critical_overdue=s.critical_overdue,
        due_soon=s.due_soon,
        escalated=s.escalated,
        next_due=s.next_due,
        sla=s.sla,
        due=s.due,
        closed_on_time=s.closed_on_time,
        on_time_rate=s.on_time_rate,
    )
