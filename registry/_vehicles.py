"""The vehicle registry: residents' plates per household and visitors' pre-registered
plates with their windows, set through the API (never by a compound file load).

Plates are personal data. Retention classes: `vehicle_plate`, a resident's plate, kept
while the household registers it (removing it, or the household, deletes it);
`visitor_plate`, a visitor's, deleted VISITOR_KEEP after its window ended
(`purge_visitor_passes`, run by parking's sweep). `known_plates` is what the rules and
parking read: every resident plate and every visitor window not yet purged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain import InvalidPlate, KnownPlates, parse_plate
from registry._db import Conn, reading, transaction
from registry._errors import NotRegistered, PlateTaken, ValueRefused
from registry._tables import _counts, _Log, _Table

# Logged in registry_changes by household (or pass), never naming the plate: grid
# workers read that log, and plates are for property staff.
_VEHICLES = _Table("vehicles", ("flat",), personal=True)
_VISITORS = _Table("visitor_passes", ("id",), personal=True)

# Kept past a visitor's window for disputes about a fee or an overstay alarm.
VISITOR_KEEP = timedelta(days=30)
# A pre-registration is for a visit; a longer stay is a resident's car or a lease.
MAX_VISITOR_WINDOW = timedelta(days=31)


@dataclass(frozen=True, slots=True)
class Vehicle:
    compound: str
    plate: str
    flat: str
    added_at: datetime
    added_by: str


@dataclass(frozen=True, slots=True)
class VisitorPass:
    id: int
    compound: str
    plate: str
    flat: str | None
    valid_from: datetime
    valid_to: datetime
    registered_at: datetime
    registered_by: str

    def current(self, now: datetime) -> bool:
        return self.valid_from <= now < self.valid_to


def checked_plate(raw: str) -> str:
    """The plate in normal form, or `ValueRefused` with the reason it is none."""
    try:
        return parse_plate(raw)
    except InvalidPlate as exc:
        raise ValueRefused(str(exc)) from exc


def add_vehicle(
    conn: Conn, compound: str, flat: str, plate: str, *, actor: str, now: datetime
) -> Vehicle:
    """Register a household's car; `PlateTaken` when the compound has it already."""
    plate = checked_plate(plate)
    with transaction(conn):
        _household(conn, compound, flat)
        held = conn.execute(
            "SELECT flat FROM vehicles WHERE compound_id = %s AND plate = %s", (compound, plate)
        ).fetchone()
        if held is not None:
            raise PlateTaken(compound, plate, str(held[0]))
        conn.execute(
            "INSERT INTO vehicles (compound_id, plate, flat, added_at, added_by)"
            " VALUES (%s, %s, %s, %s, %s)",
            (compound, plate, flat, now, actor),
        )
        _Log(conn, compound, actor, now, _counts()).record(
            _VEHICLES, (flat,), None, {"plate": plate}
        )
    return Vehicle(compound, plate, flat, now, actor)


def remove_vehicle(conn: Conn, compound: str, plate: str, *, actor: str, now: datetime) -> Vehicle:
    """Delete a registration (its retention ends with it); `NotRegistered` if none."""
    plate = checked_plate(plate)
    with transaction(conn):
        row = conn.execute(
            "DELETE FROM vehicles WHERE compound_id = %s AND plate = %s"
            " RETURNING flat, added_at, added_by",
            (compound, plate),
        ).fetchone()
        if row is not None:
            _Log(conn, compound, actor, now, _counts()).record(
                _VEHICLES, (str(row[0]),), {"plate": plate}, None
            )
    if row is None:
        raise NotRegistered("plate", f"no vehicle {plate} is registered in compound {compound}")
    return Vehicle(compound, plate, str(row[0]), row[1], str(row[2]))


def vehicles(conn: Conn, compound: str, flat: str | None = None) -> list[Vehicle]:
    with reading():
        rows = conn.execute(
            "SELECT plate, flat, added_at, added_by FROM vehicles WHERE compound_id = %s"
            " AND (%s::text IS NULL OR flat = %s) ORDER BY flat, plate",
            (compound, flat, flat),
        ).fetchall()
    return [Vehicle(compound, str(p), str(f), at, str(by)) for p, f, at, by in rows]


def register_visitor(
    conn: Conn,
    compound: str,
    plate: str,
    *,
    valid_from: datetime,
    valid_to: datetime,
    flat: str | None,
    actor: str,
    now: datetime,
) -> VisitorPass:
    """Pre-register a visitor's car for [valid_from, valid_to)."""
    plate = checked_plate(plate)
    if valid_to <= valid_from:
        raise ValueRefused("valid_to: the window must end after it starts")
    if valid_to - valid_from > MAX_VISITOR_WINDOW:
        raise ValueRefused(f"valid_to: a visit lasts at most {MAX_VISITOR_WINDOW.days} days")
    if valid_to <= now:
        raise ValueRefused("valid_to: the window has already ended")
    with transaction(conn):
        if flat is not None:
            _household(conn, compound, flat)
        elif conn.execute("SELECT 1 FROM compounds WHERE id = %s", (compound,)).fetchone() is None:
            raise NotRegistered("compound", f"no compound {compound}")
        row = conn.execute(
            "INSERT INTO visitor_passes (compound_id, plate, flat, valid_from, valid_to,"
            " purge_after, registered_at, registered_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " RETURNING id",
            (compound, plate, flat, valid_from, valid_to, valid_to + VISITOR_KEEP, now, actor),
        ).fetchone()
        assert row is not None
        _Log(conn, compound, actor, now, _counts()).record(
            _VISITORS, (str(row[0]),), None, {"plate": plate, "flat": flat}
        )
    return VisitorPass(int(row[0]), compound, plate, flat, valid_from, valid_to, now, actor)


def visitor_passes(conn: Conn, compound: str, *, ending_after: datetime) -> list[VisitorPass]:
    """The compound's visitor passes whose window ends after `ending_after`."""
    with reading():
        rows = conn.execute(
            "SELECT id, plate, flat, valid_from, valid_to, registered_at, registered_by"
            " FROM visitor_passes WHERE compound_id = %s AND valid_to > %s"
            " ORDER BY valid_from, id",
            (compound, ending_after),
        ).fetchall()
    return [
        VisitorPass(int(i), compound, str(p), f, vf, vt, at, str(by))
        for i, p, f, vf, vt, at, by in rows
    ]


def known_plates(conn: Conn) -> KnownPlates:
    """Every compound's resident plates and visitor windows (the rules' and parking's)."""
    with reading():
        residents = conn.execute("SELECT compound_id, plate FROM vehicles").fetchall()
        visitors = conn.execute(
            "SELECT compound_id, plate, valid_from, valid_to FROM visitor_passes"
        ).fetchall()
    return KnownPlates.build(
        [(str(c), str(p)) for c, p in residents],
        [(str(c), str(p), vf, vt) for c, p, vf, vt in visitors],
    )


def purge_visitor_passes(conn: Conn, now: datetime) -> int:
    """Delete visitor passes past their retention (`visitor_plate`); how many."""
    with transaction(conn):
        cur = conn.execute("DELETE FROM visitor_passes WHERE purge_after <= %s", (now,))
        return cur.rowcount


def _household(conn: Conn, compound: str, flat: str) -> None:
    found = conn.execute(
        "SELECT 1 FROM households WHERE compound_id = %s AND flat = %s", (compound, flat)
    ).fetchone()
    if found is None:
        raise NotRegistered("flat", f"no household at {flat} in compound {compound}")
