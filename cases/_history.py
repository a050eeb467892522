"""Bulk loading of cases that are history already: a benchmark's year of a district, a
case book moved over from another system. Binary COPY straight into `cases`, each case
as it stands when loaded (its state, its first acknowledgement, its latest resolution,
its rating); no `case_events` are written, so nothing is published, notified or
supervised: a loaded case is for the KPIs and the lists, not for handling."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import psycopg

from cases._db import Conn, translated
from cases._model import State

_COLUMNS = (
    "compound_id, source, category, severity, title, state, version, grid_id, opened_at,"
    " ack_due, resolve_due, escalations, acknowledged_at, resolved_at, closed_at,"
    " cancelled_at, rating, updated_at"
)
_TYPES = ["text", "text", "text", "text", "text", "text", "int4", "text", "timestamptz"]
_TYPES += ["timestamptz"] * 2 + ["int4"] + ["timestamptz"] * 4 + ["int2", "timestamptz"]


@dataclass(frozen=True, slots=True)
class PastCase:
    """One case as it stands; `updated_at` is its last change."""

    compound_id: str
    source: str  # alarm, resident or patrol
    category: str
    severity: str
    title: str
    state: State
    grid_id: str | None
    opened_at: datetime
    ack_due: datetime
    resolve_due: datetime
    updated_at: datetime
    escalations: int = 0
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    rating: int | None = None

    def row(self) -> tuple[object, ...]:
        closed = self.updated_at if self.state is State.CLOSED else None
        cancelled = self.updated_at if self.state is State.CANCELLED else None
        return (
            self.compound_id,
            self.source,
            self.category,
            self.severity,
            self.title,
            self.state.value,
            1,
            self.grid_id,
            self.opened_at,
            self.ack_due,
            self.resolve_due,
            self.escalations,
            self.acknowledged_at,
            self.resolved_at,
            closed,
            cancelled,
            self.rating,
            self.updated_at,
        )


def copy_cases(conn: Conn, past: Iterable[PastCase]) -> int:
    """Copy `past` into `cases` in one transaction; returns how many. A value the table
    refuses fails the whole copy (`CaseValueRefused`)."""
    copied = 0
    try:
        with (
            conn.transaction(),
            conn.cursor() as cur,
            cur.copy(f"COPY cases ({_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(_TYPES)
            for case in past:
                copy.write_row(case.row())
                copied += 1
    except psycopg.Error as exc:
        raise translated(exc, "copying cases failed") from exc
    return copied
