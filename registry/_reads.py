"""What other packages read of the registry: the gateway's device references, the
rules' picture of compounds and devices, the routing lookups of cases, and the API's
scoped lists. Every psycopg error leaves as the registry's own (`registry._db`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from psycopg.rows import dict_row

from domain import Compound, Kind
from registry._db import Conn, reading
from registry._scope import GridKey, Scope

Page = tuple[list[dict[str, Any]], int]
_IN_COMPOUND = "(%(compound)s::text IS NULL OR {a}.compound_id = %(compound)s)"


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """What the gateway checks a topic against."""

    compound: str
    kind: Kind
    heartbeat_s: int


@dataclass(frozen=True, slots=True)
class DeviceRow:
    id: str
    compound: str
    kind: Kind
    model: str
    address: str | None
    heartbeat_s: int


def _rows(conn: Conn, query: str, params: Any = None) -> list[dict[str, Any]]:
    with reading(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()


def _one(conn: Conn, query: str, params: Any = None) -> dict[str, Any] | None:
    found = _rows(conn, query, params)
    return found[0] if found else None


def device_refs(conn: Conn) -> dict[str, DeviceRef]:
    """Every registered device, for the gateway's topic checks."""
    found = _rows(conn, "SELECT id, compound_id, kind, heartbeat_s FROM devices")
    return {
        str(r["id"]): DeviceRef(str(r["compound_id"]), Kind(r["kind"]), int(r["heartbeat_s"]))
        for r in found
    }


def device_ref(conn: Conn, device_id: str) -> DeviceRef | None:
    """One registered device's compound, kind and heartbeat, or None."""
    found = _rows(
        conn, "SELECT compound_id, kind, heartbeat_s FROM devices WHERE id = %s", (device_id,)
    )
    if not found:
        return None
    r = found[0]
    return DeviceRef(str(r["compound_id"]), Kind(r["kind"]), int(r["heartbeat_s"]))


def compounds(conn: Conn) -> list[Compound]:
    """Every compound without its devices: its buildings, households (tags and residents,
    no details) and grids as the tables hold them now (a change made through the API
    counts at once), the rest as its compound file described it."""
    found = _rows(conn, "SELECT id, name, lat, lon, timezone, document FROM compounds")
    now = _current_parts(conn)
    return [_compound(r, {k: v.get(r["id"], []) for k, v in now.items()}) for r in found]


