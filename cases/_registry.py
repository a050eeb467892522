"""The full registry: a compound file into the 0004 tables, and its small maintenance.

Loading is a diff: each table's rows for the compound are compared with the file, and
only what differs is inserted, updated or deleted, each difference written to
`registry_changes` with the actor and time. Loading the same file twice changes
nothing and logs nothing. Contact and health details are diffed like the rest but
logged as field names only: a change log must not become a copy of personal data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

import ingest
from cases._db import Conn, transaction
from cases._errors import (
    AccessDenied,
    AlreadyRegistered,
    CaseStoreError,
    InvalidRequest,
    RegistryLoadError,
)
from domain import Compound, CompoundFile, HouseholdTag, StaffRole

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
    _Table("parties", ("id",), ("kind", "name")),
    _Table("grids", ("id",), ("name",)),
    _Table("grid_buildings", ("building_id",), ("grid_id",)),
    _Table("staff", ("id",), ("name", "role", "party_id")),
    _Table("staff_grids", ("staff_id", "grid_id")),
    _Table("grid_members", ("grid_id", "staff_id"), ("role",)),
)
_DEVICES = _Table("devices", ("id",), ("kind", "model", "name", "address", "x", "y", "heartbeat_s"))
_BY_NAME = {t.name: t for t in _TABLES}
_HOUSEHOLDS = _BY_NAME["households"]
_RESIDENTS = _BY_NAME["residents"]
_DETAILS = _BY_NAME["resident_details"]
_STAFF = _BY_NAME["staff"]
_STAFF_GRIDS = _BY_NAME["staff_grids"]


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


def load_full_registry(
    conn: Conn, compound_file: CompoundFile, *, actor: str, now: datetime
) -> RegistryLoad:
    """Make the registry match the file for the compounds it names, in one transaction."""
    counts = {"added": 0, "changed": 0, "removed": 0}
    with transaction(conn):
        before = {c.id: _current(conn, _DEVICES, c.id) for c in compound_file.compounds}
        ingest.load_registry(conn, compound_file)  # compounds and devices: ingest owns them
        for compound in compound_file.compounds:
            _check_references(compound)
            log = _Log(conn, compound.id, actor, now, counts)
            log.diff(_DEVICES, before[compound.id], _current(conn, _DEVICES, compound.id))
            _sync(conn, compound, log)
    return RegistryLoad(len(compound_file.compounds), **counts)


def _sync(conn: Conn, compound: Compound, log: _Log) -> None:
    wanted = _rows(compound)
    existing = {t.name: _current(conn, t, compound.id) for t in _TABLES}
    try:
        for table in _TABLES:
            _upsert(conn, table, compound.id, existing[table.name], wanted[table.name], log)
        for table in reversed(_TABLES):
            _delete(conn, table, compound.id, existing[table.name], wanted[table.name], log)
    except psycopg.IntegrityError as exc:
        raise RegistryLoadError(compound.id, str(exc).strip()) from exc


def _rows(c: Compound) -> dict[str, dict[Key, Row]]:
    households = c.households
    residents = [(h.flat, r) for h in households for r in h.residents]
    team = [
        (g.id, member, role)
        for g in c.grids
        for role, members in (
            ("cadre", [g.team.cadre]),
            ("community_worker", [g.team.community_worker]),
            ("volunteer", g.team.volunteers),
        )
        for member in members
        if member is not None
    ]
    rows: dict[str, list[Row]] = {
        "buildings": [
            b.model_dump(include={"id", "name", "floors", "x", "y", "width", "depth"})
            for b in c.buildings
        ],
        "units": [{"building_id": b.id, "id": u.id} for b in c.buildings for u in b.units],
        "flats": [
            {"address": f"{b.id}-{u.id}-{f}", "building_id": b.id, "unit_id": u.id, "flat": f}
            for b in c.buildings
            for u in b.units
            for f in u.flats
        ],
        "households": [{"flat": h.flat, "tags": _tags(h.tags)} for h in households],
        "residents": [
            {"ref": r.ref, "flat": f, "birth_year": r.birth_year, "lives_alone": r.lives_alone}
            for f, r in residents
        ],
        "resident_details": [
            {"ref": r.ref, "contact": r.contact, "health_notes": r.health_notes}
            for _, r in residents
            if r.contact is not None or r.health_notes is not None
        ],
        "parties": [{"id": p.id, "kind": p.kind.value, "name": p.name} for p in c.parties],
        "grids": [{"id": g.id, "name": g.name} for g in c.grids],
        "grid_buildings": [
            {"building_id": b, "grid_id": g.id} for g in c.grids for b in g.buildings
        ],
        "staff": [
            {"id": s.id, "name": s.name, "role": s.role.value, "party_id": s.party} for s in c.staff
        ],
        "staff_grids": [{"staff_id": s.id, "grid_id": g} for s in c.staff for g in s.grids],
        "grid_members": [{"grid_id": g, "staff_id": s, "role": r} for g, s, r in team],
    }
    return {t.name: {_key(t, row): row for row in rows[t.name]} for t in _TABLES}


def _tags(tags: Iterable[HouseholdTag]) -> list[str]:
    return sorted({t.value for t in tags})


def _check_references(c: Compound) -> None:
    """Name the first dangling reference plainly, before a foreign key would."""
    flats = {f"{b.id}-{u.id}-{f}" for b in c.buildings for u in b.units for f in u.flats}
    buildings = {b.id for b in c.buildings}
    staff = {s.id for s in c.staff}
    parties = {p.id for p in c.parties}
    grids = {g.id for g in c.grids}
    checks = [
        ("household", "flat", [h.flat for h in c.households], flats),
        ("grid", "building", [b for g in c.grids for b in g.buildings], buildings),
        ("grid team", "staff member", [m for g in c.grids for m in _team(g)], staff),
        ("staff", "party", [s.party for s in c.staff if s.party], parties),
        ("staff", "grid", [g for s in c.staff for g in s.grids], grids),
    ]
    for owner, what, refs, known in checks:
        missing = sorted(set(refs) - known)
        if missing:
            raise RegistryLoadError(c.id, f"a {owner} names an unregistered {what}: {missing[0]}")


def _team(grid: Any) -> list[str]:
    t = grid.team
    return [m for m in (t.cadre, t.community_worker, *t.volunteers) if m is not None]


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
        self._conn.execute(
            "INSERT INTO registry_changes (at, actor, compound_id, entity, key, change,"
            " before, after) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                self._now,
                self._actor,
                self._compound,
                table.name,
                "/".join(key),
                change,
                None if before is None else Jsonb(before),
                None if after is None else Jsonb(after),
            ),
        )


def _redacted(before: Row | None, after: Row | None) -> tuple[Row | None, Row | None]:
    fields = [k for k in (after or before or {}) if (before or {}).get(k) != (after or {}).get(k)]
    mark = {"changed_fields": sorted(fields)}
    return (None if before is None else mark), (None if after is None else mark)


# --- reads and maintenance for the API ----------------------------------------------------


def grid_of(conn: Conn, compound: str, address: str | None) -> str | None:
    """The grid of a standard address (building, building-unit or building-unit-flat)."""
    if not address:
        return None
    row = conn.execute(
        "SELECT grid_id FROM grid_buildings WHERE compound_id = %s AND building_id = %s",
        (compound, address.split("-", 1)[0]),
    ).fetchone()
    return None if row is None else str(row[0])


def set_household_tags(
    conn: Conn,
    compound: str,
    flat: str,
    tags: Sequence[HouseholdTag],
    *,
    actor: str,
    now: datetime,
) -> list[str]:
    """Re-tag a household on the seven-colour map (e.g. a flat falls vacant); returns the
    tags now held. Setting the tags it already has changes and logs nothing."""
    table = _HOUSEHOLDS
    with transaction(conn):
        old = _one(conn, table, compound, (flat,))
        if old is None:
            raise InvalidRequest("flat", f"no household at {flat} in compound {compound}")
        new = {"flat": flat, "tags": _tags(tags)}
        if new != old:
            conn.execute(
                "UPDATE households SET tags = %s WHERE compound_id = %s AND flat = %s",
                (new["tags"], compound, flat),
            )
            _Log(conn, compound, actor, now, _counts()).record(table, (flat,), old, new)
    return list(new["tags"])


def read_resident_details(
    conn: Conn, compound: str, ref: str, *, actor: str, role: StaffRole, purpose: str, now: datetime
) -> ResidentDetails | None:
    """A resident's contact and health details, for the roles that need them; audited."""
    if role not in PERSONAL_DATA_ROLES:
        raise AccessDenied(actor, role.value, f"the personal details of {ref}")
    with transaction(conn):
        conn.execute(
            "INSERT INTO personal_data_reads (at, actor, role, compound_id, ref, purpose)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (now, actor, role.value, compound, ref, purpose),
        )
        row = conn.execute(
            "SELECT r.ref, r.flat, d.contact, d.health_notes FROM residents r"
            " LEFT JOIN resident_details d USING (compound_id, ref)"
            " WHERE r.compound_id = %s AND r.ref = %s",
            (compound, ref),
        ).fetchone()
    return None if row is None else ResidentDetails(*row)


