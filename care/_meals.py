"""Meal deliveries in SQL: a delivery schedule per elderly household (weekdays, meal,
deliverer), one record per scheduled day (done or missed, once), and the lists under a
reader's `registry.Scope`. A missed delivery is what the sweep turns into a case.

A scheduled day nobody recorded is "not recorded" once its meal's window has closed
(`MEAL_WINDOW_CLOSES`, the compound's local time): a day on the schedule's weekdays, on
or after `starts_on`, whose window closed after the schedule was created and before it
ended, with no record. `unrecorded` finds them for the lists, the KPIs and the sweep."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import registry
from care import _household as household
from care._db import Conn, transaction
from care._errors import CareNotFound, InvalidCare
from care._model import (
    DELIVERY_BACKDATE,
    MEAL_TAG,
    MEAL_WINDOW_CLOSES,
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


# A scheduled day's window close as an instant: the local date and time in the zone.
_CLOSES = "((g.day::date + w.closes) AT TIME ZONE %(tz)s)"
_UNRECORDED = f"""
SELECT s.id, s.compound_id, s.flat, s.grid_id, s.meal, g.day::date, {_CLOSES}
FROM care_meal_schedules s
JOIN (VALUES ('breakfast', %(breakfast)s::time), ('lunch', %(lunch)s::time),
             ('dinner', %(dinner)s::time)) w(meal, closes) ON w.meal = s.meal
CROSS JOIN LATERAL generate_series(greatest(s.starts_on, %(first)s::date)::timestamp,
                                   %(last)s::date::timestamp, interval '1 day') g(day)
WHERE {{where}}
  AND extract(isodow FROM g.day)::smallint = ANY(s.weekdays)
  AND {_CLOSES} <= %(closed_by)s AND {_CLOSES} > s.created_at
  AND (s.ended_at IS NULL OR {_CLOSES} <= s.ended_at)
  AND NOT EXISTS (SELECT 1 FROM care_meal_deliveries d
                  WHERE d.schedule_id = s.id AND d.day = g.day::date)
ORDER BY g.day, s.id
"""


@dataclass(frozen=True, slots=True)
class Unrecorded:
    """A scheduled day with nothing recorded after its window closed (at `closed_at`)."""

    schedule_id: int
    compound: str
    flat: str
    grid: str | None
    meal: str
    day: date
    closed_at: datetime


def unrecorded(
    conn: Conn,
    scope: registry.Scope,
    *,
    compound: str,
    grid: str | None,
    first: date,
    closed_by: datetime,
    schedule_id: int | None = None,
) -> list[Unrecorded]:
    """The compound's scheduled days from `first` whose window closed by `closed_by`
    with no record, that the reader sees (one schedule's with `schedule_id`)."""
    zone = registry.time_zone(conn, compound)
    where = scoped("s", scope) + (" AND s.id = %(schedule)s" if schedule_id is not None else "")
    params = {
        "compound": compound,
        "grid": grid,
        "schedule": schedule_id,
        "tz": zone,
        "first": first,
        "last": closed_by.astimezone(ZoneInfo(zone)).date(),
        "closed_by": closed_by,
        **{meal: closes for meal, closes in MEAL_WINDOW_CLOSES.items()},
        **scope.params(),
    }
    with transaction(conn):
        rows = conn.execute(_UNRECORDED.format(where=where), params).fetchall()
    return [Unrecorded(int(r[0]), str(r[1]), str(r[2]), r[3], str(r[4]), r[5], r[6]) for r in rows]


def _recordable(conn: Conn, compound: str, now: datetime) -> date:
    """The first day a delivery may still be recorded for (the compound's date)."""
    return now.astimezone(ZoneInfo(registry.time_zone(conn, compound))).date() - DELIVERY_BACKDATE


def _with_unrecorded(
    conn: Conn, found: list[MealSchedule], scope: registry.Scope, now: datetime | None
) -> list[MealSchedule]:
    if now is None or not found:
        return found
    compound = found[0].compound
    days: dict[int, list[date]] = {}
    ids = {s.id for s in found}
    for u in unrecorded(
        conn,
        scope,
        compound=compound,
        grid=None,
        first=_recordable(conn, compound, now),
        closed_by=now,
        schedule_id=found[0].id if len(found) == 1 else None,
    ):
        if u.schedule_id in ids:
            days.setdefault(u.schedule_id, []).append(u.day)
    return [replace(s, unrecorded=tuple(days.get(s.id, ()))) for s in found]


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
    return get_schedule(conn, draft.compound, int(row[0]), now=now)


def get_schedule(
    conn: Conn, compound: str, schedule_id: int, *, now: datetime | None = None
) -> MealSchedule:
    """One schedule; with `now`, its days not recorded as of then."""
    with transaction(conn):
        row = conn.execute(
            f"SELECT {_SCHEDULE_COLUMNS} FROM care_meal_schedules s"
            " WHERE s.id = %s AND s.compound_id = %s",
            (schedule_id, compound),
        ).fetchone()
    if row is None:
        raise CareNotFound("meal schedule", schedule_id)
    return _with_unrecorded(conn, [_schedule(row)], registry.EVERYTHING, now)[0]


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
    return get_schedule(conn, compound, schedule_id, now=now)


def schedules(
    conn: Conn,
    scope: registry.Scope,
    *,
    compound: str,
    grid: str | None,
    limit: int,
    offset: int,
    now: datetime | None = None,
) -> tuple[list[MealSchedule], int]:
    """A compound's current delivery schedules the reader sees, by flat; with `now`,
    each with its days not recorded as of then."""
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
    listed = _with_unrecorded(conn, [_schedule(r) for r in found], scope, now)
    return listed, int(total[0]) if total else 0


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