def _current_parts(conn: Conn) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Buildings, households and grids by compound, from their tables."""
    parts: dict[str, dict[str, list[dict[str, Any]]]] = {
        "buildings": {},
        "households": {},
        "grids": {},
    }
    units: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in _rows(
        conn,
        "SELECT u.compound_id, u.building_id, u.id,"
        " coalesce(array_agg(f.flat ORDER BY f.flat) FILTER (WHERE f.flat IS NOT NULL), '{}')"
        " AS flats FROM units u LEFT JOIN flats f ON (f.compound_id, f.building_id, f.unit_id)"
        " = (u.compound_id, u.building_id, u.id) GROUP BY u.compound_id, u.building_id, u.id"
        " ORDER BY u.compound_id, u.building_id, u.id",
    ):
        key = (r["compound_id"], r["building_id"])
        units.setdefault(key, []).append({"id": r["id"], "flats": list(r["flats"])})
    for r in _rows(
        conn,
        "SELECT compound_id, id, name, floors, x, y, width, depth FROM buildings"
        " ORDER BY compound_id, id",
    ):
        building = {k: r[k] for k in ("id", "name", "floors", "x", "y", "width", "depth")}
        building["units"] = units.get((r["compound_id"], r["id"]), [])
        parts["buildings"].setdefault(r["compound_id"], []).append(building)
    residents: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in _rows(
        conn,
        "SELECT compound_id, flat, ref, birth_year, lives_alone FROM residents"
        " ORDER BY compound_id, flat, ref",
    ):
        person = {"ref": r["ref"], "birth_year": r["birth_year"], "lives_alone": r["lives_alone"]}
        residents.setdefault((r["compound_id"], r["flat"]), []).append(person)
    for r in _rows(conn, "SELECT compound_id, flat, tags FROM households ORDER BY 1, 2"):
        parts["households"].setdefault(r["compound_id"], []).append(
            {
                "flat": r["flat"],
                "tags": list(r["tags"]),
                "residents": residents.get((r["compound_id"], r["flat"]), []),
            }
        )
    teams: dict[tuple[str, str], dict[str, Any]] = {}
    for r in _rows(
        conn,
        "SELECT compound_id, grid_id, staff_id, role FROM grid_members ORDER BY 1, 2, 3",
    ):
        team = teams.setdefault((r["compound_id"], r["grid_id"]), {"volunteers": []})
        if r["role"] == "volunteer":
            team["volunteers"].append(r["staff_id"])
        else:
            team[r["role"]] = r["staff_id"]
    for r in _rows(
        conn,
        "SELECT g.compound_id, g.id, g.name, coalesce(array_agg(b.building_id ORDER BY"
        " b.building_id) FILTER (WHERE b.building_id IS NOT NULL), '{}') AS buildings"
        " FROM grids g LEFT JOIN grid_buildings b ON (b.compound_id, b.grid_id) ="
        " (g.compound_id, g.id) GROUP BY g.compound_id, g.id ORDER BY 1, 2",
    ):
        parts["grids"].setdefault(r["compound_id"], []).append(
            {
                "id": r["id"],
                "name": r["name"],
                "buildings": list(r["buildings"]),
                "team": teams.get((r["compound_id"], r["id"]), {}),
            }
        )
    return parts


def _compound(r: dict[str, Any], now: dict[str, list[dict[str, Any]]]) -> Compound:
    document = dict(r["document"] or {})
    document.update(
        id=r["id"],
        name=r["name"],
        lat=r["lat"],
        lon=r["lon"],
        timezone=r["timezone"],
        devices=[],
        **now,
    )
    return Compound.model_validate(document)


def devices(conn: Conn) -> list[DeviceRow]:
    found = _rows(conn, "SELECT id, compound_id, kind, model, address, heartbeat_s FROM devices")
    return [
        DeviceRow(
            str(r["id"]),
            str(r["compound_id"]),
            Kind(r["kind"]),
            str(r["model"]),
            r["address"],
            int(r["heartbeat_s"]),
        )
        for r in found
    ]


def compound_ids(conn: Conn) -> list[str]:
    return [str(r["id"]) for r in _rows(conn, "SELECT id FROM compounds ORDER BY id")]


def compound_places(conn: Conn, scope: Scope) -> list[dict[str, Any]]:
    """Every compound `scope` sees with where it lies (`id`, `name`, `lat`, `lon`), by id:
    a district's map in one read, without `compound_page`'s per-compound device counts."""
    return _rows(
        conn,
        "SELECT c.id, c.name, c.lat, c.lon FROM compounds c WHERE true"
        + scope.compound_filter("c.id")
        + " ORDER BY c.id",
        scope.params(),
    )


# --- lookups for dispatch --------------------------------------------------------------


def has_household(conn: Conn, compound: str, flat: str) -> bool:
    """Whether the compound has a household at the standard address `flat`."""
    found = _one(
        conn, "SELECT 1 AS x FROM households WHERE compound_id = %s AND flat = %s", (compound, flat)
    )
    return found is not None


def has_building(conn: Conn, compound: str, building: str) -> bool:
    found = _one(
        conn,
        "SELECT 1 AS x FROM buildings WHERE compound_id = %s AND id = %s",
        (compound, building),
    )
    return found is not None


def grid_of(conn: Conn, compound: str, address: str | None) -> str | None:
    """The grid of a standard address (building, building-unit or building-unit-flat)."""
    if not address:
        return None
    found = _one(
        conn,
        "SELECT grid_id FROM grid_buildings WHERE compound_id = %s AND building_id = %s",
        (compound, address.split("-", 1)[0]),
    )
    return None if found is None else str(found["grid_id"])


def party_of_kind(conn: Conn, compound: str, kind: str) -> str | None:
    """The compound's party of a kind (the first by id, when it has several)."""
    found = _one(
        conn,
        "SELECT id FROM parties WHERE compound_id = %s AND kind = %s ORDER BY id LIMIT 1",
        (compound, kind),
    )
    return None if found is None else str(found["id"])


