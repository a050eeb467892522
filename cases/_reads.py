"""What others read of the cases in bulk: the list under a reader's `registry.Scope`,
the facts that decide who sees a case in the live feed, which cases are elderly-care
alarms (health data), the feed's head, and counts for the monitoring gauges. Single
cases and their history are `get_case` and `case_events`. A device's kind comes from
the registry's `device_places` view. psycopg's errors leave as `CaseStoreError`."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

import registry
from cases._db import Conn, translated
from cases._model import LADDER, OPEN_STATES, Assignment, Case, Rung, Source, State
from cases._store import CASE_COLUMNS, case_of
from domain import Severity

_OPEN_STATES = sorted(s.value for s in OPEN_STATES)

_SENT_TO_CARE_CENTRE = (
    "EXISTS (SELECT 1 FROM case_assignments a WHERE a.case_id = c.id"
    " AND a.party_kind = 'elderly_care_centre')"
)
# An elderly-care alarm: opened by an elder device's alarm, or a flat's (no device).
_ELDERLY_ALARM = (
    "c.source = 'alarm' AND ((c.device_id IS NULL AND c.flat IS NOT NULL) OR EXISTS"
    " (SELECT 1 FROM device_places d WHERE d.id = c.device_id AND d.kind = 'elder'))"
)
_LIST = """
FROM cases c
WHERE (%(compound)s::text IS NULL OR c.compound_id = %(compound)s)
  AND (%(state)s::text IS NULL OR c.state = %(state)s)
  AND (%(category)s::text IS NULL OR (CASE WHEN %(neutral)s::text IS NOT NULL
        AND {elderly} AND c.category <> ALL(%(plain)s)
        THEN %(neutral)s ELSE c.category END) = %(category)s)
  AND (%(severity)s::text IS NULL OR c.severity = %(severity)s)
  AND (%(source)s::text IS NULL OR c.source = %(source)s)
  AND (%(grid)s::text IS NULL OR c.grid_id = %(grid)s)
  AND (%(open)s::boolean IS NULL OR (c.state = ANY(%(open_states)s)) = %(open)s)
  AND (%(start)s::timestamptz IS NULL OR c.opened_at >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR c.opened_at < %(end)s)
  AND (%(party)s::text IS NULL OR EXISTS (SELECT 1 FROM case_assignments p
        WHERE p.case_id = c.id AND coalesce(p.party_id,
            p.party_kind || ':' || coalesce(p.grid_id, '-')) = %(party)s))
  AND (%(overdue_at)s::timestamptz IS NULL OR (c.state NOT IN ('cancelled', 'merged')
        AND (c.resolved_at > c.resolve_due
             OR (c.resolved_at IS NULL AND c.resolve_due < %(overdue_at)s))))
  AND (%(escalated)s::boolean IS NULL OR (c.escalations > 0) = %(escalated)s)
  AND (%(level)s::smallint IS NULL OR c.escalation_level = %(level)s)
