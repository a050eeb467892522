"""Cases read for the API (a list with filters and the caller's scope) and the stream's
case half. Everything that changes a case goes through `cases.Workflow`; single cases
and their history through `cases.get_case` / `cases.case_events`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api._access import User
from api._db import Conn, row, rows
from cases import OPEN_STATES, Case

_OPEN_STATES = sorted(s.value for s in OPEN_STATES)

_ELDERLY = (
    "EXISTS (SELECT 1 FROM case_assignments a WHERE a.case_id = c.id"
    " AND a.party_kind = 'elderly_care_centre')"
)
_LIST = """
FROM cases c
WHERE (%(compound)s::text IS NULL OR c.compound_id = %(compound)s)
  AND (%(state)s::text IS NULL OR c.state = %(state)s)
  AND (%(category)s::text IS NULL OR c.category = %(category)s)
  AND (%(severity)s::text IS NULL OR c.severity = %(severity)s)
  AND (%(source)s::text IS NULL OR c.source = %(source)s)
  AND (%(grid)s::text IS NULL OR c.grid_id = %(grid)s)
  AND (%(open)s::boolean IS NULL OR (c.state = ANY(%(open_states)s)) = %(open)s)
  AND (%(start)s::timestamptz IS NULL OR c.opened_at >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR c.opened_at < %(end)s)
"""
_COLUMNS = (
    "c.id, c.compound_id AS compound, c.source, c.category, c.severity, c.title, c.state,"
    " c.version, c.opened_at, c.ack_due, c.resolve_due, c.escalation_level, c.description,"
    " c.device_id, c.flat, c.location, c.grid_id, c.reporter, c.alarm_count,"
    " c.acknowledged_at, c.resolved_at, c.closed_at, c.rating, c.escalations, c.reopen_count,"
    " c.first_responsible, c.claimed_by, c.merged_into"
)


def case_scope(user: User) -> str:
    if user.grid_bound:
        return " AND c.grid_id = ANY(%(grids)s)"
    if user.elderly_only:
        return " AND " + _ELDERLY
    return ""


def list_cases(
    conn: Conn, user: User, *, filters: dict[str, Any], limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    where = _LIST + case_scope(user)
    params = {**filters, "grids": list(user.grids), "open_states": _OPEN_STATES}
    data = rows(
        conn,
        f"SELECT {_COLUMNS} {where} ORDER BY c.id DESC LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": limit, "offset": offset},
    )
    total = row(conn, f"SELECT count(*) AS n {where}", params)
    return data, int(total["n"]) if total else 0


def sees_case(user: User, case: Case) -> bool:
    if user.grid_bound:
        return case.grid_id is not None and case.grid_id in user.grids
    if user.elderly_only:
        return any(a.party_kind == "elderly_care_centre" for a in case.assignments)
    return True


@dataclass(frozen=True, slots=True)
class CaseScope:
    """What decides who sees a case in the live feed: its grid, and whether an elderly
    care centre is assigned (the facts `case_scope` tests in SQL)."""

    grid_id: str | None
    elderly: bool


NO_SCOPE = CaseScope(None, elderly=False)


def case_scopes(conn: Conn, ids: list[int]) -> dict[int, CaseScope]:
    """The scope facts of these cases (one query per batch, for every user at once)."""
    if not ids:
        return {}
    found = rows(
        conn,
        f"SELECT c.id, c.grid_id, {_ELDERLY} AS elderly FROM cases c WHERE c.id = ANY(%(ids)s)",
        {"ids": ids},
    )
    return {int(r["id"]): CaseScope(r["grid_id"], elderly=bool(r["elderly"])) for r in found}


def sees_case_scope(user: User, scope: CaseScope) -> bool:
    """`case_scope` in process: grid workers by grid, care responders by assignment."""
    if user.grid_bound:
        return scope.grid_id is not None and scope.grid_id in user.grids
    if user.elderly_only:
        return scope.elderly
    return True


def head(conn: Conn) -> int:
    found = row(conn, "SELECT coalesce(max(id), 0) AS id FROM case_events")
    return int(found["id"]) if found else 0
