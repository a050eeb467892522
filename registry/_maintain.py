"""The registry's small maintenance, for the API: household tags, residents moving in
and out, their contact and health details (for the roles that need them, every read
audited), staff; and the change log read back. Every change goes through `_Log`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domain import Device, HouseholdTag, Kind, StaffRole
from registry._db import Conn, reading, transaction
from registry._errors import AccessDenied, AlreadyRegistered, DeviceTaken, NotRegistered
from registry._load import _tags
from registry._scope import EVERYTHING, Scope
from registry._tables import (
    _DETAILS,
    _DEVICES,
    _HOUSEHOLDS,
    _RESIDENTS,
    _STAFF,
    _STAFF_GRIDS,
    PERSONAL_DATA_ROLES,
    RegistryChange,
    ResidentDetails,
    _counts,
    _Log,
    _one,
    _put,
    _remove,
)


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
            raise NotRegistered("flat", f"no household at {flat} in compound {compound}")
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


# The flat a change of a household, a flat or a resident concerns (a resident's details
# by their current flat: a moved-out resident's have none, and so no grid sees them).
_CHANGE_FLAT = (
    "CASE c.entity WHEN 'households' THEN c.key WHEN 'flats' THEN c.key"
    " WHEN 'residents' THEN coalesce(c.after->>'flat', c.before->>'flat')"
    " WHEN 'resident_details' THEN (SELECT r.flat FROM residents r"
    "  WHERE r.compound_id = c.compound_id AND r.ref = c.key) END"
)
_ABOUT_PEOPLE = "('households', 'flats', 'residents', 'resident_details')"


def registry_changes(
    conn: Conn, compound: str, *, scope: Scope = EVERYTHING, after_id: int = 0, limit: int = 100
) -> list[RegistryChange]:
    """The change log of a compound, oldest first, resuming after `after_id`. A
    grid-bound reader gets the changes of households, flats and residents in their
    grids only (and the compound's other changes)."""
    where = ""
    if scope.grid_bound:
        where = (
            f" AND (c.entity NOT IN {_ABOUT_PEOPLE} OR coalesce("
            + scope.address_filter("c.compound_id", _CHANGE_FLAT).removeprefix(" AND ")
            + ", false))"
        )
    with reading():
        rows = conn.execute(
            "SELECT c.id, c.at, c.actor, c.compound_id, c.entity, c.key, c.change, c.before,"
            " c.after FROM registry_changes c"
            " WHERE c.compound_id = %(compound)s AND c.id > %(after)s"
            f"{where} ORDER BY c.id LIMIT %(limit)s",
            {"compound": compound, "after": after_id, "limit": limit, **scope.params()},
        ).fetchall()
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
            raise NotRegistered("flat", f"no flat {flat} in compound {compound}")
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
            raise NotRegistered("compound", f"no compound {compound}")
        if party is not None and not _exists(conn, "parties", compound, party):
            raise NotRegistered("party", f"no party {party} in compound {compound}")
        missing = sorted(g for g in set(grids) if not _exists(conn, "grids", compound, g))
        if missing:
            raise NotRegistered("grids", f"no grid {missing[0]} in compound {compound}")
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


def add_device(conn: Conn, compound: str, device: Device, *, actor: str, now: datetime) -> None:
    """Register a new device in `compound` (provisioning; its broker account is the
    caller's to create). Its address must name a building of the compound, and an
    elderly-care device's a flat of it; a device id is unique across compounds."""
    with transaction(conn):
        if conn.execute("SELECT 1 FROM compounds WHERE id = %s", (compound,)).fetchone() is None:
            raise NotRegistered("compound", f"no compound {compound}")
        taken = conn.execute(
            "SELECT compound_id FROM devices WHERE id = %s FOR UPDATE", (device.id,)
        ).fetchone()
        if taken is not None:
            raise DeviceTaken(device.id, str(taken[0]))
        if device.address is not None:
            building = device.address.split("-")[0]
            if not _exists(conn, "buildings", compound, building):
                raise NotRegistered("address", f"no building {building} in compound {compound}")
        if device.kind is Kind.ELDER:
            flat = device.address or ""
            known = conn.execute(
                "SELECT 1 FROM flats WHERE compound_id = %s AND address = %s", (compound, flat)
            ).fetchone()
            if known is None:
                raise NotRegistered(
                    "address", f"an elderly-care device hangs in a flat; no flat {flat!r}"
                )
        row = {
            "id": device.id,
            "kind": device.kind.value,
            "model": device.model,
            "name": device.name,
            "address": device.address,
            "x": device.x,
            "y": device.y,
            "heartbeat_s": device.heartbeat(),
        }
        conn.execute(
            "INSERT INTO devices (id, compound_id, kind, model, name, address, x, y, heartbeat_s)"
            " VALUES (%(id)s, %(compound)s, %(kind)s, %(model)s, %(name)s, %(address)s, %(x)s,"
            " %(y)s, %(heartbeat_s)s)",
            {**row, "compound": compound},
        )
        _Log(conn, compound, actor, now, _counts()).record(_DEVICES, (device.id,), None, row)


def remove_device(conn: Conn, device_id: str, *, actor: str, now: datetime) -> str | None:
    """Deregister a device (retirement; its stored history stays); returns its compound,
    or None when no compound has it."""
    with transaction(conn):
        found = conn.execute(
            "SELECT compound_id FROM devices WHERE id = %s FOR UPDATE", (device_id,)
        ).fetchone()
        if found is None:
            return None
        compound = str(found[0])
        old = _one(conn, _DEVICES, compound, (device_id,))
        _remove(conn, _DEVICES, compound, (device_id,))
        _Log(conn, compound, actor, now, _counts()).record(_DEVICES, (device_id,), old, None)
    return compound