""".replace("{elderly}", _ELDERLY_ALARM)
# Rows per query of `iter_cases`: a page of a large export held in memory at a time.
ITER_BATCH = 500


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """What a case list is narrowed to; None: no condition. `open` selects the open
    states (or, False, the others); `start`/`end` bound `opened_at` as [start, end).
    `party` is a party id of the compound, or a grid team's `grid_team:<grid>` (the KPIs'
    party keys without the compound); `overdue_at`: the cases due (not cancelled or
    merged) not resolved by their `resolve_due`, as of that instant; `escalated`: the
    cases with (True) or without (False) an escalation; `rung`: the cases that have climbed
    to that rung of the ladder (and no further)."""

    compound: str | None = None
    state: State | None = None
    category: str | None = None
    severity: Severity | None = None
    source: Source | None = None
    grid: str | None = None
    open: bool | None = None
    start: datetime | None = None
    end: datetime | None = None
    party: str | None = None
    overdue_at: datetime | None = None
    escalated: bool | None = None
    rung: Rung | None = None

    def params(self) -> dict[str, Any]:
        enums = {"state": self.state, "severity": self.severity, "source": self.source}
        return {
            "compound": self.compound,
            "category": self.category,
            "grid": self.grid,
            "open": self.open,
            "start": self.start,
            "end": self.end,
            "party": self.party,
            "overdue_at": self.overdue_at,
            "escalated": self.escalated,
            "level": None if self.rung is None else LADDER.index(self.rung),
            **{k: None if v is None else v.value for k, v in enums.items()},
        }


@dataclass(frozen=True, slots=True)
class CaseScope:
    """What decides who sees a case in the live feed, and how: its compound and grid,
    whether an elderly care centre is assigned (the facts a `registry.Scope` tests in
    `list_cases`), and whether it is an elderly-care alarm case (health data)."""

    compound: str | None
    grid_id: str | None
    elderly: bool
    health: bool = False


@contextmanager
def _reading(doing: str) -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise translated(exc, doing) from exc


def _scope_filter(scope: registry.Scope) -> str:
    """A grid-bound reader sees the cases of their grids; an elderly-care one those
    sent to the elderly care centre."""
    where = scope.grid_filter("c.compound_id", "c.grid_id")
    if scope.elderly_only:
        where += " AND " + _SENT_TO_CARE_CENTRE
    return where


def list_cases(
    conn: Conn,
    *,
    scope: registry.Scope,
    filters: CaseFilter,
    limit: int,
    offset: int,
    renamed: tuple[str, Collection[str]] | None = None,
    before: int | None = None,
) -> tuple[list[Case], int]:
    """The cases `scope` sees that match `filters`, newest first (by id, which grows with
    `opened_at`), and how many there are in all; with `before`, only those of a smaller
    id (a keyset page: the count is still of them all). With `renamed` = (name, kept),
    the reader knows elderly-care alarm cases of categories (rule ids) other than `kept`
    only as `name`: the category filter matches them by that name, never by their own (a
    count cannot confirm a reading's rule)."""
    where = _LIST + _scope_filter(scope)
    neutral, plain = renamed if renamed is not None else (None, ())
    params = {
        **filters.params(),
        **scope.params(),
        "open_states": _OPEN_STATES,
        "neutral": neutral,
        "plain": sorted(plain),
    }
    with _reading("listing the cases failed"):
        found = conn.execute(
            f"SELECT {CASE_COLUMNS} {where}"
            + ("" if before is None else " AND c.id < %(before)s")
            + " ORDER BY c.id DESC LIMIT %(limit)s OFFSET %(offset)s",
            {**params, "limit": limit, "offset": offset, "before": before},
        ).fetchall()
        total = conn.execute(f"SELECT count(*) {where}", params).fetchone()
        assignments = _assignments(conn, [int(r[0]) for r in found])
    cases = [case_of(r, assignments.get(int(r[0]), ())) for r in found]
    return cases, int(total[0]) if total else 0


def iter_cases(
    conn: Conn,
    *,
    scope: registry.Scope,
    filters: CaseFilter,
    renamed: tuple[str, Collection[str]] | None = None,
    batch: int = ITER_BATCH,
) -> Iterator[list[Case]]:
    """Every case `scope` sees that matches `filters`, oldest first, in batches of at
    most `batch` (keyset pages by id: an export of any size holds one page at a time,
    and a case opened meanwhile is at the end, never a duplicate)."""
    where = _LIST + _scope_filter(scope) + " AND c.id > %(after)s"
    neutral, plain = renamed if renamed is not None else (None, ())
    params = {
        **filters.params(),
        **scope.params(),
        "open_states": _OPEN_STATES,
        "neutral": neutral,
        "plain": sorted(plain),
        "limit": batch,
    }
    after = 0
    while True:
        with _reading("listing the cases failed"):
            found = conn.execute(
                f"SELECT {CASE_COLUMNS} {where} ORDER BY c.id LIMIT %(limit)s",
                {**params, "after": after},
            ).fetchall()
            assignments = _assignments(conn, [int(r[0]) for r in found])
        if not found:
            return
        yield [case_of(r, assignments.get(int(r[0]), ())) for r in found]
        after = int(found[-1][0])


def _assignments(conn: Conn, ids: Sequence[int]) -> dict[int, tuple[Assignment, ...]]:
    if not ids:
        return {}
    found = conn.execute(
        "SELECT case_id, party_kind, party_id, grid_id, staff_id FROM case_assignments"
        " WHERE case_id = ANY(%s) ORDER BY case_id, assigned_at, party_kind",
        (list(ids),),
    ).fetchall()
    by_case: dict[int, list[Assignment]] = {}
    for case_id, *rest in found:
        by_case.setdefault(int(case_id), []).append(Assignment(*rest))
    return {k: tuple(v) for k, v in by_case.items()}


def elderly_alarm_cases(conn: Conn, ids: Collection[int]) -> dict[int, str]:
    """Of these cases, those opened by an elderly-care alarm (an elder device's, or a
    flat's), with their rule id: their titles and alarm values are health data."""
    with _reading("reading the cases failed"):
        found = conn.execute(
            f"SELECT c.id, c.rule_id FROM cases c WHERE c.id = ANY(%s) AND {_ELDERLY_ALARM}",
            (list(ids),),
        ).fetchall()
    return {int(case_id): str(rule or "") for case_id, rule in found}


def elderly_alarm_categories(conn: Conn, *, except_rules: Collection[str]) -> list[str]:
    """The categories (rule ids) of the elderly-care alarm cases, but for those opened
    by one of `except_rules`."""
    with _reading("reading the cases failed"):
        found = conn.execute(
            "SELECT DISTINCT c.category FROM cases c"
            f" WHERE c.rule_id <> ALL(%s) AND {_ELDERLY_ALARM}",
            (sorted(except_rules),),
        ).fetchall()
    return [str(category) for (category,) in found]


def case_scopes(conn: Conn, ids: Collection[int]) -> dict[int, CaseScope]:
    """The scope facts of these cases (one query per batch, for every reader at once)."""
    if not ids:
        return {}
    with _reading("reading the cases failed"):
        found = conn.execute(
            f"SELECT c.id, c.compound_id, c.grid_id, {_SENT_TO_CARE_CENTRE} FROM cases c"
            " WHERE c.id = ANY(%s)",
            (list(ids),),
        ).fetchall()
    health = elderly_alarm_cases(conn, ids)
    return {
        int(case_id): CaseScope(compound, grid, elderly=bool(elderly), health=case_id in health)
        for case_id, compound, grid, elderly in found
    }


def event_head(conn: Conn) -> int:
    """The id of the last committed case event (0 for none): where a feed starts."""
    with _reading("reading the case events failed"):
        found = conn.execute("SELECT coalesce(max(id), 0) FROM case_events").fetchone()
    return int(found[0]) if found else 0


def count_by_state(conn: Conn) -> dict[State, int]:
    """The cases by state, in order of the state's name; a state without a case is
    left out."""
    with _reading("counting the cases failed"):
        found = conn.execute(
            "SELECT state, count(*) FROM cases GROUP BY state ORDER BY state"
        ).fetchall()
    return {State(state): int(n) for state, n in found}
