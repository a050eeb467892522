"""SQL for cases: rows in and out, the case lock, and the append to `case_events`.

Every writing transaction makes its row changes first and appends its events last,
under `EVENTS_LOCK` held to commit: ids are then handed out in commit order (a feed
that resumes after id N can never miss a row that commits later with a smaller id),
and since nothing is locked after it, the lock cannot take part in a deadlock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from cases._db import Conn
from cases._errors import CaseNotFound
from cases._model import (
    OPEN_STATES,
    Assignment,
    Case,
    CaseEvent,
    Source,
    State,
    Transition,
)
from cases._stream import NOTIFY_CHANNEL
from domain import Severity

# Any constant shared by every Dayuan process: "CASES" in ASCII.
EVENTS_LOCK = 0x4341_5345_53
_OPEN = ", ".join(f"'{s.value}'" for s in sorted(OPEN_STATES))
OPEN_PREDICATE = f"fingerprint IS NOT NULL AND state IN ({_OPEN})"

CASE_COLUMNS = (
    "id, compound_id, source, category, severity, title, state, version, opened_at, ack_due,"
    " resolve_due, escalation_level, fingerprint, description, device_id, flat, location,"
    " grid_id, reporter, alarm_count, acknowledged_at, resolved_at, closed_at, rating,"
    " supervise_at, escalations, reopen_count, first_responsible, claimed_by, merged_into"
)
_EVENT_COLUMNS = (
    "id, case_id, version, compound_id, at, actor, transition, from_state, to_state, detail"
)


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """A transition decided in this transaction, waiting for its id."""

    case_id: int
    version: int
    compound: str
    at: datetime
    actor: str
    transition: Transition
    from_state: State | None
    to_state: State
    detail: Mapping[str, Any]


def insert_case(conn: Conn, columns: Mapping[str, Any], *, dedupe: bool) -> int | None:
    """A new case's id; None when `dedupe` and an open case has the same fingerprint."""
    names = list(columns)
    values = [Jsonb(v) if isinstance(v, dict) else v for v in columns.values()]
    conflict = f" ON CONFLICT (fingerprint) WHERE {OPEN_PREDICATE} DO NOTHING" if dedupe else ""
    row = conn.execute(
        f"INSERT INTO cases ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})"
        f"{conflict} RETURNING id",
        values,
    ).fetchone()
    return None if row is None else int(row[0])


# Advisory lock namespace (two-key form) serialising the intakes of one alarm: the
# rule engine's and the supervisor's may meet.
ALARM_INTAKE_LOCK = 0x414C_524D


def taken_case_id(conn: Conn, alarm_id: int) -> int | None:
    """The case an alarm went into; waits out another intake of the same alarm."""
    conn.execute(
        "SELECT pg_advisory_xact_lock(%s, (%s %% 2147483647)::int)", (ALARM_INTAKE_LOCK, alarm_id)
    )
    row = conn.execute(
        "SELECT case_id FROM alarm_intakes WHERE alarm_id = %s", (alarm_id,)
    ).fetchone()
    return None if row is None else int(row[0])


def record_taken(conn: Conn, alarm_id: int, case_id: int, at: datetime) -> None:
    """Note that the alarm went into the case (nothing for an alarm not stored)."""
    conn.execute(
        "INSERT INTO alarm_intakes (alarm_id, case_id, at)"
        " SELECT id, %s, %s FROM alarm_records WHERE id = %s",
        (case_id, at, alarm_id),
    )


def missed_alarms(conn: Conn, *, since: datetime, before: datetime) -> list[dict[str, Any]]:
    """Alarms opened in [since, before] that no intake took, oldest first."""
    cur = conn.execute(
        "SELECT a.id, a.fingerprint, a.rule_id, a.title, a.severity, a.compound_id,"
        " a.device_id, a.flat, a.trigger_values, a.first_seen, a.cleared_at, a.clear_values"
        " FROM alarm_records a WHERE a.opened_at >= %s AND a.opened_at <= %s"
        " AND NOT EXISTS (SELECT 1 FROM alarm_intakes i WHERE i.alarm_id = a.id)"
        " ORDER BY a.opened_at, a.id",
        (since, before),
    )
    names = [c.name for c in cur.description or ()]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def open_case_id(conn: Conn, fingerprint: str, *, lock: bool = False) -> int | None:
    """The open case of a fingerprint; with `lock`, locked (and re-checked once locked)."""
    row = conn.execute(
        f"SELECT id FROM cases WHERE fingerprint = %s AND {OPEN_PREDICATE}"
        + (" FOR UPDATE" if lock else ""),
        (fingerprint,),
    ).fetchone()
    return None if row is None else int(row[0])


def latest_case_id(conn: Conn, fingerprint: str) -> int | None:
    row = conn.execute(
        "SELECT id FROM cases WHERE fingerprint = %s ORDER BY opened_at DESC, id DESC LIMIT 1",
        (fingerprint,),
    ).fetchone()
    return None if row is None else int(row[0])


def lock_case(conn: Conn, case_id: int) -> Case:
    """The case, locked for update until the transaction ends."""
    return _case(conn, case_id, " FOR UPDATE")


def get_case(conn: Conn, case_id: int) -> Case:
    return _case(conn, case_id, "")


def _case(conn: Conn, case_id: int, lock: str) -> Case:
    row = conn.execute(f"SELECT {CASE_COLUMNS} FROM cases WHERE id = %s{lock}", (case_id,))
    found = row.fetchone()
    if found is None:
        raise CaseNotFound(case_id)
    assignments = conn.execute(
        "SELECT party_kind, party_id, grid_id, staff_id FROM case_assignments"
        " WHERE case_id = %s ORDER BY assigned_at, party_kind",
        (case_id,),
    ).fetchall()
    return case_of(found, tuple(Assignment(*a) for a in assignments))