def grid_member(conn: Conn, compound: str, grid: str | None, role: str) -> str | None:
    """The staff member in a grid team's role (cadre, community_worker, volunteer)."""
    if grid is None:
        return None
    found = _one(
        conn,
        "SELECT staff_id FROM grid_members WHERE compound_id = %s AND grid_id = %s AND role = %s"
        " ORDER BY staff_id LIMIT 1",
        (compound, grid, role),
    )
    return None if found is None else str(found["staff_id"])


def party(conn: Conn, compound: str, party_id: str) -> dict[str, Any] | None:
    """A party serving the compound ({id, kind, name}), or None when it does not."""
    return _one(
        conn,
        "SELECT id, kind, name FROM parties WHERE compound_id = %s AND id = %s",
        (compound, party_id),
    )


def staff_member(conn: Conn, compound: str, staff_id: str) -> dict[str, Any] | None:
    """A staff member serving the compound ({id, name, role, party_id, teams}: the grids
    whose team they are on), or None when they do not serve it."""
    return _one(
        conn,
        "SELECT s.id, s.name, s.role, s.party_id, coalesce((SELECT array_agg(m.grid_id"
        " ORDER BY m.grid_id) FROM grid_members m WHERE m.compound_id = s.compound_id"
        " AND m.staff_id = s.id), '{}') AS teams FROM staff s"
        " WHERE s.compound_id = %s AND s.id = %s",
        (compound, staff_id),
    )


def party_staff(conn: Conn, compound: str, party: str | None) -> list[str]:
    """The staff members of a party, by id."""
    if party is None:
        return []
    found = _rows(
        conn,
        "SELECT id FROM staff WHERE compound_id = %s AND party_id = %s ORDER BY id",
        (compound, party),
    )
    return [str(r["id"]) for r in found]


def grid_team(conn: Conn, compound: str, grid: str | None) -> list[str]:
    """A grid team's members: the cadre, the community worker, then the volunteers."""
    if grid is None:
        return []
    found = _rows(
        conn,
        "SELECT staff_id FROM grid_members WHERE compound_id = %s AND grid_id = %s"
        " ORDER BY array_position(ARRAY['cadre', 'community_worker', 'volunteer'], role),"
        " staff_id",
        (compound, grid),
    )
    return [str(r["staff_id"]) for r in found]


def staff_contacts(conn: Conn, compound: str, staff: list[str]) -> dict[str, list[str]]:
    """The contact URLs of these staff members in order of preference (secrets: for the
    notifier only): those set through the API when a person has any, else the compound
    file's."""
    found = _rows(
        conn,
        "SELECT staff_id, source, url FROM staff_contacts WHERE compound_id = %s"
        " AND staff_id = ANY(%s) ORDER BY staff_id, source, position",  # 'api' < 'file'
        (compound, staff),
    )
    contacts: dict[str, list[str]] = {s: [] for s in staff}
    chosen: dict[str, str] = {}
    for r in found:
        who = str(r["staff_id"])
        if chosen.setdefault(who, str(r["source"])) == r["source"]:
            contacts[who].append(str(r["url"]))
    return contacts


def device_address(conn: Conn, device_id: str | None) -> str | None:
    if device_id is None:
        return None
    found = _one(conn, "SELECT address FROM devices WHERE id = %s", (device_id,))
    return None if found is None or found["address"] is None else str(found["address"])


