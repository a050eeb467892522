"""The month's evaluation (考核) of a compound per grid or per party: every figure from
`cases.kpis` (never computed a second way), the overdue and escalated cases from
`cases.list_cases`, names from the registry. What the PDF shows, gathered apart from
how it is drawn.

The care programmes' figures per grid are passed in (`care`, keyed "compound/grid"):
`reports` and `care` are siblings and neither imports the other, so the layer above
both (the API, the console) asks `care.kpis_by_grid` for the month and hands the values
over; `CareCounts` is the shape this package reads of them (`care.CareKpis` has it)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import cases
import registry
from registry import Conn
from reports._month import Month

# Cases listed per section and list; a section with more says how many it left out.
MAX_LISTED = 100
# Registry pages read for names: a compound has far fewer grids, parties and staff.
_NAMES_LIMIT = 500

Redact = Callable[[Sequence[cases.Case]], Sequence[cases.Case]]


class CareCounts(Protocol):
    """A grid's care programmes as the report prints them: due and overdue when it was
    generated, visits and meal deliveries in the month."""

    @property
    def plans_active(self) -> int: ...
    @property
    def visits_due(self) -> int: ...
    @property
    def visits_overdue(self) -> int: ...
    @property
    def visits_recorded(self) -> int: ...
    @property
    def on_time_rate(self) -> float | None: ...
    @property
    def follow_ups_open(self) -> int: ...
    @property
    def deliveries_done(self) -> int: ...
    @property
    def deliveries_missed(self) -> int: ...
    @property
    def deliveries_unrecorded(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Listed:
    cases: tuple[cases.Case, ...]
    total: int


@dataclass(frozen=True, slots=True)
class Section:
    key: str  # the KPI key, e.g. "c1/g1" or "c1/p-property"
    name: str
    totals: cases.Kpi | None  # None: no case received this month
    categories: tuple[cases.Kpi, ...]
    staff: tuple[tuple[str, cases.Kpi], ...]  # (the person's name, their KPIs)
    overdue: Listed | None  # None: cases without a grid, not listable by grid
    escalated: Listed | None
    care: CareCounts | None = None  # a grid's care programmes, when given and it has any


@dataclass(frozen=True, slots=True)
class Evaluation:
    compound: str
    compound_name: str
    month: Month
    by: cases.KpiDimension
    timezone: str
    since: datetime
    until: datetime
    generated_at: datetime
    overall: cases.Kpi | None
    sections: tuple[Section, ...]
    # The grids' care programmes (the grid's name, its figures), when they were given.
    care: tuple[tuple[str, CareCounts], ...] = ()


def evaluate(
    conn: Conn,
    *,
    compound: str,
    month: Month,
    by: cases.KpiDimension,
    now: datetime,
    scope: registry.Scope = registry.EVERYTHING,
    withheld: Sequence[str] = (),
    withheld_as: str = "withheld",
    renamed: tuple[str, Collection[str]] | None = None,
    redact: Redact = lambda found: found,
    care: Mapping[str, CareCounts] | None = None,
) -> Evaluation:
    """The evaluation of `compound`'s cases received in `month` (in the compound's time
    zone) that `scope` sees, one section per grid (every grid in scope, with or without
    cases) or per party (every party that received a case); with `care` ("compound/grid"
    -> the grid's care figures of the month), a table of them, and one per grid section."""
    if by not in (cases.KpiDimension.GRID, cases.KpiDimension.PARTY):
        raise ValueError("the evaluation is by grid or by party")
    zone = registry.time_zone(conn, compound)
    since, until = month.bounds(zone)

    def kpis(
        dimension: cases.KpiDimension, within: tuple[cases.KpiDimension, str] | None = None
    ) -> list[cases.Kpi]:
        return cases.kpis(
            conn,
            since=since,
            until=until,
            by=dimension,
            compound=compound,
            scope=scope,
            withheld=withheld,
            withheld_as=withheld_as,
            within=within,
        )

    overall = kpis(cases.KpiDimension.COMPOUND)
    rows = {k.key: k for k in kpis(by)}
    names = _names(conn, compound, by, scope)
    keys = sorted(set(rows) | (set(names) if by is cases.KpiDimension.GRID else set()))
    staff = _staff_names(conn, compound, scope)
    lister = _Lister(conn, compound, since, until, now, scope, renamed, redact)
    sections = []
    for key in keys:
        within = (by, key)
        sections.append(
            Section(
                key=key,
                name=names.get(key) or _fallback_name(key),
                totals=rows.get(key),
                categories=tuple(kpis(cases.KpiDimension.CATEGORY, within)),
                staff=tuple(
                    (staff.get(k.key, k.key.split("/", 1)[-1]), k)
                    for k in kpis(cases.KpiDimension.STAFF, within)
                ),
                overdue=lister.listed(by, key, overdue=True),
                escalated=lister.listed(by, key, overdue=False),
                care=(care or {}).get(key) if by is cases.KpiDimension.GRID else None,
            )
        )
    if by is cases.KpiDimension.GRID or not care:
        grid_names = names
    else:
        grid_names = _names(conn, compound, cases.KpiDimension.GRID, scope)
    return Evaluation(
        compound=compound,
        compound_name=_compound_name(conn, compound),
        month=month,
        by=by,
        timezone=zone,
        since=since,
        until=until,
        generated_at=now,
        overall=overall[0] if overall else None,
        sections=tuple(sections),
        care=tuple(
            (grid_names.get(key) or _fallback_name(key), figures)
            for key, figures in sorted((care or {}).items())
        ),
    )


@dataclass(frozen=True, slots=True)
class _Lister:
    conn: Conn
    compound: str
    since: datetime
    until: datetime
    now: datetime
    scope: registry.Scope
    renamed: tuple[str, Collection[str]] | None
    redact: Redact

    def listed(self, by: cases.KpiDimension, key: str, *, overdue: bool) -> Listed | None:
        local = key.split("/", 1)[1]
        if by is cases.KpiDimension.GRID and local == "-":
            return None
        by_grid = by is cases.KpiDimension.GRID
        filters = cases.CaseFilter(
            compound=self.compound,
            start=self.since,
            end=self.until,
            overdue_at=self.now if overdue else None,
            escalated=None if overdue else True,
            grid=local if by_grid else None,
            party=None if by_grid else local,
        )
        found, total = cases.list_cases(
            self.conn,
            scope=self.scope,
            filters=filters,
            limit=MAX_LISTED,
            offset=0,
            renamed=self.renamed,
        )
        return Listed(tuple(self.redact(sorted(found, key=lambda c: c.id))), total)


def _names(
    conn: Conn, compound: str, by: cases.KpiDimension, scope: registry.Scope
) -> dict[str, str]:
    if by is cases.KpiDimension.GRID:
        grids, _ = registry.grid_page(conn, scope, compound=compound, limit=_NAMES_LIMIT, offset=0)
        return {f"{compound}/{g['id']}": str(g["name"] or g["id"]) for g in grids}
    parties, _ = registry.party_page(
        conn, scope, compound=compound, kind=None, limit=_NAMES_LIMIT, offset=0
    )
    return {f"{compound}/{p['id']}": str(p["name"]) for p in parties}


def _staff_names(conn: Conn, compound: str, scope: registry.Scope) -> dict[str, str]:
    found, _ = registry.staff_page(
        conn, scope, compound=compound, role=None, limit=_NAMES_LIMIT, offset=0
    )
    return {f"{compound}/{s['id']}": str(s["name"]) for s in found}


def _compound_name(conn: Conn, compound: str) -> str:
    page, _ = registry.compound_page(
        conn, registry.EVERYTHING, compound=compound, limit=1, offset=0
    )
    return str(page[0]["name"]) if page else compound


def _fallback_name(key: str) -> str:
    """A grid team's key `c1/grid_team:g1`, or a grid id the registry no longer has."""
    return key.split("/", 1)[1]