def registry_changes(
    conn: Conn, compound: str, *, after_id: int = 0, limit: int = 100
) -> list[RegistryChange]:
    """The change log of a compound, oldest first, resuming after `after_id`."""
    try:
        rows = conn.execute(
            "SELECT id, at, actor, compound_id, entity, key, change, before, after"
            " FROM registry_changes WHERE compound_id = %s AND id > %s ORDER BY id LIMIT %s",
            (compound, after_id, limit),
        ).fetchall()
    except psycopg.Error as exc:
        raise CaseStoreError(f"the database failed: {exc}") from exc
    return [RegistryChange(*r) for r in rows]


def set_resident_details(
    conn: Conn,
    compound: str,
    ref: str,
    *,
    contact: str | None,
    health_notes: str | None,
    actor: str,
    role: StaffRole,
    now: datetime,
) -> ResidentDetails | None:
    """Replace a resident's contact and health details (None for both removes them), for
    the roles that may read them; the log names the changed fields, never their values.
    None when the compound has no such resident."""
    if role not in PERSONAL_DATA_ROLES:
        raise AccessDenied(actor, role.value, f"or write the personal details of {ref}")
    with transaction(conn):
        resident = _one(conn, _RESIDENTS, compound, (ref,))
        if resident is None:
            return None
        old = _one(conn, _DETAILS, compound, (ref,))
        new = None
        if contact is not None or health_notes is not None:
            new = {"ref": ref, "contact": contact, "health_notes": health_notes}
        if new != old:
            if new is None:
                _remove(conn, _DETAILS, compound, (ref,))
            else:
                _put(conn, _DETAILS, compound, new)
            _Log(conn, compound, actor, now, _counts()).record(_DETAILS, (ref,), old, new)
    return ResidentDetails(ref, str(resident["flat"]), contact, health_notes)


