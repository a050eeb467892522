"""The sweep: what care turns into work for others, run every SWEEP_S by the API's
lifespan and by `dayuan care sweep`.

1. Follow-ups (复诊): the cases' history is read after a cursor; a `closed` record whose
   mode is `follow_up_visit` schedules one follow-up visit to the case's household, due
   `CarePolicy.follow_up_after` later (once per closing: `close_event_id` is unique).
2. Overdue visits and missed meals become cases (categories `care_visit_overdue` and
   `meal_missed`), like an inactivity alarm: a plan's visit overdue by the compound's
   grace, a follow-up overdue by it, a delivery recorded missed, and a scheduled day
   still not recorded UNRECORDED_GRACE after its window closed (one case per day: a
   "missed" recorded for that day later opens no second one).

Exactly once: each case is first claimed as a row of `care_alerts` (its primary key is
the plan and due time, the follow-up or the delivery) in a committed transaction, then
opened through the cases workflow and linked. A sweep that dies between the two leaves
a claimed row without a case, which the next sweep after RETRY_AFTER opens: the same
fingerprint joins the case if it was opened after all, so it is never a second case.
Several sweeps may run at once: the claim is one INSERT ... ON CONFLICT DO NOTHING.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb

import cases
import registry
from care._db import Conn, transaction
from care._meals import unrecorded
from care._model import DEFAULT_CARE_POLICY, DELIVERY_BACKDATE, UNRECORDED_GRACE, CarePolicy, Sweep
from care._store import ACTIVE, DUE
from domain import Severity

# How often the running product sweeps: a visit overdue by days or a meal missed today
# is worth a case within minutes, not seconds.
SWEEP_S = 60.0
# Case history records read per query while looking for closings.
EVENT_BATCH = 500
# A claimed alert without its case for this long lost its sweep (opening a case takes
# milliseconds); earlier, another sweep may still be opening it.
RETRY_AFTER = timedelta(minutes=1)
VISIT_OVERDUE = "care_visit_overdue"
MEAL_MISSED = "meal_missed"
FOLLOW_UP_MODE = cases.ActionMode.FOLLOW_UP_VISIT.value
# A missed meal is today's: the elder should be checked on the same day; an overdue
# visit has waited days already and can wait for the next working hours.
SEVERITY = {VISIT_OVERDUE: Severity.MINOR, MEAL_MISSED: Severity.MAJOR}
ACTOR = "system:care"


def run_once(
    conn: Conn, workflow: cases.Workflow, now: datetime, policy: CarePolicy = DEFAULT_CARE_POLICY
) -> Sweep:
    """One sweep: follow-ups from closings, then the cases for what is overdue or missed."""
    follow_ups = schedule_follow_ups(conn, now=now, policy=policy)
    visit_cases = _overdue_plans(conn, workflow, now, policy)
    visit_cases += _overdue_follow_ups(conn, workflow, now, policy)
    meal_cases = _missed_meals(conn, workflow, now)
    unrecorded_cases = _unrecorded_meals(conn, workflow, now)
    _retry_unlinked(conn, workflow, now)
    return Sweep(follow_ups, visit_cases, meal_cases, unrecorded_cases)


def schedule_follow_ups(conn: Conn, *, now: datetime, policy: CarePolicy) -> int:
    """Read the cases' history after the cursor; schedule a follow-up per closing that
    asked for one. Returns how many were scheduled."""
    with transaction(conn):
        row = conn.execute("SELECT last_event_id FROM care_case_cursor").fetchone()
    cursor, made = int(row[0]) if row else 0, 0
    while True:
        with transaction(conn):
            events = cases.case_events(conn, after_id=cursor, limit=EVENT_BATCH)
        for e in events:
            if e.transition is cases.Transition.CLOSED and e.detail.get("mode") == FOLLOW_UP_MODE:
                made += _schedule(conn, e, now, policy)
        if not events:
            return made
        cursor = events[-1].id
        with transaction(conn):
            conn.execute(
                "UPDATE care_case_cursor SET last_event_id = greatest(last_event_id, %s)",
                (cursor,),
            )


def _schedule(conn: Conn, event: cases.CaseEvent, now: datetime, policy: CarePolicy) -> int:
    with transaction(conn):
        case = cases.get_case(conn, event.case_id)
    if case.flat is None:
        return 0  # a case of no household (a lamp, a gate): there is no one to visit
    grid = registry.grid_of(conn, case.compound, case.flat) or case.grid_id
    with transaction(conn):
        row = conn.execute(
            "INSERT INTO care_follow_ups (compound_id, flat, grid_id, case_id, close_event_id,"
            " due_at, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (close_event_id) DO NOTHING RETURNING id",
            (
                case.compound,
                case.flat,
                grid,
                case.id,
                event.id,
                event.at + policy.follow_up_after,
                now,
            ),
        ).fetchone()
    return 0 if row is None else 1


def _overdue_plans(conn: Conn, workflow: cases.Workflow, now: datetime, policy: CarePolicy) -> int:
    with transaction(conn):
        rows = conn.execute(
            f"SELECT p.id, p.compound_id, p.flat, p.visitor, p.interval_days, {DUE}"
            f" FROM care_plans p WHERE {ACTIVE} AND {DUE} < %(now)s ORDER BY p.id",
            {"now": now},
        ).fetchall()
    raised = 0
    for plan_id, compound, flat, visitor, interval, due in rows:
        if due + policy.grace(compound) >= now:
            continue
        detail = {
            "plan_id": plan_id,
            "visitor": visitor,
            "interval_days": interval,
            "due_at": due.isoformat(),
        }
        # The due time as epoch seconds: the same text whatever the session's time zone.
        subject = f"plan:{plan_id}@{int(due.timestamp())}"
        title = f"Care visit overdue at {flat} (due {due.date().isoformat()})"
        raised += _raise(conn, workflow, VISIT_OVERDUE, subject, compound, flat, title, detail, now)
    return raised


def _overdue_follow_ups(
    conn: Conn, workflow: cases.Workflow, now: datetime, policy: CarePolicy
) -> int:
    with transaction(conn):
        rows = conn.execute(
            "SELECT f.id, f.compound_id, f.flat, f.case_id, f.due_at FROM care_follow_ups f"
            " WHERE f.due_at < %s AND NOT EXISTS"
            " (SELECT 1 FROM care_visits v WHERE v.follow_up_id = f.id) ORDER BY f.id",
            (now,),
        ).fetchall()
    raised = 0
    for follow_up_id, compound, flat, case_id, due in rows:
        if due + policy.grace(compound) >= now:
            continue
        detail = {"follow_up_id": follow_up_id, "case_id": case_id, "due_at": due.isoformat()}
        title = f"Follow-up visit overdue at {flat} (case {case_id})"
        raised += _raise(
            conn,
            workflow,
            VISIT_OVERDUE,
            f"follow_up:{follow_up_id}",
            compound,
            flat,
            title,
            detail,
            now,
        )
    return raised


def _missed_meals(conn: Conn, workflow: cases.Workflow, now: datetime) -> int:
    with transaction(conn):
        rows = conn.execute(
            "SELECT d.id, d.compound_id, d.flat, s.meal, d.day, d.note FROM care_meal_deliveries d"
            " JOIN care_meal_schedules s ON s.id = d.schedule_id WHERE NOT d.done"
            " AND NOT EXISTS (SELECT 1 FROM care_alerts a WHERE a.kind = %(kind)s"
            " AND a.subject IN ('delivery:' || d.id, " + _UNRECORDED_SUBJECT + "))"
            " ORDER BY d.id",
            {"kind": MEAL_MISSED},
        ).fetchall()
    raised = 0
    for delivery_id, compound, flat, meal, day, note in rows:
        detail = {"delivery_id": delivery_id, "meal": meal, "day": day.isoformat(), "note": note}
        title = f"Meal delivery missed at {flat} ({meal}, {day.isoformat()})"
        raised += _raise(
            conn,
            workflow,
            MEAL_MISSED,
            f"delivery:{delivery_id}",
            compound,
            flat,
            title,
            detail,
            now,
        )
    return raised


# The subject of a day not recorded, as SQL over a delivery `d` and in Python.
_UNRECORDED_SUBJECT = "'unrecorded:' || d.schedule_id || '@' || to_char(d.day, 'YYYY-MM-DD')"


def _unrecorded_subject(schedule_id: int, day: date) -> str:
    return f"unrecorded:{schedule_id}@{day.isoformat()}"


def _unrecorded_meals(conn: Conn, workflow: cases.Workflow, now: datetime) -> int:
    """A case per scheduled day still not recorded UNRECORDED_GRACE after its window
    closed, among the days a delivery may still be recorded for."""
    with transaction(conn):
        compounds = conn.execute(
            "SELECT DISTINCT compound_id FROM care_meal_schedules"
            " WHERE ended_at IS NULL OR ended_at > %s ORDER BY 1",
            (now - DELIVERY_BACKDATE - timedelta(days=1),),
        ).fetchall()
    raised = 0
    for (compound,) in compounds:
        zone = ZoneInfo(registry.time_zone(conn, compound))
        first = now.astimezone(zone).date() - DELIVERY_BACKDATE
        for u in unrecorded(
            conn,
            registry.EVERYTHING,
            compound=compound,
            grid=None,
            first=first,
            closed_by=now - UNRECORDED_GRACE,
        ):
            detail = {
                "schedule_id": u.schedule_id,
                "meal": u.meal,
                "day": u.day.isoformat(),
                "unrecorded": True,
            }
            title = f"Meal delivery not recorded at {u.flat} ({u.meal}, {u.day.isoformat()})"
            subject = _unrecorded_subject(u.schedule_id, u.day)
            raised += _raise(
                conn, workflow, MEAL_MISSED, subject, compound, u.flat, title, detail, now
            )
    return raised


def _raise(
    conn: Conn,
    workflow: cases.Workflow,
    kind: str,
    subject: str,
    compound: str,
    flat: str,
    title: str,
    detail: Mapping[str, Any],
    now: datetime,
) -> int:
    """Claim the alert; open its case only when this sweep's claim is the one that won."""
    with transaction(conn):
        claimed = conn.execute(
            "INSERT INTO care_alerts (kind, subject, compound_id, flat, title, severity, detail,"
            " raised_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING RETURNING kind",
            (kind, subject, compound, flat, title, SEVERITY[kind].value, Jsonb(dict(detail)), now),
        ).fetchone()
    if claimed is None:
        return 0
    _open(conn, workflow, kind, subject, compound, flat, title, detail, now)
    return 1


