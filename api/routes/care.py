"""Care programmes: visit plans for tagged households (list per compound and grid,
create, end), visits recorded against a plan or a follow-up (record, list), the
follow-up visits (复诊) scheduled from cases closed in that mode, meal delivery schedules
and deliveries (schedule, record done or missed), and the KPIs. Care responders, property
staff and grid workers (within their grids' buildings) read the lists and write; every
role reads the KPIs, which are counts. A visit's note may carry health notes: only the
roles that read health data get it, and each response that carries one is audited.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

import care
import registry
from api import _health
from api._access import Permission, User
from api._db import Conn
from api._errors import Refusal
from api.deps import DbDep, Reader, StateDep, in_scope, require
from api.models import Message
from api.routes._params import Instant, Limit, Offset
from domain import HouseholdTag

router = APIRouter(prefix="/care", tags=["care"])
Carer = Annotated[User, Depends(require(Permission.CARE_PROGRAMMES))]
_ID = r"^[A-Za-z0-9_-]{1,64}$"
CompoundQuery = Annotated[str, Query(pattern=_ID, description="the compound's id")]
GridQuery = Annotated[str | None, Query(pattern=_ID, description="only this grid's")]
CompoundPath = Annotated[str, Path(pattern=_ID)]
IdPath = Annotated[int, Path(ge=1, le=2**62)]
Id = Annotated[int, Field(ge=1, le=2**62)]
Flat = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}$")]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Note = Annotated[str, Field(max_length=care.MAX_NOTE)]
# The KPIs' visits and deliveries are counted over this many days back by default.
KPI_DAYS = 30

REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"model": Message, "description": "outside the caller's grids"},
    404: {"model": Message, "description": "no such plan, follow-up or schedule there"},
    422: {
        "model": Message,
        "description": "a household that is not in the compound or lacks the tag, a visitor"
        " who does not serve it, an interval out of range, a day not scheduled",
    },
}


class PlanCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    compound: str = Field(pattern=_ID)
    flat: Flat
    tag: HouseholdTag = Field(description="the care tag it serves: empty_nest, elderly, disabled")
    visitor: Name = Field(description="a staff member's or a party's id in the compound")
    interval_days: int = Field(
        description=f"{care.MIN_INTERVAL_DAYS} to {care.MAX_INTERVAL_DAYS}: a visit this often"
    )
    starts_at: datetime | None = Field(None, description="with an offset; default now")
    ends_at: datetime | None = Field(None, description="with an offset; none: open-ended")


class PlanPublic(BaseModel):
    id: int
    compound: str
    flat: str
    grid: str | None
    tag: HouseholdTag
    visitor: str
    interval_days: int
    starts_at: datetime
    ends_at: datetime | None
    ended_at: datetime | None
    created_by: str
    last_visit_at: datetime | None
    visits: int
    due_at: datetime = Field(description="the last visit (or the start) plus the interval")
    status: care.PlanStatus


class PlansPublic(BaseModel):
    data: list[PlanPublic]
    count: int


class VisitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    compound: str = Field(pattern=_ID)
    plan_id: Id | None = Field(None, description="the plan it answers (or follow_up_id)")
    follow_up_id: Id | None = Field(None, description="the follow-up it answers (or plan_id)")
    visitor: Name | None = Field(
        None, description="who went; default the caller's staff id, else the plan's visitor"
    )
    visited_at: datetime | None = Field(None, description="with an offset; default now")
    outcome: care.Outcome
    note: Note | None = Field(None, description="what was seen; may carry health notes")


class VisitPublic(BaseModel):
    id: int
    compound: str
    flat: str
    grid: str | None
    plan_id: int | None
    follow_up_id: int | None
    visitor: str
    visited_at: datetime
    due_at: datetime
    on_time: bool
    outcome: care.Outcome
    note: str | None = Field(description="only for the roles that read health data")
    note_withheld: bool = Field(description="true: a note exists and this role may not read it")
    recorded_by: str


class VisitsPublic(BaseModel):
    data: list[VisitPublic]
    count: int


class FollowUpPublic(BaseModel):
    id: int
    compound: str
    flat: str
    grid: str | None
    case_id: int
    due_at: datetime
    visited_at: datetime | None
    overdue: bool


class FollowUpsPublic(BaseModel):
    data: list[FollowUpPublic]
    count: int


class ScheduleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    compound: str = Field(pattern=_ID)
    flat: Flat = Field(description="an elderly household")
    meal: care.Meal
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        min_length=1, max_length=7, description="ISO days: 1 Monday to 7 Sunday"
    )
    deliverer: Name = Field(description="a staff member's or a party's id in the compound")
    starts_on: date | None = Field(None, description="default today")


class SchedulePublic(BaseModel):
    id: int
    compound: str
    flat: str
    grid: str | None
    meal: care.Meal
    weekdays: list[int]
    deliverer: str
    starts_on: date
    done: int
    missed: int
    unrecorded: list[date] = Field(
        description="scheduled days of the last week whose window closed with nothing"
        " recorded (not recorded: a case after care.UNRECORDED_GRACE)"
    )


class SchedulesPublic(BaseModel):
    data: list[SchedulePublic]
    count: int


class DeliveryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    compound: str = Field(pattern=_ID)
    schedule_id: Id
    day: date | None = Field(None, description="a scheduled day; default today")
    done: bool = Field(description="false: missed (it becomes a case)")
    note: Note | None = None


class DeliveryPublic(BaseModel):
    id: int
    schedule_id: int
    compound: str
    flat: str
    grid: str | None
    meal: care.Meal
    day: date
    done: bool
    note: str | None
    recorded_by: str


class DeliveriesPublic(BaseModel):
    data: list[DeliveryPublic]
    count: int


class CareKpisPublic(BaseModel):
    compound: str
    grid: str | None
    since: datetime
    plans_active: int
    visits_due: int = Field(description="plans and follow-ups due within a day")
    visits_overdue: int
    visits_recorded: int = Field(description="since `since`")
    visits_on_time: int
    on_time_rate: float | None = Field(description="none when no visit was recorded")
    follow_ups_open: int
    deliveries_done: int
    deliveries_missed: int
    deliveries_unrecorded: int = Field(
        description="scheduled days since `since` whose window closed with nothing recorded"
    )


def _compound_visible(user: User, compound: str) -> None:
    in_scope(user, compound, package="care")


def _flat_in_grids(user: User, compound: str, flat: str) -> None:
    if not user.sees_building(compound, flat):
        raise Refusal(
            status.HTTP_403_FORBIDDEN,
            f"{flat} is outside your grids",
            "care.outside_grids",
            where=flat,
        )


def _plan(p: care.Plan, now: datetime) -> PlanPublic:
    return PlanPublic(
        id=p.id,
        compound=p.compound,
        flat=p.flat,
        grid=p.grid,
        tag=p.tag,
        visitor=p.visitor,
        interval_days=p.interval_days,
        starts_at=p.starts_at,
        ends_at=p.ends_at,
        ended_at=p.ended_at,
        created_by=p.created_by,
        last_visit_at=p.last_visit_at,
        visits=p.visits,
        due_at=p.due_at,
        status=p.status(now),
    )


def _visit(v: care.Visit, user: User) -> VisitPublic:
    return VisitPublic(
        id=v.id,
        compound=v.compound,
        flat=v.flat,
        grid=v.grid,
        plan_id=v.plan_id,
        follow_up_id=v.follow_up_id,
        visitor=v.visitor,
        visited_at=v.visited_at,
        due_at=v.due_at,
        on_time=v.on_time,
        outcome=v.outcome,
        note=v.note if user.reads_health else None,
        note_withheld=v.note is not None and not user.reads_health,
        recorded_by=v.recorded_by,
    )


def _follow_up(f: care.FollowUp, now: datetime) -> FollowUpPublic:
    return FollowUpPublic(
        id=f.id,
        compound=f.compound,
        flat=f.flat,
        grid=f.grid,
        case_id=f.case_id,
        due_at=f.due_at,
        visited_at=f.visited_at,
        overdue=f.overdue(now),
    )


def _schedule(s: care.MealSchedule) -> SchedulePublic:
    return SchedulePublic(
        id=s.id,
        compound=s.compound,
        flat=s.flat,
        grid=s.grid,
        meal=s.meal,
        weekdays=list(s.weekdays),
        deliverer=s.deliverer,
        starts_on=s.starts_on,
        done=s.done,
        missed=s.missed,
        unrecorded=list(s.unrecorded),
    )


def _delivery(d: care.Delivery) -> DeliveryPublic:
    return DeliveryPublic(
        id=d.id,
        schedule_id=d.schedule_id,
        compound=d.compound,
        flat=d.flat,
        grid=d.grid,
        meal=d.meal,
        day=d.day,
        done=d.done,
        note=d.note,
        recorded_by=d.recorded_by,
    )


def _today(conn: Conn, compound: str, now: datetime) -> date:
    """The compound's date now, in its own time zone."""
    return now.astimezone(ZoneInfo(registry.time_zone(conn, compound))).date()


