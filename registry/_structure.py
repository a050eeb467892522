"""The registry's structure maintained through the API (issue 20): compounds, buildings
with their units and flats, grids with their buildings. Each change is logged like a
load's (`registry_changes`, with the actor); a later load of a compound file makes the
compound match the file again, as for every other maintenance.

A flat that a household lives in is never removed by a building's change (the household
must move out first), so that no resident, device or case loses its address unnoticed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from domain import Building
from registry._db import Conn, transaction
from registry._errors import NotRegistered, ValueRefused
from registry._tables import (
    _BY_NAME,
    Key,
    Row,
    _counts,
    _current,
    _Log,
    _put,
    _remove,
    log_change,
)

_BUILDINGS = _BY_NAME["buildings"]
_UNITS = _BY_NAME["units"]
_FLATS = _BY_NAME["flats"]
_GRIDS = _BY_NAME["grids"]
_GRID_BUILDINGS = _BY_NAME["grid_buildings"]
# The compound's own record as the log shows it (the table `compounds` is not in _TABLES).
_COMPOUND_FIELDS = ("name", "address", "lat", "lon", "timezone", "parking_spaces")


def put_compound(
    conn: Conn, compound: str, record: dict[str, Any], *, actor: str, now: datetime
) -> bool:
    """Create or change a compound's own record (name, address, position, time zone,
    parking spaces); True when created. Its buildings, grids, ... are their own calls."""
    with transaction(conn):
        found = conn.execute(
            "SELECT name, lat, lon, timezone, document FROM compounds WHERE id = %s FOR UPDATE",
            (compound,),
        ).fetchone()
        document = dict(found[4] or {}) if found else {"id": compound}
        before = None
        if found is not None:
            document.update(name=found[0], lat=found[1], lon=found[2], timezone=found[3])
            before = {k: document.get(k) for k in _COMPOUND_FIELDS}
        after = {k: record.get(k) for k in _COMPOUND_FIELDS}
        if before == after:
            return False
        document.update(after)
        conn.execute(
            "INSERT INTO compounds (id, name, lat, lon, timezone, document) VALUES"
            " (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
            " lat = excluded.lat, lon = excluded.lon, timezone = excluded.timezone,"
            " document = excluded.document, updated_at = now()",
            (
                compound,
                after["name"],
                after["lat"],
                after["lon"],
                after["timezone"],
                Jsonb(document),
            ),
        )
        change = "added" if before is None else "changed"
        log_change(
            conn, compound, "compounds", compound, change, before, after, actor=actor, now=now
        )
    return found is None


def put_building(
    conn: Conn, compound: str, building: Building, *, actor: str, now: datetime
) -> bool:
    """Create or change a building with its units and flats (the lists replace the
    current ones); True when created. A flat with a household is not removed."""
    with transaction(conn):
        _compound_exists(conn, compound)
        log = _Log(conn, compound, actor, now, _counts())
        row = building.model_dump(include={"id", "name", "floors", "x", "y", "width", "depth"})
        old = _current(conn, _BUILDINGS, compound).get((building.id,))
        created = old is None
        if old != row:
            _put(conn, _BUILDINGS, compound, row)
            log.record(_BUILDINGS, (building.id,), old, row)
        units: dict[Key, Row] = {
            (building.id, u.id): {"building_id": building.id, "id": u.id} for u in building.units
        }
        flats: dict[Key, Row] = {
            (f"{building.id}-{u.id}-{f}",): {
                "address": f"{building.id}-{u.id}-{f}",
                "building_id": building.id,
                "unit_id": u.id,
                "flat": f,
            }
            for u in building.units
            for f in u.flats
        }
        old_units = _of(conn, _UNITS, compound, building.id, "building_id")
        old_flats = _of(conn, _FLATS, compound, building.id, "building_id")
        gone = sorted(k[0] for k in old_flats.keys() - flats.keys())
        lived_in = _households(conn, compound, gone)
        if lived_in:
            raise ValueRefused(
                f"flat {lived_in[0]} of building {building.id} has a household: move it out"
                " (DELETE /residents/...) before the flat goes"
            )
        _sync(conn, compound, _UNITS, old_units, units, log)
        _sync(conn, compound, _FLATS, old_flats, flats, log)
    return created


def put_grid(
    conn: Conn,
    compound: str,
    grid: str,
    *,
    name: str | None,
    buildings: list[str],
    actor: str,
    now: datetime,
) -> bool:
    """Create or change a grid and the buildings it holds (a building moves from the grid
    it was in); True when created."""
    with transaction(conn):
        _compound_exists(conn, compound)
        known = {k[0] for k in _current(conn, _BUILDINGS, compound)}
        missing = sorted(set(buildings) - known)
        if missing:
            raise NotRegistered("buildings", f"no building {missing[0]} in compound {compound}")
        log = _Log(conn, compound, actor, now, _counts())
        old = _current(conn, _GRIDS, compound).get((grid,))
        row = {"id": grid, "name": name}
        if old != row:
            _put(conn, _GRIDS, compound, row)
            log.record(_GRIDS, (grid,), old, row)
        held = _current(conn, _GRID_BUILDINGS, compound)
        for b in sorted(set(buildings)):
            new = {"building_id": b, "grid_id": grid}
            if held.get((b,)) != new:
                _put(conn, _GRID_BUILDINGS, compound, new)
                log.record(_GRID_BUILDINGS, (b,), held.get((b,)), new)
        for key, was in held.items():
            if was["grid_id"] == grid and key[0] not in buildings:
                _remove(conn, _GRID_BUILDINGS, compound, key)
                log.record(_GRID_BUILDINGS, key, was, None)
    return old is None


def _compound_exists(conn: Conn, compound: str) -> None:
    if conn.execute("SELECT 1 FROM compounds WHERE id = %s", (compound,)).fetchone() is None:
        raise NotRegistered("compound", f"no compound {compound}")


def _of(conn: Conn, table: Any, compound: str, building: str, column: str) -> dict[Key, Row]:
    return {k: r for k, r in _current(conn, table, compound).items() if r[column] == building}


def _households(conn: Conn, compound: str, flats: list[str]) -> list[str]:
    found = conn.execute(
        "SELECT flat FROM households WHERE compound_id = %s AND flat = ANY(%s) ORDER BY flat",
        (compound, flats),
    ).fetchall()
    return [str(r[0]) for r in found]


def _sync(
    conn: Conn, compound: str, table: Any, old: dict[Key, Row], new: dict[Key, Row], log: _Log
) -> None:
    """Make `table`'s rows of a building `new` (a removed unit takes its flats with it:
    their removal is logged by the flats' own call)."""
    for key, row in new.items():
        if old.get(key) != row:
            _put(conn, table, compound, row)
            log.record(table, key, old.get(key), row)
    for key in sorted(old.keys() - new.keys()):
        _remove(conn, table, compound, key)
        log.record(table, key, old[key], None)
