"""Cases read for the API (a list with filters and the caller's scope) and the stream's
case half. Everything that changes a case goes through `cases.Workflow`; single cases
and their history through `cases.get_case` / `cases.case_events`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api import _health
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
        return user.scope.grid_filter("c.compound_id", "c.grid_id")
    if user.elderly_only:
        return " AND " + _ELDERLY
    return ""


def list_cases(
    conn: Conn, user: User, *, filters: dict[str, Any], limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    where = _LIST + case_scope(user)
    params = {**filters, **user.scope.params(), "open_states": _OPEN_STATES}
    data = rows(
        conn,
        f"SELECT {_COLUMNS} {where} ORDER BY c.id DESC LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": limit, "offset": offset},
    )
    total = row(conn, f"SELECT count(*) AS n {where}", params)
    redact_cases(conn, user, data)
    return data, int(total["n"]) if total else 0


def sees_case(user: User, case: Case) -> bool:
    if user.grid_bound:
        return user.sees_grid(case.compound, case.grid_id)
    if user.elderly_only:
        return any(a.party_kind == "elderly_care_centre" for a in case.assignments)
    return True


def elderly_alarm_cases(conn: Conn, ids: list[int]) -> dict[int, str]:
    """Of these cases, those opened by an elderly-care alarm (an elder device's, or a
    flat's), with their rule: their titles and alarm values are health data."""
    found = rows(
        conn,
        "SELECT c.id, c.rule_id FROM cases c LEFT JOIN devices d ON d.id = c.device_id"
        " WHERE c.id = ANY(%(ids)s) AND c.source = 'alarm'"
        " AND (d.kind = 'elder' OR (c.device_id IS NULL AND c.flat IS NOT NULL))",
        {"ids": ids},
    )
    return {int(r["id"]): str(r["rule_id"] or "") for r in found}


def withheld_categories(conn: Conn, user: User) -> list[str]:
    """The categories (rule ids) of elderly-care alarm cases that name a reading, for a
    role without health access to see under one neutral key."""
    if user.reads_health:
        return []
    found = rows(
        conn,
        "SELECT DISTINCT c.category FROM cases c LEFT JOIN devices d ON d.id = c.device_id"
        " WHERE c.source = 'alarm' AND c.rule_id <> ALL(%(plain)s)"
        " AND (d.kind = 'elder' OR (c.device_id IS NULL AND c.flat IS NOT NULL))",
        {"plain": sorted(_health.PLAIN_ALARMS)},
    )
    return [str(r["category"]) for r in found]


def redact_cases(conn: Conn, user: User, found: list[dict[str, Any]]) -> None:
    """Elderly-care alarm cases as the roles without health access see them."""
    if user.reads_health or not found:
        return
    elderly = elderly_alarm_cases(conn, [int(c["id"]) for c in found])
    for c in found:
        rule = elderly.get(int(c["id"]))
        if rule is not None and rule not in _health.PLAIN_ALARMS:
            # the category of an alarm case is its rule id: a reading's name too
            c["title"], c["category"] = _health.NEUTRAL_TITLE, _health.NEUTRAL_RULE


def redact_event(actor: str, detail: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A case event of an elderly-care alarm case without the alarm's readings: its
    values and title, and the rule's name when it names one."""
    rule = actor.removeprefix("rule:")
    if actor.startswith("rule:") and rule not in _health.PLAIN_ALARMS:
        actor = f"rule:{_health.NEUTRAL_RULE}"
    kept = {k: v for k, v in detail.items() if k not in ("values", "trigger_values", "title")}
    if "category" in kept and rule not in _health.PLAIN_ALARMS:
        kept["category"] = _health.NEUTRAL_RULE  # an alarm case's category is its rule id
    return actor, kept


@dataclass(frozen=True, slots=True)
class CaseScope:
    """What decides who sees a case in the live feed, and how: its compound and grid,
    whether an elderly care centre is assigned (the facts `case_scope` tests in SQL),
    and whether it is an elderly-care alarm case (its events redacted for roles without
    health access)."""

    compound: str | None
    grid_id: str | None
    elderly: bool
    health: bool = False


NO_SCOPE = CaseScope(None, None, elderly=False)


def case_scopes(conn: Conn, ids: list[int]) -> dict[int, CaseScope]:
    """The scope facts of these cases (one query per batch, for every user at once)."""
    if not ids:
        return {}
    found = rows(
        conn,
        f"SELECT c.id, c.compound_id, c.grid_id, {_ELDERLY} AS elderly FROM cases c"
        " WHERE c.id = ANY(%(ids)s)",
        {"ids": ids},
    )
    health = elderly_alarm_cases(conn, ids)
    return {
        int(r["id"]): CaseScope(
            r["compound_id"],
            r["grid_id"],
            elderly=bool(r["elderly"]),
            health=int(r["id"]) in health,
        )
        for r in found
    }


def sees_case_scope(user: User, scope: CaseScope) -> bool:
    """`case_scope` in process: grid workers by (compound, grid), care responders by
    assignment."""
    if user.grid_bound:
        return scope.compound is not None and user.sees_grid(scope.compound, scope.grid_id)
    if user.elderly_only:
        return scope.elderly
    return True


def head(conn: Conn) -> int:
    found = row(conn, "SELECT coalesce(max(id), 0) AS id FROM case_events")
    return int(found["id"]) if found else 0
