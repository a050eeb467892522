"""Loading a compound file: the registry made to match it for the compounds it names.

Loading is a diff: each table's rows for the compound are compared with the file, and
only what differs is inserted, updated or deleted, each difference written to
`registry_changes` with the actor and time. Loading the same file twice changes
nothing and logs nothing. Contact and health details are diffed like the rest but
logged as field names only: a change log must not become a copy of personal data.
Compounds named in the file keep only the devices it lists; other compounds are left
alone, so a district can be loaded one compound file at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from domain import ALL_DAYS, Compound, CompoundFile, HouseholdTag, Language
from registry._db import Conn, transaction
from registry._errors import RegistryLoadError
from registry._organisations import add_link, put_organisations
from registry._tables import (
    _CONTACTS,
    _DEVICES,
    _QUIET,
    _TABLES,
    Key,
    RegistryLoad,
    Row,
    _current,
    _delete,
    _key,
    _Log,
    _upsert,
)


def load(conn: Conn, compound_file: CompoundFile, *, actor: str, now: datetime) -> RegistryLoad:
    """Make the registry match the file for the compounds it names, in one transaction."""
    counts = {"added": 0, "changed": 0, "removed": 0}
    with transaction(conn):
        before = {c.id: _current(conn, _DEVICES, c.id) for c in compound_file.compounds}
        _put_compounds(conn, compound_file)
        put_organisations(conn, compound_file.organisations, actor=actor, now=now)
        for compound in compound_file.compounds:
            _check_references(compound)
            log = _Log(conn, compound.id, actor, now, counts)
            log.diff(_DEVICES, before[compound.id], _current(conn, _DEVICES, compound.id))
            _sync(conn, compound, log)
            for party in compound.parties:  # a party's organisation serves the compound
                if party.organisation is not None:
                    add_link(conn, party.organisation, compound.id, actor=actor, now=now)
    return RegistryLoad(len(compound_file.compounds), **counts)


def _sync(conn: Conn, compound: Compound, log: _Log) -> None:
    wanted = _rows(compound)
    existing = {t.name: _current(conn, t, compound.id) for t in _TABLES}
    _keep_api_contacts(existing)
    try:
        for table in _TABLES:
            _upsert(conn, table, compound.id, existing[table.name], wanted[table.name], log)
        for table in reversed(_TABLES):
            _delete(conn, table, compound.id, existing[table.name], wanted[table.name], log)
    except psycopg.IntegrityError as exc:
        raise RegistryLoadError(compound.id, str(exc).strip()) from exc


def _keep_api_contacts(existing: dict[str, dict[Key, Row]]) -> None:
    """Contacts and quiet hours set through the API are not the file's to change: a load
    rewrites only the file's (`source` 'file'); the API's, while a person has any, are
    the ones used (`registry._contacts`). A staff member the file no longer lists goes,
    and all their contacts and quiet hours with them."""
    for table in (_CONTACTS, _QUIET):
        rows = existing[table.name]
        for key in [k for k, r in rows.items() if r["source"] != "file"]:
            del rows[key]


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
        "parties": [
            {"id": p.id, "kind": p.kind.value, "name": p.name, "organisation_id": p.organisation}
            for p in c.parties
        ],
        "grids": [{"id": g.id, "name": g.name} for g in c.grids],
        "grid_buildings": [
            {"building_id": b, "grid_id": g.id} for g in c.grids for b in g.buildings
        ],
        "staff": [
            {"id": s.id, "name": s.name, "role": s.role.value, "party_id": s.party} for s in c.staff
        ],
        "staff_grids": [{"staff_id": s.id, "grid_id": g} for s in c.staff for g in s.grids],
        "grid_members": [{"grid_id": g, "staff_id": s, "role": r} for g, s, r in team],
        "staff_contacts": [
            {"staff_id": s.id, "position": i, "url": url, "source": "file"}
            for s in c.staff
            for i, url in enumerate(s.contacts)
        ],
        "rosters": [
            {"party_id": r.party, "grid_id": r.grid or "", "fallback": r.fallback}
            for r in c.rosters
        ],
        "roster_shifts": [
            {
                "party_id": r.party,
                "grid_id": r.grid or "",
                "position": i,
                "days": [d.value for d in ALL_DAYS if d in shift.days],
                "starts": _hhmm(shift.start),
                "ends": _hhmm(shift.end),
                "staff": shift.staff,
            }
            for r in c.rosters
            for i, shift in enumerate(r.shifts)
        ],
        "emergency_contacts": [
            {
                "flat": h.flat,
                "position": i,
                "name": e.name,
                "url": e.contact,
                "language": e.language.value,
            }
            for h in households
            if h.consent
            for i, e in enumerate(h.emergency_contacts)
        ],
        "staff_quiet_hours": [
            {
                "staff_id": s.id,
                "source": "file",
                "starts": _hhmm(s.quiet_hours.start),
                "ends": _hhmm(s.quiet_hours.end),
            }
            for s in c.staff
            if s.quiet_hours is not None
        ],
        "staff_languages": [  # the default, Chinese, is no row
            {"staff_id": s.id, "language": s.language.value}
            for s in c.staff
            if s.language is not Language.ZH
        ],
    }
    return {t.name: {_key(t, row): row for row in rows[t.name]} for t in _TABLES}


def _hhmm(t: time) -> str:
    return t.strftime("%H:%M")


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
        ("roster", "party", [r.party for r in c.rosters], parties),
        ("roster", "grid", [r.grid for r in c.rosters if r.grid], grids),
        ("roster", "staff member", [m for r in c.rosters for m in r.members()], staff),
    ]
    for owner, what, refs, known in checks:
        missing = sorted(set(refs) - known)
        if missing:
            raise RegistryLoadError(c.id, f"a {owner} names an unregistered {what}: {missing[0]}")


def _team(grid: Any) -> list[str]:
    t = grid.team
    return [m for m in (t.cadre, t.community_worker, *t.volunteers) if m is not None]


def _put_compounds(conn: Conn, registry: CompoundFile) -> None:
    """Upsert the file's compounds and their devices; a compound's unlisted devices go
    (the diff in `registry_changes` is taken around this by the caller)."""
    for compound in registry.compounds:
        # Contact URLs may hold credentials: they live in staff_contacts only; relatives'
        # contacts are personal data: in emergency_contacts only, and only with consent.
        document = compound.model_dump(
            mode="json",
            exclude={
                "devices": True,
                "staff": {"__all__": {"contacts"}},
                "households": {"__all__": {"emergency_contacts"}},
            },
        )
        conn.execute(
            "INSERT INTO compounds (id, name, lat, lon, timezone, document)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
            " name = excluded.name, lat = excluded.lat, lon = excluded.lon,"
            " timezone = excluded.timezone, document = excluded.document, updated_at = now()",
            (
                compound.id,
                compound.name,
                compound.lat,
                compound.lon,
                compound.timezone,
                Jsonb(document),
            ),
        )
        rows = [
            (d.id, compound.id, d.kind.value, d.model, d.name, d.address, d.x, d.y, d.heartbeat())
            for d in compound.devices
        ]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO devices (id, compound_id, kind, model, name, address, x, y,"
                " heartbeat_s) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET compound_id = excluded.compound_id,"
                " kind = excluded.kind, model = excluded.model, name = excluded.name,"
                " address = excluded.address, x = excluded.x, y = excluded.y,"
                " heartbeat_s = excluded.heartbeat_s, updated_at = now()",
                rows,
            )
        conn.execute(
            "DELETE FROM devices WHERE compound_id = %s AND NOT (id = ANY(%s))",
            (compound.id, [d.id for d in compound.devices]),
        )
