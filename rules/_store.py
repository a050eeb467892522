"""The database behind the alarms and the rules' state (tables of migration 0003).

Every raise is one `INSERT ... ON CONFLICT` against the partial unique index on the
open alarm's fingerprint, chained after the insert of its trigger: the database, not
this process, decides whether it opens an alarm, counts a repeat, or is a duplicate.
psycopg errors are translated to `AlarmStoreError` here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from domain import Severity
from rules._alarms import AlarmRow, Raise, Subject
from rules._errors import AlarmStoreError

# A store call waits at most this long for a pooled connection: an SOS must not hang
# behind a dead database; the engine retries on its next tick instead.
CONNECTION_TIMEOUT_S = 2.0
# Counted evidence is forgotten after this: far beyond any broker redelivery.
TRIGGER_RETENTION = timedelta(days=3)

_COLUMNS = (
    "id, fingerprint, rule_id, rule_version, title, severity, compound_id, device_id, flat,"
    " subject, count, first_seen, last_seen, trigger_values, cleared_at, flapping"
)

_RAISE = f"""
WITH fresh AS (
    INSERT INTO alarm_triggers (fingerprint, trigger, seen_at)
    VALUES (%(fingerprint)s, %(trigger)s, %(now)s)
    ON CONFLICT DO NOTHING
    RETURNING fingerprint
)
INSERT INTO alarms AS a (fingerprint, rule_id, rule_version, title, severity, compound_id,
                         device_id, flat, subject, count, first_seen, last_seen, opened_at,
                         updated_at, trigger_values)
SELECT %(fingerprint)s, %(rule_id)s, %(version)s, %(title)s, %(severity)s, %(compound)s,
       %(device)s, %(flat)s, %(subject)s, 1, %(at)s, %(at)s, %(now)s, %(now)s, %(values)s
FROM fresh
ON CONFLICT (fingerprint) WHERE cleared_at IS NULL DO UPDATE SET
    count = a.count + 1,
    first_seen = least(a.first_seen, excluded.first_seen),
    last_seen = greatest(a.last_seen, excluded.last_seen),
    trigger_values = excluded.trigger_values,
    rule_version = excluded.rule_version,
    updated_at = excluded.updated_at,
    severity = CASE
        WHEN array_position(%(ranks)s::text[], excluded.severity)
             > array_position(%(ranks)s::text[], a.severity)
        THEN excluded.severity ELSE a.severity END
RETURNING {_COLUMNS}, (xmax = 0) AS created
"""

_CLEAR = f"""
UPDATE alarms SET cleared_at = %(at)s, updated_at = %(at)s, clear_values = %(values)s
WHERE id = %(id)s AND cleared_at IS NULL AND last_seen <= %(calm_since)s
RETURNING {_COLUMNS}, false
"""

_RANKS = ["warning", "minor", "major", "critical"]


def _row(r: Sequence[Any]) -> AlarmRow:
    subject = Subject(str(r[9]), str(r[6]), device=r[7], flat=r[8])
    return AlarmRow(
        int(r[0]),
        str(r[1]),
        str(r[2]),
        int(r[3]),
        str(r[4]),
        Severity(r[5]),
        subject,
        int(r[10]),
        r[11],
        r[12],
        dict(r[13]),
        cleared_at=r[14],
        flapping=bool(r[15]),
        created=bool(r[16]),
    )


class PgAlarmStore:
    """`AlarmStore` on PostgreSQL."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self._pool = pool

    def _one(self, query: str, params: Mapping[str, Any]) -> AlarmRow | None:
        try:
            with self._pool.connection(timeout=CONNECTION_TIMEOUT_S) as conn:
                row = conn.execute(query, params).fetchone()
        except (psycopg.Error, TimeoutError) as exc:
            raise AlarmStoreError(f"alarm store: {exc}") from exc
        return None if row is None else _row(row)

    def raise_alarm(self, r: Raise) -> AlarmRow | None:
        s = r.signal
        return self._one(
            _RAISE,
            {
                "fingerprint": s.fingerprint,
                "trigger": s.trigger,
                "now": r.now,
                "rule_id": s.rule_id,
                "version": r.rule_version,
                "title": r.title,
                "severity": r.severity.value,
                "compound": s.subject.compound,
                "device": s.subject.device,
                "flat": s.subject.flat,
                "subject": s.subject.key,
                "at": s.at,
                "values": Jsonb(dict(s.values)),
                "ranks": _RANKS,
            },
        )

    def clear_alarm(
        self, alarm_id: int, *, at: datetime, calm_since: datetime, values: Mapping[str, Any]
    ) -> AlarmRow | None:
        params = {"id": alarm_id, "at": at, "calm_since": calm_since, "values": Jsonb(dict(values))}
        return self._one(_CLEAR, params)

    def set_flapping(self, alarm_id: int, flapping: bool) -> AlarmRow | None:
        return self._one(
            f"UPDATE alarms SET flapping = %(f)s WHERE id = %(id)s AND cleared_at IS NULL"
            f" RETURNING {_COLUMNS}, false",
            {"id": alarm_id, "f": flapping},
        )

    def find_open(self, fingerprint: str) -> AlarmRow | None:
        return self._one(
            f"SELECT {_COLUMNS}, false FROM alarms WHERE fingerprint = %(fp)s"
            " AND cleared_at IS NULL",
            {"fp": fingerprint},
        )

    def open_alarms(self) -> list[AlarmRow]:
        try:
            with self._pool.connection(timeout=CONNECTION_TIMEOUT_S) as conn:
                rows = conn.execute(
                    f"SELECT {_COLUMNS}, false FROM alarms WHERE cleared_at IS NULL"
                ).fetchall()
        except (psycopg.Error, TimeoutError) as exc:
            raise AlarmStoreError(f"alarm store: {exc}") from exc
        return [_row(r) for r in rows]