def move_in(
    conn: Conn,
    compound: str,
    ref: str,
    flat: str,
    *,
    birth_year: int | None = None,
    lives_alone: bool = False,
    actor: str,
    now: datetime,
) -> None:
    """Register a resident at a flat (its household is created, untagged, if it has none).
    A resident already registered must move out first."""
    with transaction(conn):
        known = conn.execute(
            "SELECT 1 FROM flats WHERE compound_id = %s AND address = %s", (compound, flat)
        ).fetchone()
        if known is None:
            raise InvalidRequest("flat", f"no flat {flat} in compound {compound}")
        there = _one(conn, _RESIDENTS, compound, (ref,))
        if there is not None:
            raise AlreadyRegistered(compound, ref, there["flat"])
        log = _Log(conn, compound, actor, now, _counts())
        created = conn.execute(
            "INSERT INTO households (compound_id, flat) VALUES (%s, %s)"
            " ON CONFLICT DO NOTHING RETURNING flat",
            (compound, flat),
        ).fetchone()
        if created is not None:
            log.record(_HOUSEHOLDS, (flat,), None, {"flat": flat, "tags": []})
        row = {"ref": ref, "flat": flat, "birth_year": birth_year, "lives_alone": lives_alone}
        conn.execute(
            "INSERT INTO residents (compound_id, ref, flat, birth_year, lives_alone)"
            " VALUES (%s, %s, %s, %s, %s)",
            (compound, ref, flat, birth_year, lives_alone),
        )
        log.record(_RESIDENTS, (ref,), None, row)


