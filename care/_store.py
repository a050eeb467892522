"""Visit plans, visits and follow-ups in SQL: create and end a plan, record a visit
against a plan or a follow-up, and the lists under a reader's `registry.Scope` (a grid
worker's buildings), per compound and grid. A plan's due time is computed when read:
its last visit (or its start) plus its interval."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import registry
from care import _household as household
from care._db import Conn, transaction
from care._errors import CareNotFound, InvalidCare
from care._model import (
    CLOCK_SLACK,
    MAX_BACKDATE,
    FollowUp,
    Outcome,
    Plan,
    PlanDraft,
    Visit,
    VisitDraft,
)
from domain import HouseholdTag

LAST_VISIT = "(SELECT max(v.visited_at) FROM care_visits v WHERE v.plan_id = p.id)"
DUE = f"coalesce({LAST_VISIT}, p.starts_at) + p.interval_days * interval '1 day'"
_PLAN_COLUMNS = (
    "p.id, p.compound_id, p.flat, p.grid_id, p.tag, p.visitor, p.interval_days, p.starts_at,"
    f" p.ends_at, p.created_by, p.created_at, p.ended_at, {LAST_VISIT},"
    " (SELECT count(*) FROM care_visits v WHERE v.plan_id = p.id), " + DUE
)
ACTIVE = (
    "p.ended_at IS NULL AND p.starts_at <= %(now)s AND (p.ends_at IS NULL OR p.ends_at > %(now)s)"
)
_VISIT_COLUMNS = (
    "v.id, v.compound_id, v.flat, v.grid_id, v.plan_id, v.follow_up_id, v.visitor,"
    " v.visited_at, v.due_at, v.outcome, v.note, v.recorded_by, v.recorded_at"
)
_FOLLOW_UP_COLUMNS = (
    "f.id, f.compound_id, f.flat, f.grid_id, f.case_id, f.due_at, f.created_at,"
    " (SELECT v.visited_at FROM care_visits v WHERE v.follow_up_id = f.id)"
)


def scoped(alias: str, scope: registry.Scope) -> str:
    """A compound, an optional grid, and the reader's buildings."""
    return (
        f"{alias}.compound_id = %(compound)s"
        f" AND (%(grid)s::text IS NULL OR {alias}.grid_id = %(grid)s)"
        + scope.address_filter(f"{alias}.compound_id", f"{alias}.flat")
    )


def create_plan(conn: Conn, draft: PlanDraft, *, actor: str, now: datetime) -> Plan:
    """A plan for a household that carries the tag it serves, visited by a staff member
    or party of the compound."""
    grid = household.tagged(conn, draft.compound, draft.flat, draft.tag)
    household.serves(conn, draft.compound, "visitor", draft.visitor)
    if draft.starts_at < now - MAX_BACKDATE:
        raise InvalidCare(
            "starts_at",
            f"at most {MAX_BACKDATE.days} days back",
            code="care.too_far_back",
            days=MAX_BACKDATE.days,
        )
    if draft.ends_at is not None and draft.ends_at <= now:
        raise InvalidCare("ends_at", "must lie in the future", code="care.ends_in_past")
    with transaction(conn):
        row = conn.execute(
            "INSERT INTO care_plans (compound_id, flat, grid_id, tag, visitor, interval_days,"
            " starts_at, ends_at, created_by, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (
                draft.compound,
                draft.flat,
                grid,
                draft.tag.value,
                draft.visitor,
                draft.interval_days,
                draft.starts_at,
                draft.ends_at,
                actor,
                now,
            ),
        ).fetchone()
    assert row is not None
    return get_plan(conn, draft.compound, int(row[0]))


def get_plan(conn: Conn, compound: str, plan_id: int) -> Plan:
    with transaction(conn):
        row = conn.execute(
            f"SELECT {_PLAN_COLUMNS} FROM care_plans p WHERE p.id = %s AND p.compound_id = %s",
            (plan_id, compound),
        ).fetchone()
    if row is None:
        raise CareNotFound("plan", plan_id)
    return _plan(row)


