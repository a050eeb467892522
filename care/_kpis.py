"""The care KPIs of a compound (or one grid) under a reader's `registry.Scope`: plans
active, visits due and overdue now, visits made and on time since a date, follow-ups
open, meal deliveries done, missed and not recorded (a scheduled day whose window closed
with no record). Counts only: no household is named."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import registry
from care._db import Conn, transaction
from care._meals import unrecorded
from care._model import DUE_SOON, CareKpis
from care._store import ACTIVE, DUE, scoped

_OPEN_FOLLOW_UP = "NOT EXISTS (SELECT 1 FROM care_visits v WHERE v.follow_up_id = f.id)"


def kpis(
    conn: Conn,
    scope: registry.Scope,
    *,
    compound: str,
    grid: str | None,
    now: datetime,
    since: datetime,
) -> CareKpis:
    params = {
        "compound": compound,
        "grid": grid,
        "now": now,
        "soon": now + DUE_SOON,
        "since": since,
        **scope.params(),
    }
    plans, follow, visits, meals = (
        scoped("p", scope),
        scoped("f", scope),
        scoped("v", scope),
        scoped("d", scope),
    )
    with transaction(conn):
        p = _counts(
            conn,
            "SELECT count(*), count(*) FILTER (WHERE due >= %(now)s AND due <= %(soon)s),"
            " count(*) FILTER (WHERE due < %(now)s)"
            f" FROM (SELECT {DUE} AS due FROM care_plans p WHERE {plans} AND {ACTIVE}) x",
            params,
        )
        f = _counts(
            conn,
            "SELECT count(*), count(*) FILTER (WHERE f.due_at >= %(now)s"
            " AND f.due_at <= %(soon)s), count(*) FILTER (WHERE f.due_at < %(now)s)"
            f" FROM care_follow_ups f WHERE {follow} AND {_OPEN_FOLLOW_UP}",
            params,
        )
        v = _counts(
            conn,
            "SELECT count(*), count(*) FILTER (WHERE v.visited_at <= v.due_at)"
            f" FROM care_visits v WHERE {visits} AND v.visited_at >= %(since)s",
            params,
        )
        d = _counts(
            conn,
            "SELECT count(*) FILTER (WHERE d.done), count(*) FILTER (WHERE NOT d.done)"
            f" FROM care_meal_deliveries d WHERE {meals} AND d.day >= %(since)s::date",
            params,
        )
    first = since.astimezone(ZoneInfo(registry.time_zone(conn, compound))).date()
    missing = unrecorded(conn, scope, compound=compound, grid=grid, first=first, closed_by=now)
    return CareKpis(
        compound=compound,
        grid=grid,
        since=since,
        plans_active=int(p[0]),
        visits_due=int(p[1]) + int(f[1]),
        visits_overdue=int(p[2]) + int(f[2]),
        visits_recorded=int(v[0]),
        visits_on_time=int(v[1]),
        follow_ups_open=int(f[0]),
        deliveries_done=int(d[0]),
        deliveries_missed=int(d[1]),
        deliveries_unrecorded=len(missing),
    )


def _counts(conn: Conn, query: str, params: dict[str, Any]) -> tuple[int, ...]:
    row = conn.execute(query, params).fetchone()
    assert row is not None  # an aggregate always has its one row
    return tuple(int(n) for n in row)