def case_of(r: Sequence[Any], assignments: tuple[Assignment, ...]) -> Case:
    return Case(
        id=r[0],
        compound=r[1],
        source=Source(r[2]),
        category=r[3],
        severity=Severity(r[4]),
        title=r[5],
        state=State(r[6]),
        version=r[7],
        opened_at=r[8],
        ack_due=r[9],
        resolve_due=r[10],
        escalation_level=r[11],
        fingerprint=r[12],
        description=r[13],
        device_id=r[14],
        flat=r[15],
        location=r[16],
        grid_id=r[17],
        reporter=r[18],
        alarm_count=r[19],
        acknowledged_at=r[20],
        resolved_at=r[21],
        closed_at=r[22],
        rating=r[23],
        supervise_at=r[24],
        escalations=r[25],
        reopen_count=r[26],
        first_responsible=r[27],
        claimed_by=r[28],
        merged_into=r[29],
        assignments=assignments,
    )


def update_case(conn: Conn, case_id: int, changes: Mapping[str, Any]) -> None:
    names = list(changes)
    conn.execute(
        f"UPDATE cases SET {', '.join(f'{n} = %s' for n in names)} WHERE id = %s",
        [*changes.values(), case_id],
    )


def insert_assignments(
    conn: Conn, case_id: int, assignments: Sequence[Assignment], at: datetime
) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO case_assignments (case_id, party_kind, party_id, grid_id, staff_id,"
            " assigned_at) VALUES (%s, %s, %s, %s, %s, %s)",
            [(case_id, a.party_kind, a.party_id, a.grid_id, a.staff_id, at) for a in assignments],
        )


def remove_assignments(conn: Conn, case_id: int, kinds: Sequence[str]) -> None:
    conn.execute(
        "DELETE FROM case_assignments WHERE case_id = %s AND party_kind = ANY(%s)",
        (case_id, list(kinds)),
    )


def assign_staff(conn: Conn, case_id: int, party_kind: str, staff_id: str) -> None:
    conn.execute(
        "UPDATE case_assignments SET staff_id = %s WHERE case_id = %s AND party_kind = %s",
        (staff_id, case_id, party_kind),
    )


def move_alarms(conn: Conn, duplicate: int, survivor: int) -> list[int]:
    """Point the duplicate's taken alarms at the survivor; their ids, in order."""
    rows = conn.execute(
        "UPDATE alarm_intakes SET case_id = %s WHERE case_id = %s RETURNING alarm_id",
        (survivor, duplicate),
    ).fetchall()
    return sorted(int(r[0]) for r in rows)


def merged_ids(conn: Conn, survivor: int) -> list[int]:
    """The duplicates merged into a case, oldest first."""
    rows = conn.execute(
        "SELECT id FROM cases WHERE merged_into = %s ORDER BY id", (survivor,)
    ).fetchall()
    return [int(r[0]) for r in rows]


def append_events(conn: Conn, pending: Sequence[PendingEvent]) -> list[CaseEvent]:
    """Append the transaction's events (its last writes) and NOTIFY their listeners."""
    if not pending:
        return []
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (EVENTS_LOCK,))
    events = [_append(conn, p) for p in pending]
    conn.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, str(events[-1].id)))
    return events


def _append(conn: Conn, p: PendingEvent) -> CaseEvent:
    row = conn.execute(
        "INSERT INTO case_events (case_id, version, compound_id, at, actor, transition,"
        " from_state, to_state, detail) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " RETURNING id",
        (
            p.case_id,
            p.version,
            p.compound,
            p.at,
            p.actor,
            p.transition.value,
            None if p.from_state is None else p.from_state.value,
            p.to_state.value,
            Jsonb(dict(p.detail)),
        ),
    ).fetchone()
    assert row is not None
    return CaseEvent(
        int(row[0]),
        p.case_id,
        p.version,
        p.compound,
        p.at,
        p.actor,
        p.transition,
        p.from_state,
        p.to_state,
        p.detail,
    )


def events(
    conn: Conn, *, after_id: int = 0, case_id: int | None = None, limit: int = 500
) -> list[CaseEvent]:
    """Events in id order after `after_id` (the feed's cursor), of one case or all."""
    where = "id > %s" + ("" if case_id is None else " AND case_id = %s")
    params: list[Any] = [after_id] + ([] if case_id is None else [case_id])
    rows = conn.execute(
        f"SELECT {_EVENT_COLUMNS} FROM case_events WHERE {where} ORDER BY id LIMIT %s",
        [*params, limit],
    ).fetchall()
    return [_event_of(r) for r in rows]


def _event_of(r: Sequence[Any]) -> CaseEvent:
    return CaseEvent(
        id=r[0],
        case_id=r[1],
        version=r[2],
        compound=r[3],
        at=r[4],
        actor=r[5],
        transition=Transition(r[6]),
        from_state=None if r[7] is None else State(r[7]),
        to_state=State(r[8]),
        detail=r[9],
    )


def due_for_supervision(
    conn: Conn, now: datetime, limit: int, *, since: datetime | None = None
) -> list[int]:
    """Cases whose watched deadline passed by `now` (and, with `since`, after `since`)."""
    rows = conn.execute(
        "SELECT id FROM cases WHERE supervise_at <= %(now)s"
        " AND (%(since)s::timestamptz IS NULL OR supervise_at > %(since)s) AND state IN"
        " ('dispatched', 'acknowledged', 'in_progress', 'reopened')"
        " ORDER BY supervise_at LIMIT %(limit)s",
        {"now": now, "since": since, "limit": limit},
    ).fetchall()
    return [int(r[0]) for r in rows]