def end_plan(conn: Conn, compound: str, plan_id: int, *, actor: str, now: datetime) -> Plan:
    """End a plan now (the household moved, or no longer wants visits); idempotent."""
    with transaction(conn):
        found = conn.execute(
            "UPDATE care_plans SET ended_at = coalesce(ended_at, %s),"
            " ended_by = coalesce(ended_by, %s) WHERE id = %s AND compound_id = %s RETURNING id",
            (now, actor, plan_id, compound),
        ).fetchone()
    if found is None:
        raise CareNotFound("plan", plan_id)
    return get_plan(conn, compound, plan_id)


def plans(
    conn: Conn,
    scope: registry.Scope,
    *,
    compound: str,
    grid: str | None,
    now: datetime,
    active: bool,
    limit: int,
    offset: int,
) -> tuple[list[Plan], int]:
    """A compound's plans the reader sees, the most urgent first (earliest due)."""
    where = scoped("p", scope) + (f" AND {ACTIVE}" if active else "")
    params = {"compound": compound, "grid": grid, "now": now, **scope.params()}
    with transaction(conn):
        found = conn.execute(
            f"SELECT {_PLAN_COLUMNS} FROM care_plans p WHERE {where}"
            f" ORDER BY (p.ended_at IS NOT NULL), {DUE}, p.id LIMIT %(limit)s OFFSET %(offset)s",
            {**params, "limit": limit, "offset": offset},
        ).fetchall()
        total = conn.execute(f"SELECT count(*) FROM care_plans p WHERE {where}", params).fetchone()
    return [_plan(r) for r in found], int(total[0]) if total else 0


def record_visit(conn: Conn, draft: VisitDraft, *, actor: str, now: datetime) -> Visit:
    """A visit made for an active plan, or for a follow-up not visited yet. Its due time
    is the one it answered (the plan's, or the follow-up's), for the on-time rate."""
    if draft.visited_at > now + CLOCK_SLACK:
        raise InvalidCare("visited_at", "lies in the future", code="care.in_future")
    if draft.plan_id is not None:
        plan = get_plan(conn, draft.compound, draft.plan_id)
        if not plan.active(now):
            raise InvalidCare("plan_id", f"plan {plan.id} has ended")
        if draft.visited_at < plan.starts_at:
            raise InvalidCare("visited_at", f"before plan {plan.id} started")
        flat, grid, due = plan.flat, plan.grid, plan.due_at
    else:
        assert draft.follow_up_id is not None
        follow = get_follow_up(conn, draft.compound, draft.follow_up_id)
        if follow.visited_at is not None:
            raise InvalidCare("follow_up_id", f"follow-up {follow.id} was visited already")
        if draft.visited_at < follow.created_at - CLOCK_SLACK:
            raise InvalidCare("visited_at", f"before follow-up {follow.id} was scheduled")
        flat, grid, due = follow.flat, follow.grid, follow.due_at
    household.serves(conn, draft.compound, "visitor", draft.visitor)
    with transaction(conn):
        row = conn.execute(
            "INSERT INTO care_visits (compound_id, flat, grid_id, plan_id, follow_up_id, visitor,"
            " visited_at, due_at, outcome, note, recorded_by, recorded_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (follow_up_id) WHERE follow_up_id IS NOT NULL DO NOTHING"
            f" RETURNING {_VISIT_COLUMNS.replace('v.', '')}",
            (
                draft.compound,
                flat,
                grid,
                draft.plan_id,
                draft.follow_up_id,
                draft.visitor,
                draft.visited_at,
                due,
                draft.outcome.value,
                draft.note,
                actor,
                now,
            ),
        ).fetchone()
    if row is None:
        raise InvalidCare("follow_up_id", f"follow-up {draft.follow_up_id} was visited already")
    return _visit(row)


