"""The care KPIs of a compound (or one grid) under a reader's `registry.Scope`: plans
active, visits due and overdue now, visits made and on time since a date, follow-ups
open, meal deliveries done, missed and not recorded (a scheduled day whose window closed
with no record). Counts only: no household is named. `kpis_by_grid` gives the same
figures for every grid the reader sees at once, over [since, until), for the main KPIs
and the monthly evaluation (which the API and the console compose: `reports` and `care`
are siblings)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
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


GridKey = tuple[str, str | None]  # (compound, grid); None: households outside every grid
_INSTANT = timedelta(microseconds=1)  # `until` is excluded: its day is the one before it


def _grouped_where(alias: str, scope: registry.Scope) -> str:
    return f"(%(compound)s::text IS NULL OR {alias}.compound_id = %(compound)s)" + (
        scope.address_filter(f"{alias}.compound_id", f"{alias}.flat")
    )


_BY_GRID = {
    "plans": "SELECT x.compound_id, x.grid_id, count(*),"
    " count(*) FILTER (WHERE due >= %(now)s AND due <= %(soon)s),"
    " count(*) FILTER (WHERE due < %(now)s)"
    " FROM (SELECT p.compound_id, p.grid_id, {due} AS due FROM care_plans p"
    " WHERE {plans} AND {active}) x GROUP BY 1, 2",
    "follow": "SELECT f.compound_id, f.grid_id, count(*),"
    " count(*) FILTER (WHERE f.due_at >= %(now)s AND f.due_at <= %(soon)s),"
    " count(*) FILTER (WHERE f.due_at < %(now)s)"
    " FROM care_follow_ups f WHERE {follow} AND {open} GROUP BY 1, 2",
    "visits": "SELECT v.compound_id, v.grid_id, count(*),"
    " count(*) FILTER (WHERE v.visited_at <= v.due_at) FROM care_visits v WHERE {visits}"
    " AND v.visited_at >= %(since)s AND v.visited_at < %(until)s GROUP BY 1, 2",
}
# Per compound: a delivery's day is the compound's date, compared with the local dates
# of `since` and of the last instant before `until`.
_MEALS_BY_GRID = (
    "SELECT d.compound_id, d.grid_id, count(*) FILTER (WHERE d.done),"
    " count(*) FILTER (WHERE NOT d.done) FROM care_meal_deliveries d WHERE {meals}"
    " AND d.day >= %(first)s AND d.day <= %(last)s GROUP BY 1, 2"
)


def kpis_by_grid(
    conn: Conn,
    scope: registry.Scope,
    *,
    compound: str | None,
    now: datetime,
    since: datetime,
    until: datetime,
) -> list[CareKpis]:
    """The care KPIs of every grid (of `compound`, or of every compound) the reader sees
    that has a plan, a follow-up or a meal schedule: due and overdue as of `now`, visits
    and deliveries in [since, until). By (compound, grid)."""
    params = {
        "compound": compound,
        "now": now,
        "soon": now + DUE_SOON,
        "since": since,
        "until": until,
        **scope.params(),
    }
    sql = {
        name: q.format(
            due=DUE,
            active=ACTIVE,
            open=_OPEN_FOLLOW_UP,
            plans=_grouped_where("p", scope),
            follow=_grouped_where("f", scope),
            visits=_grouped_where("v", scope),
            meals=_grouped_where("d", scope),
        )
        for name, q in _BY_GRID.items()
    }
    missing: dict[GridKey, int]
    with transaction(conn):
        found = {name: _by_key(conn.execute(q, params).fetchall()) for name, q in sql.items()}
        compounds = conn.execute(
            "SELECT DISTINCT s.compound_id FROM care_meal_schedules s WHERE "
            + _grouped_where("s", scope),
            params,
        ).fetchall()
    found["meals"], missing = {}, {}
    meals = _MEALS_BY_GRID.format(meals=_grouped_where("d", scope))
    for (c,) in compounds:
        zone = ZoneInfo(registry.time_zone(conn, c))
        first = since.astimezone(zone).date()
        last = (until - _INSTANT).astimezone(zone).date()
        with transaction(conn):
            rows = conn.execute(meals, {**params, "compound": c, "first": first, "last": last})
            found["meals"].update(_by_key(rows.fetchall()))
        for u in unrecorded(conn, scope, compound=c, grid=None, first=first, closed_by=now):
            if u.closed_at < until:
                missing[(c, u.grid)] = missing.get((c, u.grid), 0) + 1
    keys = set(missing).union(*(set(f) for f in found.values()))
    return [
        _grid_kpis(key, found, missing.get(key, 0), since, until)
        for key in sorted(keys, key=lambda k: (k[0], k[1] or ""))
    ]


def _by_key(rows: Iterable[tuple[Any, ...]]) -> dict[GridKey, tuple[int, ...]]:
    return {(str(r[0]), r[1]): tuple(int(n) for n in r[2:]) for r in rows}


def _grid_kpis(
    key: GridKey,
    found: dict[str, dict[GridKey, tuple[int, ...]]],
    unrecorded_days: int,
    since: datetime,
    until: datetime,
) -> CareKpis:
    p = found["plans"].get(key, (0, 0, 0))
    f = found["follow"].get(key, (0, 0, 0))
    v = found["visits"].get(key, (0, 0))
    d = found["meals"].get(key, (0, 0))
    return CareKpis(
        compound=key[0],
        grid=key[1],
        since=since,
        until=until,
        plans_active=p[0],
        visits_due=p[1] + f[1],
        visits_overdue=p[2] + f[2],
        visits_recorded=v[0],
        visits_on_time=v[1],
        follow_ups_open=f[0],
        deliveries_done=d[0],
        deliveries_missed=d[1],
        deliveries_unrecorded=unrecorded_days,
    )
