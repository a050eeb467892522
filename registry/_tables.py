"""The registry's tables as data (key and columns of each), the generic row operations
over them, and the change log every write goes through (`registry_changes`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from domain import StaffRole
from registry._db import Conn

Row = dict[str, Any]
Key = tuple[str, ...]

# Who may read a resident's contact and health details (DOMAIN.md, Privacy).
PERSONAL_DATA_ROLES = frozenset({StaffRole.CARE_RESPONDER, StaffRole.ADMIN})


@dataclass(frozen=True, slots=True)
class _Table:
    name: str
    key: tuple[str, ...]  # after compound_id
    columns: tuple[str, ...] = ()
    personal: bool = False  # log which fields changed, never their values


# In dependency order: inserted top down, deleted bottom up.
_TABLES = (
    _Table("buildings", ("id",), ("name", "floors", "x", "y", "width", "depth")),
    _Table("units", ("building_id", "id")),
    _Table("flats", ("address",), ("building_id", "unit_id", "flat")),
    _Table("households", ("flat",), ("tags",)),
    _Table("residents", ("ref",), ("flat", "birth_year", "lives_alone")),
    _Table("resident_details", ("ref",), ("contact", "health_notes"), personal=True),
    _Table("parties", ("id",), ("kind", "name", "organisation_id")),
    _Table("grids", ("id",), ("name",)),
    _Table("grid_buildings", ("building_id",), ("grid_id",)),
    _Table("staff", ("id",), ("name", "role", "party_id")),
    _Table("staff_grids", ("staff_id", "grid_id")),
    _Table("grid_members", ("grid_id", "staff_id"), ("role",)),
    _Table("staff_contacts", ("staff_id", "source", "position"), ("url",), personal=True),
    _Table("rosters", ("party_id", "grid_id"), ("fallback",)),
    _Table(
        "roster_shifts", ("party_id", "grid_id", "position"), ("days", "starts", "ends", "staff")
    ),
    _Table("staff_quiet_hours", ("staff_id", "source"), ("starts", "ends")),
    _Table("staff_languages", ("staff_id",), ("language",)),
    _Table("emergency_contacts", ("flat", "position"), ("name", "url", "language"), personal=True),
)
_DEVICES = _Table("devices", ("id",), ("kind", "model", "name", "address", "x", "y", "heartbeat_s"))
_BY_NAME = {t.name: t for t in _TABLES}
_HOUSEHOLDS = _BY_NAME["households"]
_RESIDENTS = _BY_NAME["residents"]
_DETAILS = _BY_NAME["resident_details"]
_STAFF = _BY_NAME["staff"]
_STAFF_GRIDS = _BY_NAME["staff_grids"]
_CONTACTS = _BY_NAME["staff_contacts"]
_QUIET = _BY_NAME["staff_quiet_hours"]


@dataclass(frozen=True, slots=True)
class RegistryLoad:
    compounds: int
    added: int
    changed: int
    removed: int


@dataclass(frozen=True, slots=True)
class RegistryChange:
    id: int
    at: datetime
    actor: str
    compound: str
    entity: str
    key: str
    change: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class ResidentDetails:
    ref: str
    flat: str
    contact: str | None
    health_notes: str | None


def _key(table: _Table, row: Mapping[str, Any]) -> Key:
    return tuple(str(row[k]) for k in table.key)


def _current(conn: Conn, table: _Table, compound: str) -> dict[Key, Row]:
    names = (*table.key, *table.columns)
    cur = conn.execute(
        f"SELECT {', '.join(names)} FROM {table.name} WHERE compound_id = %s", (compound,)
    )
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return {_key(table, row): row for row in rows}


def _upsert(
    conn: Conn, table: _Table, compound: str, old: dict[Key, Row], new: dict[Key, Row], log: _Log
) -> None:
    for key, row in new.items():
        if key in old and old[key] == row:
            continue
        _put(conn, table, compound, row)
        log.record(table, key, old.get(key), row)


def _put(conn: Conn, table: _Table, compound: str, row: Row) -> None:
    """Insert a row, or update the one with its key."""
    names = ("compound_id", *table.key, *table.columns)
    values = [compound, *(row[n] for n in names[1:])]
    conflict = ", ".join(("compound_id", *table.key))
    update = ", ".join(f"{c} = excluded.{c}" for c in table.columns) or None
    action = f"DO UPDATE SET {update}" if update else "DO NOTHING"
    conn.execute(
        f"INSERT INTO {table.name} ({', '.join(names)})"
        f" VALUES ({', '.join(['%s'] * len(names))}) ON CONFLICT ({conflict}) {action}",
        values,
    )


def _delete(
    conn: Conn, table: _Table, compound: str, old: dict[Key, Row], new: dict[Key, Row], log: _Log
) -> None:
    for key in old.keys() - new.keys():
        _remove(conn, table, compound, key)
        log.record(table, key, old[key], None)


def _remove(conn: Conn, table: _Table, compound: str, key: Key) -> None:
    match = " AND ".join(f"{k} = %s" for k in table.key)
    conn.execute(f"DELETE FROM {table.name} WHERE compound_id = %s AND {match}", (compound, *key))


def _one(conn: Conn, table: _Table, compound: str, key: Key) -> Row | None:
    """One row by its key, locked until the end of the transaction."""
    names = (*table.key, *table.columns)
    match = " AND ".join(f"{k} = %s" for k in table.key)
    found = conn.execute(
        f"SELECT {', '.join(names)} FROM {table.name} WHERE compound_id = %s AND {match}"
        " FOR UPDATE",
        (compound, *key),
    ).fetchone()
    return None if found is None else dict(zip(names, found, strict=True))


def _counts() -> dict[str, int]:
    return {"added": 0, "changed": 0, "removed": 0}


class _Log:
    """Writes registry_changes rows for one compound and counts them."""

    def __init__(
        self, conn: Conn, compound: str, actor: str, now: datetime, counts: dict[str, int]
    ) -> None:
        self._conn, self._compound, self._actor, self._now = conn, compound, actor, now
        self._counts = counts

    def diff(self, table: _Table, old: dict[Key, Row], new: dict[Key, Row]) -> None:
        for key in old.keys() | new.keys():
            if old.get(key) != new.get(key):
                self.record(table, key, old.get(key), new.get(key))

    def record(self, table: _Table, key: Key, before: Row | None, after: Row | None) -> None:
        change = "added" if before is None else "removed" if after is None else "changed"
        self._counts[change] += 1
        if table.personal:
            before, after = _redacted(before, after)
        log_change(
            self._conn,
            self._compound,
            table.name,
            "/".join(key),
            change,
            before,
            after,
            actor=self._actor,
            now=self._now,
        )


def log_change(
    conn: Conn,
    compound: str,
    entity: str,
    key: str,
    change: str,
    before: Row | None,
    after: Row | None,
    *,
    actor: str,
    now: datetime,
) -> None:
    """One row of `registry_changes`: every change of the registry is written here."""
    conn.execute(
        "INSERT INTO registry_changes (at, actor, compound_id, entity, key, change,"
        " before, after) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            now,
            actor,
            compound,
            entity,
            key,
            change,
            None if before is None else Jsonb(before),
            None if after is None else Jsonb(after),
        ),
    )


def _redacted(before: Row | None, after: Row | None) -> tuple[Row | None, Row | None]:
    fields = [k for k in (after or before or {}) if (before or {}).get(k) != (after or {}).get(k)]
    mark = {"changed_fields": sorted(fields)}
    return (None if before is None else mark), (None if after is None else mark)
