"""Evaluation (考核): KPIs per party, grid, category or compound, and per period.

The population is the cases *received* in [since, until) (by `opened_at`), with
their outcome as it stands when asked. For a group G of those cases:

    received          = |G|
    due               = |{c in G : c not cancelled}|                  (应结案)
    closed            = |{c in G : c.state = closed}|                 (结案)
    closed_on_time    = |{c in G : closed and c.resolved_at <= c.resolve_due}|  (按期结案)
    closure_rate      = closed / due                                  (结案率)
    on_time_rate      = closed_on_time / due                          (按期结案率)
    ack_mean_s        = mean(acknowledged_at - opened_at) over due cases acknowledged
    ack_median_s      = percentile_cont(0.5) of the same durations (the median)
    ack_p90_s         = percentile_cont(0.9) of the same durations (linear interpolation)
    resolve_mean_s    = mean(resolved_at - opened_at) over due cases resolved or closed
    resolve_median_s  = percentile_cont(0.5) of the same durations
    resolve_p90_s     = percentile_cont(0.9) of the same durations
    escalations       = sum of escalation records over due cases
    rated             = |{c in G : due and rated}|
    satisfaction_mean = mean(rating) over rated cases (1-5)
    satisfied_rate    = |{rated c : rating >= 4}| / rated                 (满意率)

`acknowledged_at` is the first acknowledgement; `resolved_at` the latest resolution
(a reopened case's clock runs on); `resolve_due` is the SLA promise made at intake and
never moves, so a reopened case resolved after it is late. `opened_at` is the alarm's
own time for alarm-opened cases. A rate whose denominator is 0 is None.

Per party, a case counts once for every party it was dispatched to (an elder's alarm
counts for the care centre and for the grid team), so party rows do not add up to the
compound's. A party's key is `<compound>/<party>`, a grid team's
`<compound>/grid_team:<grid>`; a grid's `<compound>/<grid>`.

Per staff member (`<compound>/<staff id>`, the per-person KPIs of the 考核), a case
counts for every person who handled it by name: the named handler of one of its
parties (an assignment's staff member: a grid team's worker, or whom it was assigned
to), its claimant (认领) and its first responsible (首问负责), each once. `within`
narrows any dimension to the cases of one key of another (the staff of one grid, the
categories of one party).

Computed by a query over the `case_facts` view in both storage modes. A TimescaleDB
continuous aggregate would be wrong here: a case keeps changing for days after the
bucket it was opened in, so old buckets would serve stale closure and satisfaction
figures until refreshed, and p90 and the join with assignments are not supported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg

import registry
from cases._db import Conn, translated
from cases._errors import InvalidRequest

Period = Literal["day", "week", "month", "quarter", "year"]


class KpiDimension(StrEnum):
    PARTY = "party"
    GRID = "grid"
    CATEGORY = "category"
    COMPOUND = "compound"
    STAFF = "staff"


# The people who handled a case by name, each once (see the module's docstring).
_HANDLERS = (
    "SELECT a.staff_id FROM case_assignments a WHERE a.case_id = {case} AND a.staff_id IS NOT NULL"
    " UNION SELECT c.claimed_by FROM cases c WHERE c.id = {case} AND c.claimed_by IS NOT NULL"
    " UNION SELECT c.first_responsible FROM cases c"
    " WHERE c.id = {case} AND c.first_responsible IS NOT NULL"
)
_PARTY_KEY = (
    "{f}.compound_id || '/'"
    " || coalesce({a}.party_id, {a}.party_kind || ':' || coalesce({a}.grid_id, '-'))"
)
_JOINS = {
    KpiDimension.PARTY: "JOIN case_assignments a ON a.case_id = f.case_id",
    KpiDimension.STAFF: "JOIN LATERAL ({handlers}) h(staff_id) ON true".format(
        handlers=_HANDLERS.format(case="f.case_id")
    ),
}
# `within`: the cases of one key of a dimension, whatever the rows are grouped by.
_WITHIN = {
    KpiDimension.PARTY: (
        " AND EXISTS (SELECT 1 FROM case_assignments w WHERE w.case_id = f.case_id"
        " AND " + _PARTY_KEY.format(f="f", a="w") + " = %(within)s)"
    ),
    KpiDimension.GRID: " AND f.compound_id || '/' || coalesce(f.grid_id, '-') = %(within)s",
    KpiDimension.CATEGORY: " AND f.category = %(within)s",
    KpiDimension.COMPOUND: " AND f.compound_id = %(within)s",
    KpiDimension.STAFF: (
        " AND f.compound_id || '/' || %(within_staff)s = %(within)s AND %(within_staff)s IN ("
        + _HANDLERS.format(case="f.case_id")
        + ")"
    ),
}

_KEYS = {
    # Party, grid and staff ids repeat across compounds: every key names its compound.
    KpiDimension.PARTY: _PARTY_KEY.format(f="f", a="a"),
    KpiDimension.GRID: "f.compound_id || '/' || coalesce(f.grid_id, '-')",
    KpiDimension.CATEGORY: (
        "CASE WHEN f.category = ANY(%(withheld)s) THEN %(withheld_as)s ELSE f.category END"
    ),
    KpiDimension.COMPOUND: "f.compound_id",
    KpiDimension.STAFF: "f.compound_id || '/' || h.staff_id",
}


@dataclass(frozen=True, slots=True)
class Kpi:
    key: str
    period: datetime | None  # the bucket's start, or None when not bucketed
    received: int
    due: int
    closed: int
    closed_on_time: int
    closure_rate: float | None
    on_time_rate: float | None
    ack_mean_s: float | None
    ack_p90_s: float | None
    resolve_mean_s: float | None
    resolve_p90_s: float | None
    escalations: int
    rated: int
    satisfaction_mean: float | None
    satisfied_rate: float | None
    ack_median_s: float | None
    resolve_median_s: float | None


_SQL = """
SELECT {key} AS key, {bucket} AS period,
    count(*) AS received,
    count(*) FILTER (WHERE NOT f.cancelled) AS due,
    count(*) FILTER (WHERE f.closed) AS closed,
    count(*) FILTER (WHERE f.closed_on_time) AS closed_on_time,
    count(*) FILTER (WHERE f.closed)::float8
        / nullif(count(*) FILTER (WHERE NOT f.cancelled), 0) AS closure_rate,
    count(*) FILTER (WHERE f.closed_on_time)::float8
        / nullif(count(*) FILTER (WHERE NOT f.cancelled), 0) AS on_time_rate,
    avg(f.ack_s) FILTER (WHERE NOT f.cancelled) AS ack_mean_s,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY f.ack_s)
        FILTER (WHERE NOT f.cancelled) AS ack_p90_s,
    avg(f.resolve_s) FILTER (WHERE NOT f.cancelled) AS resolve_mean_s,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY f.resolve_s)
        FILTER (WHERE NOT f.cancelled) AS resolve_p90_s,
    coalesce(sum(f.escalations) FILTER (WHERE NOT f.cancelled), 0) AS escalations,
    count(f.rating) FILTER (WHERE NOT f.cancelled) AS rated,
    avg(f.rating) FILTER (WHERE NOT f.cancelled)::float8 AS satisfaction_mean,
    count(*) FILTER (WHERE f.rating >= 4 AND NOT f.cancelled)::float8
        / nullif(count(f.rating) FILTER (WHERE NOT f.cancelled), 0) AS satisfied_rate,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY f.ack_s)
        FILTER (WHERE NOT f.cancelled) AS ack_median_s,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY f.resolve_s)
        FILTER (WHERE NOT f.cancelled) AS resolve_median_s