# --- staff, for the API's accounts ------------------------------------------------------


def staff_grids(conn: Conn, compound: str, staff_id: str) -> list[str] | None:
    """The grids of a compound's staff member, or None when the registry has no such member
    (staff ids are unique only within a compound)."""
    found = _one(
        conn,
        "SELECT coalesce((SELECT array_agg(DISTINCT g.grid_id ORDER BY g.grid_id)"
        " FROM staff_grids g WHERE g.compound_id = %(compound)s AND g.staff_id = %(id)s),"
        " '{}') AS grids"
        " WHERE EXISTS (SELECT 1 FROM staff WHERE compound_id = %(compound)s AND id = %(id)s)",
        {"compound": compound, "id": staff_id},
    )
    return None if found is None else [str(g) for g in found["grids"]]


def staff_grids_of(
    conn: Conn, staff: Collection[tuple[str, str]]
) -> dict[tuple[str, str], list[str]]:
    """The grids of these (compound, staff id) members, each in grid order; a member the
    registry does not list is left out (one query for a page of accounts)."""
    if not staff:
        return {}
    compounds, ids = zip(*sorted(staff), strict=True)
    found = _rows(
        conn,
        "SELECT s.compound_id, s.id, coalesce(array_agg(DISTINCT g.grid_id ORDER BY g.grid_id)"
        " FILTER (WHERE g.grid_id IS NOT NULL), '{}') AS grids FROM staff s"
        " LEFT JOIN staff_grids g ON g.compound_id = s.compound_id AND g.staff_id = s.id"
        " WHERE (s.compound_id, s.id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
        " GROUP BY s.compound_id, s.id",
        (list(compounds), list(ids)),
    )
    return {(str(r["compound_id"]), str(r["id"])): [str(g) for g in r["grids"]] for r in found}


def staff_compounds(conn: Conn, staff_id: str) -> list[str]:
    """The compounds that have a staff member of this id, in order (ids repeat across
    compounds)."""
    found = _rows(conn, "SELECT compound_id FROM staff WHERE id = %s ORDER BY 1", (staff_id,))
    return [str(r["compound_id"]) for r in found]


def existing_grids(conn: Conn, grids: Collection[GridKey]) -> frozenset[GridKey]:
    """Of these (compound, grid) pairs, those the registry has a grid for."""
    found = _rows(
        conn,
        "SELECT compound_id, id FROM grids WHERE compound_id || '/' || id = ANY(%s)",
        ([f"{c}/{g}" for c, g in grids],),
    )
    return frozenset((str(r["compound_id"]), str(r["id"])) for r in found)


def buildings_of(conn: Conn, grids: Collection[GridKey]) -> frozenset[str]:
    """The "compound/building" keys of the buildings in these (compound, grid) pairs."""
    found = _rows(
        conn,
        "SELECT compound_id, building_id FROM grid_buildings"
        " WHERE compound_id || '/' || grid_id = ANY(%s)",
        ([f"{c}/{g}" for c, g in grids],),
    )
    return frozenset(f"{r['compound_id']}/{r['building_id']}" for r in found)


# --- the API's lists --------------------------------------------------------------------


def _page(
    conn: Conn,
    select: str,
    frm: str,
    order: str,
    params: dict[str, Any],
    limit: int,
    offset: int,
    after: tuple[str, ...] | None = None,
) -> Page:
    """A page in `order` (ascending columns, unique together) and the count of them all;
    with `after`, a keyset page: the rows after that value of `order`."""
    keyset = ""
    if after is not None:
        marks = ", ".join(f"%(k{i})s" for i in range(len(after)))
        keyset = f" AND ({order}) > ({marks})"
        params = {**params, **{f"k{i}": v for i, v in enumerate(after)}}
    data = _rows(
        conn,
        f"SELECT {select} {frm}{keyset} ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": limit, "offset": offset},
    )
    total = _one(conn, f"SELECT count(*) AS n {frm}", params)
    return data, int(total["n"]) if total else 0