def _open(
    conn: Conn,
    workflow: cases.Workflow,
    kind: str,
    subject: str,
    compound: str,
    flat: str,
    title: str,
    detail: Mapping[str, Any],
    now: datetime,
) -> None:
    notice = cases.AlarmNotice(
        fingerprint=f"{kind}:{compound}:{subject}",
        rule_id=kind,
        title=title,
        severity=SEVERITY[kind],
        category=kind,
        compound=compound,
        device_id=None,
        flat=flat,
        values=dict(detail),
        opened_at=now,
    )
    intake = workflow.intake_alarm(conn, notice)
    with transaction(conn):
        conn.execute(
            "UPDATE care_alerts SET case_id = %s WHERE kind = %s AND subject = %s",
            (intake.case.id, kind, subject),
        )


def _retry_unlinked(conn: Conn, workflow: cases.Workflow, now: datetime) -> None:
    with transaction(conn):
        rows = conn.execute(
            "SELECT kind, subject, compound_id, flat, title, detail FROM care_alerts"
            " WHERE case_id IS NULL AND raised_at < %s ORDER BY raised_at",
            (now - RETRY_AFTER,),
        ).fetchall()
    for kind, subject, compound, flat, title, detail in rows:
        _open(conn, workflow, kind, subject, compound, flat, title, detail, now)