FROM case_facts f {join}
WHERE f.opened_at >= %(since)s AND f.opened_at < %(until)s
    AND (%(compound)s::text IS NULL OR f.compound_id = %(compound)s){scope}{within}
GROUP BY 1, 2
ORDER BY 1, 2
"""


def kpis(
    conn: Conn,
    *,
    since: datetime,
    until: datetime,
    by: KpiDimension,
    period: Period | None = None,
    timezone: str = "UTC",
    compound: str | None = None,
    scope: registry.Scope = registry.EVERYTHING,
    withheld: Sequence[str] = (),
    withheld_as: str = "withheld",
    within: tuple[KpiDimension, str] | None = None,
) -> list[Kpi]:
    """The KPIs of the cases received in [since, until) that `scope` sees (a grid-bound
    reader: the cases of their grids; an elderly-care one: those sent to the care
    centre), one row per key (and period). By category, the `withheld` categories count
    under the one key `withheld_as` (what a reader may count but not name). `within`
    (dimension, key) keeps the cases of that key only, e.g. (GRID, "c1/g1")."""
    if until <= since:
        raise InvalidRequest("until", "must be after since")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidRequest("timezone", f"{timezone!r} is not a known time zone") from exc
    bucket = (
        "NULL::timestamptz" if period is None else "date_trunc(%(period)s, f.opened_at, %(tz)s)"
    )
    query = _SQL.format(
        key=_KEYS[by],
        bucket=bucket,
        join=_JOINS.get(by, ""),
        scope=_scope_filter(scope),
        within="" if within is None else _WITHIN[within[0]],
    )
    params: dict[str, Any] = {
        "since": since,
        "until": until,
        "compound": compound,
        "period": period,
        "tz": timezone,
        **scope.params(),
        "withheld": list(withheld),
        "withheld_as": withheld_as,
        "within": None if within is None else within[1],
        "within_staff": None if within is None else within[1].split("/", 1)[-1],
    }
    try:
        rows = conn.execute(query, params).fetchall()
    except psycopg.Error as exc:
        raise translated(exc, "the KPI query failed") from exc
    return [Kpi(*_numbers(r)) for r in rows]


def _scope_filter(scope: registry.Scope) -> str:
    where = scope.grid_filter("f.compound_id", "f.grid_id")
    if scope.elderly_only:
        where += (
            " AND EXISTS (SELECT 1 FROM case_assignments x WHERE x.case_id = f.case_id"
            " AND x.party_kind = 'elderly_care_centre')"
        )
    return where


def _numbers(row: tuple[Any, ...]) -> list[Any]:
    """psycopg gives numeric for avg over integers and float8 for the rest: all floats."""
    return [
        float(v) if i >= 6 and v is not None and not isinstance(v, int) else v
        for i, v in enumerate(row)
    ]