def compound_page(
    conn: Conn, scope: Scope, *, compound: str | None = None, limit: int, offset: int
) -> Page:
    return _page(
        conn,
        "c.id, c.name, c.lat, c.lon, c.timezone,"
        " (SELECT count(*) FROM devices d WHERE d.compound_id = c.id) AS devices",
        "FROM compounds c WHERE (%(compound)s::text IS NULL OR c.id = %(compound)s)"
        + scope.compound_filter("c.id"),
        "c.id",
        {"compound": compound, **scope.params()},
        limit,
        offset,
    )


def building_page(
    conn: Conn, scope: Scope, *, compound: str | None, limit: int, offset: int
) -> Page:
    frm = (
        "FROM buildings b LEFT JOIN grid_buildings g"
        " ON g.compound_id = b.compound_id AND g.building_id = b.id"
        f" WHERE {_IN_COMPOUND.format(a='b')}" + scope.address_filter("b.compound_id", "b.id")
    )
    select = (
        "b.compound_id AS compound, b.id, b.name, b.floors, g.grid_id AS grid,"
        " b.x, b.y, b.width, b.depth"
    )
    params = {"compound": compound, **scope.params()}
    return _page(conn, select, frm, "b.compound_id, b.id", params, limit, offset)


def flat_page(
    conn: Conn, scope: Scope, *, compound: str | None, building: str | None, limit: int, offset: int
) -> Page:
    frm = (
        f"FROM flats f WHERE {_IN_COMPOUND.format(a='f')}"
        " AND (%(building)s::text IS NULL OR f.building_id = %(building)s)"
        + scope.address_filter("f.compound_id", "f.address")
    )
    select = "f.compound_id AS compound, f.address, f.building_id AS building, f.unit_id AS unit"
    params = {"compound": compound, "building": building, **scope.params()}
    return _page(conn, select, frm, "f.compound_id, f.address", params, limit, offset)


def household_page(
    conn: Conn,
    scope: Scope,
    *,
    compound: str | None,
    tag: str | None,
    limit: int,
    offset: int,
    after: tuple[str, str] | None = None,
) -> Page:
    """Households by (compound, flat); with `after`, those after that pair."""
    frm = (
        f"FROM households h WHERE {_IN_COMPOUND.format(a='h')}"
        " AND (%(tag)s::text IS NULL OR %(tag)s = ANY(h.tags))"
        + scope.address_filter("h.compound_id", "h.flat")
    )
    params = {"compound": compound, "tag": tag, **scope.params()}
    select = "h.compound_id AS compound, h.flat, h.tags"
    return _page(conn, select, frm, "h.compound_id, h.flat", params, limit, offset, after)


def resident_page(
    conn: Conn,
    scope: Scope,
    *,
    compound: str | None,
    flat: str | None,
    limit: int,
    offset: int,
    after: tuple[str, str, str] | None = None,
) -> Page:
    """Residents by (compound, flat, ref); with `after`, those after that triple."""
    frm = (
        f"FROM residents r WHERE {_IN_COMPOUND.format(a='r')}"
        " AND (%(flat)s::text IS NULL OR r.flat = %(flat)s)"
        + scope.address_filter("r.compound_id", "r.flat")
    )
    params = {"compound": compound, "flat": flat, **scope.params()}
    select = "r.compound_id AS compound, r.ref, r.flat, r.birth_year, r.lives_alone"
    return _page(conn, select, frm, "r.compound_id, r.flat, r.ref", params, limit, offset, after)


def resident(conn: Conn, scope: Scope, compound: str, ref: str) -> dict[str, Any] | None:
    return _one(
        conn,
        "SELECT r.compound_id AS compound, r.ref, r.flat, r.birth_year, r.lives_alone"
        " FROM residents r WHERE r.compound_id = %(compound)s AND r.ref = %(ref)s"
        + scope.address_filter("r.compound_id", "r.flat"),
        {"compound": compound, "ref": ref, **scope.params()},
    )