def visits(
    conn: Conn,
    scope: registry.Scope,
    *,
    compound: str,
    grid: str | None,
    plan_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[Visit], int]:
    """A compound's visits the reader sees, newest first (of one plan, when given)."""
    where = scoped("v", scope) + " AND (%(plan)s::bigint IS NULL OR v.plan_id = %(plan)s)"
    params = {"compound": compound, "grid": grid, "plan": plan_id, **scope.params()}
    with transaction(conn):
        found = conn.execute(
            f"SELECT {_VISIT_COLUMNS} FROM care_visits v WHERE {where}"
            " ORDER BY v.visited_at DESC, v.id DESC LIMIT %(limit)s OFFSET %(offset)s",
            {**params, "limit": limit, "offset": offset},
        ).fetchall()
        total = conn.execute(f"SELECT count(*) FROM care_visits v WHERE {where}", params).fetchone()
    return [_visit(r) for r in found], int(total[0]) if total else 0


def get_follow_up(conn: Conn, compound: str, follow_up_id: int) -> FollowUp:
    with transaction(conn):
        row = conn.execute(
            f"SELECT {_FOLLOW_UP_COLUMNS} FROM care_follow_ups f"
            " WHERE f.id = %s AND f.compound_id = %s",
            (follow_up_id, compound),
        ).fetchone()
    if row is None:
        raise CareNotFound("follow-up", follow_up_id)
    return _follow_up(row)


def follow_ups(
    conn: Conn,
    scope: registry.Scope,
    *,
    compound: str,
    grid: str | None,
    open_only: bool,
    limit: int,
    offset: int,
) -> tuple[list[FollowUp], int]:
    """A compound's follow-up visits the reader sees, earliest due first."""
    where = scoped("f", scope)
    if open_only:
        where += " AND NOT EXISTS (SELECT 1 FROM care_visits v WHERE v.follow_up_id = f.id)"
    params = {"compound": compound, "grid": grid, **scope.params()}
    with transaction(conn):
        found = conn.execute(
            f"SELECT {_FOLLOW_UP_COLUMNS} FROM care_follow_ups f WHERE {where}"
            " ORDER BY f.due_at, f.id LIMIT %(limit)s OFFSET %(offset)s",
            {**params, "limit": limit, "offset": offset},
        ).fetchall()
        total = conn.execute(
            f"SELECT count(*) FROM care_follow_ups f WHERE {where}", params
        ).fetchone()
    return [_follow_up(r) for r in found], int(total[0]) if total else 0


def _plan(r: Sequence[Any]) -> Plan:
    return Plan(
        id=int(r[0]),
        compound=str(r[1]),
        flat=str(r[2]),
        grid=r[3],
        tag=HouseholdTag(r[4]),
        visitor=str(r[5]),
        interval_days=int(r[6]),
        starts_at=r[7],
        ends_at=r[8],
        created_by=str(r[9]),
        created_at=r[10],
        ended_at=r[11],
        last_visit_at=r[12],
        visits=int(r[13]),
        due_at=r[14],
    )


def _visit(r: Sequence[Any]) -> Visit:
    return Visit(
        id=int(r[0]),
        compound=str(r[1]),
        flat=str(r[2]),
        grid=r[3],
        plan_id=r[4],
        follow_up_id=r[5],
        visitor=str(r[6]),
        visited_at=r[7],
        due_at=r[8],
        outcome=Outcome(r[9]),
        note=r[10],
        recorded_by=str(r[11]),
        recorded_at=r[12],
    )


def _follow_up(r: Sequence[Any]) -> FollowUp:
    return FollowUp(
        id=int(r[0]),
        compound=str(r[1]),
        flat=str(r[2]),
        grid=r[3],
        case_id=int(r[4]),
        due_at=r[5],
        created_at=r[6],
        visited_at=r[7],
    )