# --- rule state --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StateRow:
    rule_id: str
    key: str
    kind: str
    rule_version: int
    state: Mapping[str, Any]
    watermark: datetime


class StateStore(Protocol):
    def load(self) -> list[StateRow]: ...

    def fetch(self, rule_id: str, keys: Sequence[str]) -> dict[str, Mapping[str, Any]]: ...

    def save(self, rows: Sequence[StateRow], *, now: datetime) -> None: ...


_SAVE = """
INSERT INTO rule_state AS s (rule_id, key, kind, rule_version, state, watermark, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (rule_id, key) DO UPDATE SET
    kind = excluded.kind, rule_version = excluded.rule_version, state = excluded.state,
    watermark = excluded.watermark, updated_at = excluded.updated_at
WHERE excluded.watermark >= s.watermark
"""


class PgStateStore:
    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self._pool = pool

    def load(self) -> list[StateRow]:
        query = "SELECT rule_id, key, kind, rule_version, state, watermark FROM rule_state"
        try:
            with self._pool.connection(timeout=CONNECTION_TIMEOUT_S) as conn:
                rows = conn.execute(query).fetchall()
        except (psycopg.Error, TimeoutError) as exc:
            raise AlarmStoreError(f"state store: {exc}") from exc
        return [StateRow(str(r[0]), str(r[1]), str(r[2]), int(r[3]), r[4], r[5]) for r in rows]

    def fetch(self, rule_id: str, keys: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        query = "SELECT key, state FROM rule_state WHERE rule_id = %s AND key = ANY(%s)"
        try:
            with self._pool.connection(timeout=CONNECTION_TIMEOUT_S) as conn:
                rows = conn.execute(query, (rule_id, list(keys))).fetchall()
        except (psycopg.Error, TimeoutError) as exc:
            raise AlarmStoreError(f"state store: {exc}") from exc
        return {str(r[0]): r[1] for r in rows}

    def save(self, rows: Sequence[StateRow], *, now: datetime) -> None:
        params = [
            (r.rule_id, r.key, r.kind, r.rule_version, Jsonb(dict(r.state)), r.watermark, now)
            for r in rows
        ]
        try:
            with self._pool.connection(timeout=CONNECTION_TIMEOUT_S) as conn, conn.transaction():
                if params:
                    with conn.cursor() as cur:
                        cur.executemany(_SAVE, params)
                conn.execute(
                    "DELETE FROM alarm_triggers WHERE seen_at < %s", (now - TRIGGER_RETENTION,)
                )
        except (psycopg.Error, TimeoutError) as exc:
            raise AlarmStoreError(f"state store: {exc}") from exc


class MemoryStateStore:
    """The state store's semantics in memory (tests, replay)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], StateRow] = {}

    def load(self) -> list[StateRow]:
        return list(self.rows.values())

    def fetch(self, rule_id: str, keys: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        found = (self.rows.get((rule_id, k)) for k in keys)
        return {r.key: r.state for r in found if r is not None}

    def save(self, rows: Iterable[StateRow], *, now: datetime) -> None:
        for r in rows:
            old = self.rows.get((r.rule_id, r.key))
            if old is None or r.watermark >= old.watermark:
                self.rows[(r.rule_id, r.key)] = r
