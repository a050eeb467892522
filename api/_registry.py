"""The registry (tables of migration 0004, written by `cases`), read for the API with the
caller's scope. Residents' contact and health details are read only through
`cases.read_resident_details`, which enforces the roles and records the read."""

from __future__ import annotations

from typing import Any

from api._access import User, address_scope, scope_params
from api._db import Conn, row, rows

_IN_COMPOUND = "(%(compound)s::text IS NULL OR {a}.compound_id = %(compound)s)"


def _page(
    conn: Conn, select: str, frm: str, order: str, params: dict[str, Any], limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    data = rows(
        conn,
        f"SELECT {select} {frm} ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": limit, "offset": offset},
    )
    total = row(conn, f"SELECT count(*) AS n {frm}", params)
    return data, int(total["n"]) if total else 0


def compounds(
    conn: Conn, *, compound: str | None = None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    return _page(
        conn,
        "c.id, c.name, c.lat, c.lon, c.timezone,"
        " (SELECT count(*) FROM devices d WHERE d.compound_id = c.id) AS devices",
        "FROM compounds c WHERE (%(compound)s::text IS NULL OR c.id = %(compound)s)",
        "c.id",
        {"compound": compound},
        limit,
        offset,
    )


def buildings(
    conn: Conn, user: User, *, compound: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    frm = (
        "FROM buildings b LEFT JOIN grid_buildings g"
        " ON g.compound_id = b.compound_id AND g.building_id = b.id"
        f" WHERE {_IN_COMPOUND.format(a='b')}" + address_scope(user, "b.compound_id", "b.id")
    )
    select = (
        "b.compound_id AS compound, b.id, b.name, b.floors, g.grid_id AS grid,"
        " b.x, b.y, b.width, b.depth"
    )
    params = {"compound": compound, **scope_params(user)}
    return _page(conn, select, frm, "b.compound_id, b.id", params, limit, offset)


def flats(
    conn: Conn, user: User, *, compound: str | None, building: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    frm = (
        f"FROM flats f WHERE {_IN_COMPOUND.format(a='f')}"
        " AND (%(building)s::text IS NULL OR f.building_id = %(building)s)"
        + address_scope(user, "f.compound_id", "f.address")
    )
    select = "f.compound_id AS compound, f.address, f.building_id AS building, f.unit_id AS unit"
    params = {"compound": compound, "building": building, **scope_params(user)}
    return _page(conn, select, frm, "f.compound_id, f.address", params, limit, offset)


def households(
    conn: Conn, user: User, *, compound: str | None, tag: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    frm = (
        f"FROM households h WHERE {_IN_COMPOUND.format(a='h')}"
        " AND (%(tag)s::text IS NULL OR %(tag)s = ANY(h.tags))"
        + address_scope(user, "h.compound_id", "h.flat")
    )
    params = {"compound": compound, "tag": tag, **scope_params(user)}
    return _page(
        conn,
        "h.compound_id AS compound, h.flat, h.tags",
        frm,
        "h.compound_id, h.flat",
        params,
        limit,
        offset,
    )


def residents(
    conn: Conn, user: User, *, compound: str | None, flat: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    frm = (
        f"FROM residents r WHERE {_IN_COMPOUND.format(a='r')}"
        " AND (%(flat)s::text IS NULL OR r.flat = %(flat)s)"
        + address_scope(user, "r.compound_id", "r.flat")
    )
    params = {"compound": compound, "flat": flat, **scope_params(user)}
    select = "r.compound_id AS compound, r.ref, r.flat, r.birth_year, r.lives_alone"
    return _page(conn, select, frm, "r.compound_id, r.flat, r.ref", params, limit, offset)


def resident(conn: Conn, user: User, compound: str, ref: str) -> dict[str, Any] | None:
    return row(
        conn,
        "SELECT r.compound_id AS compound, r.ref, r.flat, r.birth_year, r.lives_alone"
        " FROM residents r WHERE r.compound_id = %(compound)s AND r.ref = %(ref)s"
        + address_scope(user, "r.compound_id", "r.flat"),
        {"compound": compound, "ref": ref, **scope_params(user)},
    )


def grids(
    conn: Conn, user: User, *, compound: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    mine = " AND g.id = ANY(%(grids)s)" if user.grid_bound else ""
    frm = f"FROM grids g WHERE {_IN_COMPOUND.format(a='g')}{mine}"
    select = (
        "g.compound_id AS compound, g.id, g.name,"
        " coalesce((SELECT array_agg(b.building_id ORDER BY b.building_id) FROM grid_buildings b"
        "  WHERE b.compound_id = g.compound_id AND b.grid_id = g.id), '{}') AS buildings,"
        " coalesce((SELECT jsonb_object_agg(m.role, m.staff) FROM (SELECT role,"
        "  jsonb_agg(staff_id ORDER BY staff_id) AS staff FROM grid_members"
        "  WHERE compound_id = g.compound_id AND grid_id = g.id GROUP BY role) m), '{}') AS team"
    )
    params = {"compound": compound, **scope_params(user)}
    return _page(conn, select, frm, "g.compound_id, g.id", params, limit, offset)


def parties(
    conn: Conn, *, compound: str | None, kind: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    frm = (
        f"FROM parties p WHERE {_IN_COMPOUND.format(a='p')}"
        " AND (%(kind)s::text IS NULL OR p.kind = %(kind)s)"
    )
    params = {"compound": compound, "kind": kind}
    return _page(
        conn,
        "p.compound_id AS compound, p.id, p.kind, p.name",
        frm,
        "p.compound_id, p.id",
        params,
        limit,
        offset,
    )


def staff(
    conn: Conn, *, compound: str | None, role: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    frm = (
        f"FROM staff s WHERE {_IN_COMPOUND.format(a='s')}"
        " AND (%(role)s::text IS NULL OR s.role = %(role)s)"
    )
    select = (
        "s.compound_id AS compound, s.id, s.name, s.role, s.party_id AS party,"
        " coalesce((SELECT array_agg(grid_id ORDER BY grid_id) FROM staff_grids sg"
        "  WHERE sg.compound_id = s.compound_id AND sg.staff_id = s.id), '{}') AS grids"
    )
    params = {"compound": compound, "role": role}
    return _page(conn, select, frm, "s.compound_id, s.id", params, limit, offset)