@router.get("/plans", responses=REFUSALS)
def list_plans(
    user: Carer,
    conn: DbDep,
    state: StateDep,
    compound: CompoundQuery,
    grid: GridQuery = None,
    active: Annotated[bool, Query(description="only plans running now")] = True,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PlansPublic:
    """A compound's visit plans the caller sees (a grid worker: their grids'), the
    earliest due first, each with its due time and status (scheduled, due, overdue)."""
    _compound_visible(user, compound)
    now = state.clock.now()
    data, count = care.plans(
        conn,
        user.scope,
        compound=compound,
        grid=grid,
        now=now,
        active=active,
        limit=limit,
        offset=offset,
    )
    return PlansPublic(data=[_plan(p, now) for p in data], count=count)


@router.post("/plans", status_code=status.HTTP_201_CREATED, responses=REFUSALS)
def create_plan(body: PlanCreate, user: Carer, conn: DbDep, state: StateDep) -> PlanPublic:
    """A visit plan. Refused with 422 and the reason: a household the compound does not
    have, or that does not carry the tag; a tag that is not a care tag; a visitor who
    is not a staff member or party of the compound; an interval out of range."""
    _flat_in_grids(user, body.compound, body.flat)
    now = state.clock.now()
    draft = care.PlanDraft(
        compound=body.compound,
        flat=body.flat,
        tag=body.tag,
        visitor=body.visitor,
        interval_days=body.interval_days,
        starts_at=body.starts_at or now,
        ends_at=body.ends_at,
    )
    return _plan(care.create_plan(conn, draft, actor=user.username, now=now), now)


@router.post("/plans/{compound_id}/{plan_id}/end", responses=REFUSALS)
def end_plan(
    compound_id: CompoundPath, plan_id: IdPath, user: Carer, conn: DbDep, state: StateDep
) -> PlanPublic:
    """End a plan now: no more visits are due, nothing becomes overdue."""
    found = care.get_plan(conn, compound_id, plan_id)
    _flat_in_grids(user, compound_id, found.flat)
    now = state.clock.now()
    return _plan(care.end_plan(conn, compound_id, plan_id, actor=user.username, now=now), now)


@router.get("/visits", responses=REFUSALS)
def list_visits(
    request: Request,
    user: Carer,
    conn: DbDep,
    state: StateDep,
    compound: CompoundQuery,
    grid: GridQuery = None,
    plan: Annotated[int | None, Query(ge=1, le=2**62, description="one plan's")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> VisitsPublic:
    """A compound's visits the caller sees, newest first. Notes only for the roles that
    read health data, and each such response is in the audit log."""
    _compound_visible(user, compound)
    data, count = care.visits(
        conn, user.scope, compound=compound, grid=grid, plan_id=plan, limit=limit, offset=offset
    )
    noted = [v for v in data if v.note is not None]
    if user.reads_health and noted:
        _health.record_read(
            conn,
            user,
            request,
            route="/api/v1/care/visits",
            subject=f"care visit notes of {compound}",
            devices=[],
            now=state.clock.now(),
            detail={"visits": [v.id for v in noted], "flats": sorted({v.flat for v in noted})},
        )
    return VisitsPublic(data=[_visit(v, user) for v in data], count=count)


@router.post("/visits", status_code=status.HTTP_201_CREATED, responses=REFUSALS)
def record_visit(body: VisitCreate, user: Carer, conn: DbDep, state: StateDep) -> VisitPublic:
    """A visit made for a plan or a follow-up (exactly one). Refused with 422 and the
    reason: both or neither named, an ended plan, a follow-up visited already, a visit
    in the future or before the plan, a visitor who does not serve the compound."""
    if (body.plan_id is None) == (body.follow_up_id is None):
        raise care.InvalidCare(
            "plan_id", "a visit answers either a plan or a follow-up", code="care.plan_or_follow_up"
        )
    if body.plan_id is not None:
        target = care.get_plan(conn, body.compound, body.plan_id)
        flat, default = target.flat, target.visitor
    else:
        assert body.follow_up_id is not None
        flat = care.get_follow_up(conn, body.compound, body.follow_up_id).flat
        default = None
    _flat_in_grids(user, body.compound, flat)
    visitor = body.visitor or user.staff_id or default
    if visitor is None:
        raise care.InvalidCare(
            "visitor", "name who went (a staff member or a party)", code="care.no_visitor"
        )
    now = state.clock.now()
    draft = care.VisitDraft(
        compound=body.compound,
        visitor=visitor,
        visited_at=body.visited_at or now,
        outcome=body.outcome,
        note=body.note,
        plan_id=body.plan_id,
        follow_up_id=body.follow_up_id,
    )
    return _visit(care.record_visit(conn, draft, actor=user.username, now=now), user)


@router.get("/follow-ups", responses=REFUSALS)
def list_follow_ups(
    user: Carer,
    conn: DbDep,
    state: StateDep,
    compound: CompoundQuery,
    grid: GridQuery = None,
    open_only: Annotated[bool, Query(alias="open", description="only those not visited")] = True,
    limit: Limit = 100,
    offset: Offset = 0,
) -> FollowUpsPublic:
    """The follow-up visits (复诊) scheduled from cases closed in that mode, earliest due
    first."""
    _compound_visible(user, compound)
    data, count = care.follow_ups(
        conn,
        user.scope,
        compound=compound,
        grid=grid,
        open_only=open_only,
        limit=limit,
        offset=offset,
    )
    now = state.clock.now()
    return FollowUpsPublic(data=[_follow_up(f, now) for f in data], count=count)


@router.get("/meals", responses=REFUSALS)
def list_schedules(
    user: Carer,
    conn: DbDep,
    state: StateDep,
    compound: CompoundQuery,
    grid: GridQuery = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> SchedulesPublic:
    """A compound's current meal delivery schedules the caller sees, by flat, each with
    its days not recorded."""
    _compound_visible(user, compound)
    data, count = care.schedules(
        conn,
        user.scope,
        compound=compound,
        grid=grid,
        limit=limit,
        offset=offset,
        now=state.clock.now(),
    )
    return SchedulesPublic(data=[_schedule(s) for s in data], count=count)


@router.post("/meals", status_code=status.HTTP_201_CREATED, responses=REFUSALS)
def create_schedule(
    body: ScheduleCreate, user: Carer, conn: DbDep, state: StateDep
) -> SchedulePublic:
    """A meal delivery schedule. Refused with 422 and the reason: a household that is
    not an elderly one of the compound, a deliverer who does not serve it."""
    _flat_in_grids(user, body.compound, body.flat)
    now = state.clock.now()
    draft = care.MealScheduleDraft(
        compound=body.compound,
        flat=body.flat,
        meal=body.meal,
        weekdays=tuple(body.weekdays),
        deliverer=body.deliverer,
        starts_on=body.starts_on or _today(conn, body.compound, now),
    )
    return _schedule(care.create_schedule(conn, draft, actor=user.username, now=now))


@router.get("/deliveries", responses=REFUSALS)
def list_deliveries(
    user: Carer,
    conn: DbDep,
    compound: CompoundQuery,
    grid: GridQuery = None,
    missed: Annotated[bool, Query(description="only the missed ones")] = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> DeliveriesPublic:
    """A compound's recorded meal deliveries the caller sees, newest day first."""
    _compound_visible(user, compound)
    data, count = care.deliveries(
        conn,
        user.scope,
        compound=compound,
        grid=grid,
        missed_only=missed,
        limit=limit,
        offset=offset,
    )
    return DeliveriesPublic(data=[_delivery(d) for d in data], count=count)


@router.post("/deliveries", status_code=status.HTTP_201_CREATED, responses=REFUSALS)
def record_delivery(
    body: DeliveryCreate, user: Carer, conn: DbDep, state: StateDep
) -> DeliveryPublic:
    """A scheduled day's delivery, done or missed (a missed one becomes a case on the
    next sweep). Refused with 422 and the reason: a day not on the schedule, in the
    future, over a week back or recorded already."""
    found = care.get_schedule(conn, body.compound, body.schedule_id)
    _flat_in_grids(user, body.compound, found.flat)
    now = state.clock.now()
    today = _today(conn, body.compound, now)
    draft = care.DeliveryDraft(
        compound=body.compound,
        schedule_id=body.schedule_id,
        day=body.day or today,
        done=body.done,
        note=body.note,
    )
    return _delivery(care.record_delivery(conn, draft, actor=user.username, today=today, now=now))


@router.get("/kpis", responses=REFUSALS)
def kpis(
    user: Reader,
    conn: DbDep,
    state: StateDep,
    compound: CompoundQuery,
    grid: GridQuery = None,
    since: Annotated[
        Instant | None, Query(description=f"visits and deliveries since; default {KPI_DAYS} days")
    ] = None,
) -> CareKpisPublic:
    """The care KPIs of a compound or one grid, in the caller's scope: plans active,
    visits due and overdue now, visits recorded and on time, follow-ups open, meal
    deliveries done and missed. Counts only: every role reads them."""
    _compound_visible(user, compound)
    now = state.clock.now()
    k = care.kpis(
        conn,
        user.scope,
        compound=compound,
        grid=grid,
        now=now,
        since=since or now - timedelta(days=KPI_DAYS),
    )
    return CareKpisPublic(
        compound=k.compound,
        grid=k.grid,
        since=k.since,
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