def grid_page(conn: Conn, scope: Scope, *, compound: str | None, limit: int, offset: int) -> Page:
    frm = f"FROM grids g WHERE {_IN_COMPOUND.format(a='g')}" + scope.grid_filter(
        "g.compound_id", "g.id"
    )
    select = (
        "g.compound_id AS compound, g.id, g.name,"
        " coalesce((SELECT array_agg(b.building_id ORDER BY b.building_id) FROM grid_buildings b"
        "  WHERE b.compound_id = g.compound_id AND b.grid_id = g.id), '{}') AS buildings,"
        " coalesce((SELECT jsonb_object_agg(m.role, m.staff) FROM (SELECT role,"
        "  jsonb_agg(staff_id ORDER BY staff_id) AS staff FROM grid_members"
        "  WHERE compound_id = g.compound_id AND grid_id = g.id GROUP BY role) m), '{}') AS team"
    )
    params = {"compound": compound, **scope.params()}
    return _page(conn, select, frm, "g.compound_id, g.id", params, limit, offset)


def party_page(
    conn: Conn, scope: Scope, *, compound: str | None, kind: str | None, limit: int, offset: int
) -> Page:
    frm = (
        f"FROM parties p WHERE {_IN_COMPOUND.format(a='p')}"
        " AND (%(kind)s::text IS NULL OR p.kind = %(kind)s)"
        + scope.compound_filter("p.compound_id")
    )
    params = {"compound": compound, "kind": kind, **scope.params()}
    select = "p.compound_id AS compound, p.id, p.kind, p.name"
    return _page(conn, select, frm, "p.compound_id, p.id", params, limit, offset)


def staff_page(
    conn: Conn, scope: Scope, *, compound: str | None, role: str | None, limit: int, offset: int
) -> Page:
    frm = (
        f"FROM staff s WHERE {_IN_COMPOUND.format(a='s')}"
        " AND (%(role)s::text IS NULL OR s.role = %(role)s)"
        + scope.compound_filter("s.compound_id")
    )
    select = (
        "s.compound_id AS compound, s.id, s.name, s.role, s.party_id AS party,"
        " coalesce((SELECT array_agg(grid_id ORDER BY grid_id) FROM staff_grids sg"
        "  WHERE sg.compound_id = s.compound_id AND sg.staff_id = s.id), '{}') AS grids"
    )
    params = {"compound": compound, "role": role, **scope.params()}
    return _page(conn, select, frm, "s.compound_id, s.id", params, limit, offset)


_DEVICE_PLACES = """
SELECT d.id, d.compound_id AS compound, d.kind, d.model, d.name, d.address, d.x, d.y,
       d.heartbeat_s, gb.grid_id AS grid
FROM devices d
LEFT JOIN grid_buildings gb
       ON gb.compound_id = d.compound_id AND gb.building_id = split_part(d.address, '-', 1)
WHERE (%(compound)s::text IS NULL OR d.compound_id = %(compound)s)
  AND (%(kind)s::text IS NULL OR d.kind = %(kind)s)
  AND (%(grid)s::text IS NULL OR gb.grid_id = %(grid)s)
  AND (%(device)s::text IS NULL OR d.id = %(device)s)
"""


def device_places(
    conn: Conn,
    scope: Scope,
    *,
    compound: str | None = None,
    kind: str | None = None,
    grid: str | None = None,
    device: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The devices the reader sees that match (None: any), in id order, at most `limit`:
    id, compound, kind, model, name, address, x, y, heartbeat_s and the grid of the
    device's building (the first part of its address)."""
    params = {
        "compound": compound,
        "kind": kind,
        "grid": grid,
        "device": device,
        "limit": limit,
        **scope.params(),
    }
    return _rows(
        conn, _DEVICE_PLACES + scope.device_filter("d") + " ORDER BY d.id LIMIT %(limit)s", params
    )