def move_out(conn: Conn, compound: str, ref: str, *, actor: str, now: datetime) -> str | None:
    """Deregister a resident and their details; returns the flat they left (the household
    stays, to be re-tagged), or None when the compound has no such resident."""
    with transaction(conn):
        resident = _one(conn, _RESIDENTS, compound, (ref,))
        if resident is None:
            return None
        log = _Log(conn, compound, actor, now, _counts())
        details = _one(conn, _DETAILS, compound, (ref,))
        if details is not None:
            _remove(conn, _DETAILS, compound, (ref,))
            log.record(_DETAILS, (ref,), details, None)
        _remove(conn, _RESIDENTS, compound, (ref,))
        log.record(_RESIDENTS, (ref,), resident, None)
    return str(resident["flat"])


def put_staff(
    conn: Conn,
    compound: str,
    staff_id: str,
    *,
    name: str,
    role: StaffRole,
    party: str | None = None,
    grids: Sequence[str] = (),
    actor: str,
    now: datetime,
) -> bool:
    """Create or update a staff member with their party and grids; True if created.
    (Grid teams, "1 + 1 + N", are the compound file's; user accounts are the API's.)"""
    with transaction(conn):
        if conn.execute("SELECT 1 FROM compounds WHERE id = %s", (compound,)).fetchone() is None:
            raise InvalidRequest("compound", f"no compound {compound}")
        if party is not None and not _exists(conn, "parties", compound, party):
            raise InvalidRequest("party", f"no party {party} in compound {compound}")
        missing = sorted(g for g in set(grids) if not _exists(conn, "grids", compound, g))
        if missing:
            raise InvalidRequest("grids", f"no grid {missing[0]} in compound {compound}")
        log = _Log(conn, compound, actor, now, _counts())
        old = _one(conn, _STAFF, compound, (staff_id,))
        new = {"id": staff_id, "name": name, "role": role.value, "party_id": party}
        if new != old:
            _put(conn, _STAFF, compound, new)
            log.record(_STAFF, (staff_id,), old, new)
        had = {
            str(g)
            for (g,) in conn.execute(
                "SELECT grid_id FROM staff_grids WHERE compound_id = %s AND staff_id = %s",
                (compound, staff_id),
            ).fetchall()
        }
        for grid in sorted(set(grids) - had):
            row = {"staff_id": staff_id, "grid_id": grid}
            _put(conn, _STAFF_GRIDS, compound, row)
            log.record(_STAFF_GRIDS, (staff_id, grid), None, row)
        for grid in sorted(had - set(grids)):
            _remove(conn, _STAFF_GRIDS, compound, (staff_id, grid))
            log.record(
                _STAFF_GRIDS, (staff_id, grid), {"staff_id": staff_id, "grid_id": grid}, None
            )
    return old is None


def _exists(conn: Conn, table: str, compound: str, id_: str) -> bool:
    found = conn.execute(
        f"SELECT 1 FROM {table} WHERE compound_id = %s AND id = %s", (compound, id_)
    ).fetchone()
    return found is not None
