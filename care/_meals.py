"""Meal deliveries in SQL: a delivery schedule per elderly household (weekdays, meal,
deliverer), one record per scheduled day (done or missed, once), and the lists under a
reader's `registry.Scope`. A missed delivery is what the sweep turns into a case."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import registry
from care import _household as household
from care._db import Conn, transaction
from care._errors import CareNotFound, InvalidCare
from care._model import (
    DELIVERY_BACKDATE,
    MEAL_TAG,
    Delivery,
    DeliveryDraft,
    Meal,
    MealSchedule,
    MealScheduleDraft,
)
from care._store import scoped

_SCHEDULE_COLUMNS = (
    "s.id, s.compound_id, s.flat, s.grid_id, s.meal, s.weekdays, s.deliverer, s.starts_on,"
    " s.created_by, s.created_at, s.ended_at,"
    " (SELECT count(*) FROM care_meal_deliveries d WHERE d.schedule_id = s.id AND d.done),"
    " (SELECT count(*) FROM care_meal_deliveries d WHERE d.schedule_id = s.id AND NOT d.done)"
)
_DELIVERY_COLUMNS = (
    "d.id, d.schedule_id, d.compound_id, d.flat, d.grid_id, s.meal, d.day, d.done, d.note,"
    " d.recorded_by, d.recorded_at"
)


def create_schedule(
    conn: Conn, draft: MealScheduleDraft, *, actor: str, now: datetime
) -> MealSchedule:
    """A delivery schedule for an elderly household, by a staff member or party."""
    grid = household.tagged(conn, draft.compound, draft.flat, MEAL_TAG)
    household.serves(conn, draft.compound, "deliverer", draft.deliverer)
    with transaction(conn):
        row = conn.execute(
            "INSERT INTO care_meal_schedules (compound_id, flat, grid_id, meal, weekdays,"
            " deliverer, starts_on, created_by, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (
                draft.compound,
                draft.flat,
                grid,
                draft.meal.value,
                sorted(set(draft.weekdays)),
                draft.deliverer,
                draft.starts_on,
                actor,
                now,
            ),
        ).fetchone()
    assert row is not None
    return get_schedule(conn, draft.compound, int(row[0]))


def get_schedule(conn: Conn, compound: str, schedule_id: int) -> MealSchedule:
    with transaction(conn):
        row = conn.execute(
            f"SELECT {_SCHEDULE_COLUMNS} FROM care_meal_schedules s"
            " WHERE s.id = %s AND s.compound_id = %s",
            (schedule_id, compound),
        ).fetchone()
    if row is None:
        raise CareNotFound("meal schedule", schedule_id)
    return _schedule(row)


def end_schedule(
    conn: Conn, compound: str, schedule_id: int, *, actor: str, now: datetime
) -> MealSchedule:
    with transaction(conn):
        found = conn.execute(
            "UPDATE care_meal_schedules SET ended_at = coalesce(ended_at, %s),"
            " ended_by = coalesce(ended_by, %s) WHERE id = %s AND compound_id = %s RETURNING id",
            (now, actor, schedule_id, compound),
        ).fetchone()
    if found is None:
        raise CareNotFound("meal schedule", schedule_id)
    return get_schedule(conn, compound, schedule_id)


def schedules(
    conn: Conn,
    scope: registry.Scope,
    *,
    compound: str,
    grid: str | None,
    limit: int,
    offset: int,
) -> tuple[list[MealSchedule], int]:
    """A compound's current delivery schedules the reader sees, by flat."""
    where = scoped("s", scope) + " AND s.ended_at IS NULL"
    params = {"compound": compound, "grid": grid, **scope.params()}
    with transaction(conn):
        found = conn.execute(
            f"SELECT {_SCHEDULE_COLUMNS} FROM care_meal_schedules s WHERE {where}"
            " ORDER BY s.flat, s.meal, s.id LIMIT %(limit)s OFFSET %(offset)s",
            {**params, "limit": limit, "offset": offset},
        ).fetchall()
        total = conn.execute(
            f"SELECT count(*) FROM care_meal_schedules s WHERE {where}", params
        ).fetchone()
    return [_schedule(r) for r in found], int(total[0]) if total else 0


