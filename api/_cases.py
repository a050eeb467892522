"""Cases as the API shows them: the list under the caller's scope, who sees a case (in
process, for the detail and the live feed), and the redaction of elderly-care alarm
cases for roles without health access. Every read goes through `cases` (`list_cases`,
`get_case`, `case_scopes`, ...); everything that changes a case through `cases.Workflow`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import cases
from api import _health
from api._access import User
from api._db import Conn
from cases import Case, CaseScope

NO_SCOPE = CaseScope(None, None, elderly=False)


def public(case: Case) -> dict[str, Any]:
    """A case's fields as the API's models take them (its assignments apart)."""
    fields = asdict(case)
    fields.pop("assignments")
    fields["rung"] = case.rung.value
    return fields


def list_cases(
    conn: Conn,
    user: User,
    *,
    filters: cases.CaseFilter,
    limit: int,
    offset: int,
    before: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    renamed = None if user.reads_health else (_health.NEUTRAL_RULE, _health.PLAIN_ALARMS)
    found, total = cases.list_cases(
        conn,
        scope=user.scope,
        filters=filters,
        limit=limit,
        offset=offset,
        renamed=renamed,
        before=before,
    )
    data = [public(c) for c in found]
    redact_cases(conn, user, data)
    return data, total


def sees_case(user: User, case: Case) -> bool:
    if not user.sees_compound(case.compound):
        return False
    if user.grid_bound:
        return user.sees_grid(case.compound, case.grid_id)
    if user.elderly_only:
        return any(a.party_kind == "elderly_care_centre" for a in case.assignments)
    return True


def withheld_categories(conn: Conn, user: User) -> list[str]:
    """The categories (rule ids) of elderly-care alarm cases that name a reading, for a
    role without health access to see under one neutral key."""
    if user.reads_health:
        return []
    return cases.elderly_alarm_categories(conn, except_rules=_health.PLAIN_ALARMS)


def redact_cases(conn: Conn, user: User, found: list[dict[str, Any]]) -> None:
    """Elderly-care alarm cases as the roles without health access see them."""
    if user.reads_health or not found:
        return
    elderly = cases.elderly_alarm_cases(conn, [int(c["id"]) for c in found])
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


def sees_case_scope(user: User, scope: CaseScope) -> bool:
    """`cases.list_cases`'s scope in process: grid workers by (compound, grid), care
    responders by assignment; everyone within their organisation's compounds."""
    if scope.compound is None:
        if user.within is not None:
            return False
    elif not user.sees_compound(scope.compound):
        return False
    if user.grid_bound:
        return scope.compound is not None and user.sees_grid(scope.compound, scope.grid_id)
    if user.elderly_only:
        return scope.elderly
    return True