def record_delivery(
    conn: Conn, draft: DeliveryDraft, *, actor: str, today: date, now: datetime
) -> Delivery:
    """One scheduled day's delivery, done or missed; `today` is the compound's date."""
    schedule = get_schedule(conn, draft.compound, draft.schedule_id)
    if schedule.ended_at is not None:
        raise InvalidCare(
            "schedule_id",
            f"meal schedule {schedule.id} has ended",
            code="care.schedule_ended",
            schedule_id=schedule.id,
        )
    if draft.day > today:
        raise InvalidCare(
            "day", f"{draft.day} has not come yet", code="care.in_future", day=str(draft.day)
        )
    if draft.day < max(schedule.starts_on, today - DELIVERY_BACKDATE):
        raise InvalidCare(
            "day",
            f"before the schedule started or over {DELIVERY_BACKDATE.days} days back",
            code="care.too_far_back",
            days=DELIVERY_BACKDATE.days,
        )
    if draft.day.isoweekday() not in schedule.weekdays:
        raise InvalidCare(
            "day",
            f"{draft.day} is not one of the schedule's days {list(schedule.weekdays)}",
            code="care.day_off_schedule",
            day=str(draft.day),
        )
    with transaction(conn):
        row = conn.execute(
            "INSERT INTO care_meal_deliveries (schedule_id, compound_id, flat, grid_id, day,"
            " done, note, recorded_by, recorded_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (schedule_id, day) DO NOTHING RETURNING id",
            (
                schedule.id,
                schedule.compound,
                schedule.flat,
                schedule.grid,
                draft.day,
                draft.done,
                draft.note,
                actor,
                now,
            ),
        ).fetchone()
    if row is None:
        raise InvalidCare(
            "day",
            f"the delivery of {draft.day} is recorded already",
            code="care.recorded_already",
            day=str(draft.day),
        )
    return _one_delivery(conn, int(row[0]))


def _one_delivery(conn: Conn, delivery_id: int) -> Delivery:
    with transaction(conn):
        row = conn.execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM care_meal_deliveries d"
            " JOIN care_meal_schedules s ON s.id = d.schedule_id WHERE d.id = %s",
            (delivery_id,),
        ).fetchone()
    assert row is not None
    return _delivery(row)


def deliveries(
    conn: Conn,
    scope: registry.Scope,
    *,
    compound: str,
    grid: str | None,
    missed_only: bool,
    limit: int,
    offset: int,
) -> tuple[list[Delivery], int]:
    """A compound's recorded deliveries the reader sees, newest day first."""
    where = scoped("d", scope) + (" AND NOT d.done" if missed_only else "")
    params = {"compound": compound, "grid": grid, **scope.params()}
    with transaction(conn):
        found = conn.execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM care_meal_deliveries d"
            f" JOIN care_meal_schedules s ON s.id = d.schedule_id WHERE {where}"
            " ORDER BY d.day DESC, d.id DESC LIMIT %(limit)s OFFSET %(offset)s",
            {**params, "limit": limit, "offset": offset},
        ).fetchall()
        total = conn.execute(
            f"SELECT count(*) FROM care_meal_deliveries d WHERE {where}", params
        ).fetchone()
    return [_delivery(r) for r in found], int(total[0]) if total else 0


def _schedule(r: Sequence[Any]) -> MealSchedule:
    return MealSchedule(
        id=int(r[0]),
        compound=str(r[1]),
        flat=str(r[2]),
        grid=r[3],
        meal=Meal(r[4]),
        weekdays=tuple(int(d) for d in r[5]),
        deliverer=str(r[6]),
        starts_on=r[7],
        created_by=str(r[8]),
        created_at=r[9],
        ended_at=r[10],
        done=int(r[11]),
        missed=int(r[12]),
    )


def _delivery(r: Sequence[Any]) -> Delivery:
    return Delivery(
        id=int(r[0]),
        schedule_id=int(r[1]),
        compound=str(r[2]),
        flat=str(r[3]),
        grid=r[4],
        meal=Meal(r[5]),
        day=r[6],
        done=bool(r[7]),
        note=r[8],
        recorded_by=str(r[9]),
        recorded_at=r[10],
    )
