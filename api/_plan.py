"""The compound plan in one read: buildings, every flat laid out on its building's
footprint, every device the reader sees at its place with its state, the open alarms and
cases that hang on devices and flats, the households' seven-colour tags and the grids.

A plan is a schematic of the registry, not a survey: a building's footprint is split
into its units (stairwells) along its long side, and each unit's flats into rows by
floor across the short side and columns by their number on the landing (flat "301" is
floor 3, flat 1), so every flat has a cell of its own. A device with a flat address is
drawn in its flat's cell (devices of one flat side by side), whatever x/y the compound
file gives it (the generator puts them on the building centre); any other device at its
own x/y, else at its unit's door or its building's south side, else in a row under the
plan (`placed: unplaced`). When the registry's buildings overlap (a compound file that
gives no plan positions), the buildings are laid out in rows instead (`layout: auto`).

Everything is read under the reader's scope (`registry`, `rules`, `cases`, `ingest`):
alarms and cases through the API's own redaction, so nothing here names a reading or
carries a resident (no people, no health notes: households only by their tags).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import cases
import ingest
import registry
from api import _cases, _history
from api._access import User
from api._db import Conn

# Rows read of each list: far above a compound's (the demo has ~600 flats, ~650
# devices), bounded so that a bad registry cannot make one request unbounded.
PLAN_ROWS_MAX = 20_000
# Open alarms and cases drawn on the plan; beyond that the response says `truncated`.
OPEN_MAX = 2_000
# Space between auto-laid-out buildings and around the plan, in metres.
AUTO_GAP_M = 12.0
PLAN_MARGIN_M = 10.0
UNPLACED_PITCH_M = 4.0  # devices with no place at all, in rows under the plan
UNPLACED_PER_ROW = 20
DEVICE_PITCH_FRACTION = 0.8  # of a flat cell's long side shared by its devices
AWAITING = frozenset({"new", "dispatched", "reopened"})
_FLAT_NUMBER = re.compile(r"^(\d{1,2})(\d{2})$")  # floor, then the flat on the landing


def _natural(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (1 << 30, value)


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(
        abs(a["x"] - b["x"]) * 2 < a["width"] + b["width"]
        and abs(a["y"] - b["y"]) * 2 < a["depth"] + b["depth"]
    )


def _auto_layout(buildings: list[dict[str, Any]]) -> bool:
    """Rows of buildings, north to south in id order, when the registry's overlap."""
    if not any(_overlap(a, b) for i, a in enumerate(buildings) for b in buildings[i + 1 :]):
        return False
    cols = max(1, math.ceil(math.sqrt(len(buildings))))
    pitch_x = max(b["width"] for b in buildings) + AUTO_GAP_M
    pitch_y = max(b["depth"] for b in buildings) + AUTO_GAP_M
    for i, b in enumerate(buildings):
        row, col = divmod(i, cols)
        b["x"], b["y"] = col * pitch_x + pitch_x / 2, -row * pitch_y - pitch_y / 2
    return True


def _floor_and_column(number: str, index: int, per_row: int) -> tuple[int, int]:
    match = _FLAT_NUMBER.match(number)
    if match and int(match[1]) >= 1 and int(match[2]) >= 1:
        return int(match[1]), int(match[2])
    return index // per_row + 1, index % per_row + 1


def _unit_cells(b: dict[str, Any], units: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The flats of one building, each with its cell on the footprint."""
    along_x = b["width"] >= b["depth"]
    long_side, short_side = (b["width"], b["depth"]) if along_x else (b["depth"], b["width"])
    unit_ids = sorted(units, key=_natural) or ["1"]
    slice_ = long_side / len(unit_ids)
    out = []
    for u_index, unit in enumerate(unit_ids):
        numbers = sorted(units.get(unit, []), key=_natural)
        fallback_cols = max(1, math.ceil(math.sqrt(len(numbers))))
        places = [_floor_and_column(n, i, fallback_cols) for i, n in enumerate(numbers)]
        rows = max([int(b["floors"]), *(f for f, _ in places)])
        cols = max((c for _, c in places), default=1)
        for number, (floor, col) in zip(numbers, places, strict=True):
            along = -long_side / 2 + u_index * slice_ + (col - 0.5) * slice_ / cols
            across = -short_side / 2 + (floor - 0.5) * short_side / rows  # floor 1 south
            dx, dy = (along, across) if along_x else (across, -along)
            cw, cd = (slice_ / cols, short_side / rows)
            out.append(
                {
                    "address": f"{b['id']}-{unit}-{number}",
                    "building": b["id"],
                    "unit": unit,
                    "floor": floor,
                    "x": round(b["x"] + dx, 2),
                    "y": round(b["y"] + dy, 2),
                    "width": round(cw if along_x else cd, 2),
                    "depth": round(cd if along_x else cw, 2),
                }
            )
    return out


def _lay_out_flats(
    buildings: list[dict[str, Any]], addresses: Iterable[str]
) -> dict[str, dict[str, Any]]:
    units: dict[str, dict[str, list[str]]] = {b["id"]: defaultdict(list) for b in buildings}
    for address in sorted(set(addresses)):
        parts = address.split("-")
        if len(parts) == 3 and parts[0] in units:
            units[parts[0]][parts[1]].append(parts[2])
    cells: dict[str, dict[str, Any]] = {}
    for b in buildings:
        for cell in _unit_cells(b, units[b["id"]]):
            cells[cell["address"]] = cell
        b["units"] = sorted(units[b["id"]], key=_natural)
    return cells


def _edge_place(b: dict[str, Any], unit: str | None, n: int, of: int) -> tuple[float, float]:
    """On the building's south side: at the unit's slice, else spread along the side."""
    along_x = b["width"] >= b["depth"]
    long_side = b["width"] if along_x else b["depth"]
    units = b.get("units") or []
    if unit in units:
        slice_ = long_side / len(units)
        along = -long_side / 2 + (units.index(unit) + 0.5) * slice_ + (n - (of - 1) / 2) * 1.5
    else:
        along = -long_side / 2 + (n + 0.5) * long_side / of
    if along_x:
        return b["x"] + along, b["y"] - b["depth"] / 2
    return b["x"] - b["width"] / 2, b["y"] - along


def _place_devices(
    devices: list[dict[str, Any]],
    buildings: dict[str, dict[str, Any]],
    cells: dict[str, dict[str, Any]],
    bounds: list[float],
) -> None:
    in_flat: dict[str, list[dict[str, Any]]] = defaultdict(list)
    at_edge: dict[tuple[str, str | None], list[dict[str, Any]]] = defaultdict(list)
    unplaced: list[dict[str, Any]] = []
    for d in devices:
        parts = (d["address"] or "").split("-")
        d["flat"] = d["address"] if d["address"] in cells else None
        if d["flat"]:
            in_flat[d["flat"]].append(d)
        elif d["x"] is not None and d["y"] is not None:
            d["placed"] = "own"
        elif parts[0] in buildings:
            at_edge[(parts[0], parts[1] if len(parts) > 1 else None)].append(d)
        else:
            unplaced.append(d)
    for flat, group in in_flat.items():
        cell = cells[flat]
        along_x = cell["width"] >= cell["depth"]
        pitch = max(cell["width"], cell["depth"]) * DEVICE_PITCH_FRACTION / len(group)
        for i, d in enumerate(group):
            offset = (i - (len(group) - 1) / 2) * pitch
            d["x"] = round(cell["x"] + (offset if along_x else 0), 2)
            d["y"] = round(cell["y"] + (0 if along_x else offset), 2)
            d["placed"] = "flat"
    for (building, unit), group in at_edge.items():
        for i, d in enumerate(group):
            x, y = _edge_place(buildings[building], unit, i, len(group))
            d["x"], d["y"] = round(x, 2), round(y, 2)
            d["placed"] = "unit" if unit else "building"
    x0, y0 = bounds[0], bounds[1]
    for i, d in enumerate(unplaced):
        row, col = divmod(i, UNPLACED_PER_ROW)
        d["x"] = round(x0 + (col + 0.5) * UNPLACED_PITCH_M, 2)
        d["y"] = round(y0 - PLAN_MARGIN_M / 2 - row * UNPLACED_PITCH_M, 2)
        d["placed"] = "unplaced"


def _bounds(buildings: list[dict[str, Any]], devices: list[dict[str, Any]]) -> list[float]:
    xs = [b["x"] + s * b["width"] / 2 for b in buildings for s in (-1, 1)]
    ys = [b["y"] + s * b["depth"] / 2 for b in buildings for s in (-1, 1)]
    xs += [d["x"] for d in devices if d["x"] is not None and d["y"] is not None]
    ys += [d["y"] for d in devices if d["x"] is not None and d["y"] is not None]
    if not xs:
        return [0.0, 0.0, 0.0, 0.0]
    return [min(xs), min(ys), max(xs), max(ys)]


def _grids(
    grids: list[dict[str, Any]], buildings: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    out = []
    for g in grids:
        members = [buildings[b] for b in g["buildings"] if b in buildings]
        if not members:
            continue
        pad = AUTO_GAP_M / 3
        out.append(
            {
                "id": g["id"],
                "name": g["name"],
                "buildings": [b["id"] for b in members],
                "x0": min(b["x"] - b["width"] / 2 for b in members) - pad,
                "y0": min(b["y"] - b["depth"] / 2 for b in members) - pad,
                "x1": max(b["x"] + b["width"] / 2 for b in members) + pad,
                "y1": max(b["y"] + b["depth"] / 2 for b in members) + pad,
            }
        )
    return out


def _state(d: dict[str, Any], alarm_severity: str | None, worked: bool) -> str:
    if alarm_severity is not None:
        return "alarming"
    if worked:
        return "in_hand"  # its case is being handled, its alarm cleared
    if d["last_seen"] is None:
        return "unseen"
    return "ok" if d["online"] else "offline"


_SEVERITY_RANK = {"critical": 0, "major": 1, "minor": 2, "warning": 3}


def device_states(
    conn: Conn, user: User, compound: str, *, now: datetime, silence_factor: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], bool]:
    """Every device the user sees in the compound with its state, open alarm and case
    ids; the open alarms and cases; whether either list was cut at `OPEN_MAX`."""
    found = registry.device_places(conn, user.scope, compound=compound, limit=PLAN_ROWS_MAX)
    presence = {
        p.device_id: p
        for p in ingest.presence(conn, now=now, silence_factor=silence_factor, compound=compound)
    }
    alarms, n_alarms = _history.alarms(
        conn,
        user,
        filters={
            **dict.fromkeys(("severity", "rule", "device", "id", "start", "end")),
            "compound": compound,
            "open": True,
        },
        limit=OPEN_MAX,
        offset=0,
    )
    open_cases, n_cases = _cases.list_cases(
        conn, user, filters=cases.CaseFilter(compound=compound, open=True), limit=OPEN_MAX, offset=0
    )
    by_subject: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in alarms:
        by_subject[a["device_id"] or f"flat:{a['flat']}"].append(a)
    cases_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in open_cases:
        cases_of[c["device_id"] or f"flat:{c['flat']}"].append(c)
    for d in found:
        p = presence.get(d["id"])
        d["online"] = bool(p and p.online)
        d["last_seen"] = p.last_seen if p else None
        mine = by_subject.get(d["id"], [])
        d["alarms"] = [int(a["id"]) for a in mine]
        d["alarm_severity"] = min(
            (a["severity"] for a in mine), key=lambda s: _SEVERITY_RANK.get(s, 9), default=None
        )
        linked = cases_of.get(d["id"], [])
        d["cases"] = [int(c["id"]) for c in linked]
        worked = any(c["state"] not in AWAITING for c in linked)
        d["state"] = _state(d, d["alarm_severity"], worked)
    truncated = n_alarms > len(alarms) or n_cases > len(open_cases)
    return found, alarms, open_cases, truncated


def plan(
    conn: Conn, user: User, compound: dict[str, Any], *, now: datetime, silence_factor: float
) -> dict[str, Any]:
    """The plan of one compound the user sees (`compound`: its registry row)."""
    cid = str(compound["id"])
    scope = user.scope
    buildings, _ = registry.building_page(conn, scope, compound=cid, limit=PLAN_ROWS_MAX, offset=0)
    flats, _ = registry.flat_page(
        conn, scope, compound=cid, building=None, limit=PLAN_ROWS_MAX, offset=0
    )
    households, _ = registry.household_page(
        conn, scope, compound=cid, tag=None, limit=PLAN_ROWS_MAX, offset=0
    )
    grids, _ = registry.grid_page(conn, scope, compound=cid, limit=PLAN_ROWS_MAX, offset=0)
    devices, alarms, open_cases, truncated = device_states(
        conn, user, cid, now=now, silence_factor=silence_factor
    )
    buildings.sort(key=lambda b: _natural(str(b["id"])))
    auto = _auto_layout(buildings)
    by_id = {str(b["id"]): b for b in buildings}
    addresses = [str(f["address"]) for f in flats] + [
        str(d["address"]) for d in devices if d["address"] and d["address"].count("-") == 2
    ]
    cells = _lay_out_flats(buildings, addresses)
    tags = {str(h["flat"]): list(h["tags"]) for h in households}
    flat_alarms: dict[str, list[int]] = defaultdict(list)
    for a in alarms:
        if a["device_id"] is None and a["flat"]:
            flat_alarms[str(a["flat"])].append(int(a["id"]))
    flat_cases: dict[str, list[int]] = defaultdict(list)
    for c in open_cases:
        if c["device_id"] is None and c["flat"]:
            flat_cases[str(c["flat"])].append(int(c["id"]))
    for address, cell in cells.items():
        cell["tags"] = tags.get(address, [])
        cell["alarms"] = flat_alarms.get(address, [])
        cell["cases"] = flat_cases.get(address, [])
    if auto:  # the registry's device x/y belong to a plan that is not drawn
        for d in devices:
            if d["address"]:
                d["x"] = d["y"] = None
    bounds = _bounds(buildings, [d for d in devices if d["address"] not in cells])
    _place_devices(devices, by_id, cells, bounds)
    bounds = _bounds(buildings, devices)
    m = PLAN_MARGIN_M
    return {
        "compound": cid,
        "name": compound["name"],
        "layout": "auto" if auto else "registry",
        "bounds": {
            "x0": bounds[0] - m,
            "y0": bounds[1] - m,
            "x1": bounds[2] + m,
            "y1": bounds[3] + m,
        },
        "buildings": buildings,
        "flats": list(cells.values()),
        "grids": _grids(grids, by_id),
        "devices": devices,
        "alarms": alarms,
        "cases": open_cases,
        "count": len(devices),
        "truncated": truncated,
        "at": now,
    }


def outline(conn: Conn, compound: str) -> dict[str, Any] | None:
    """The compound's buildings only, laid out as the staff plan lays them out, each as a
    box in the plan's frame: x from west (0) to east (1), y from north (0) to south (1),
    over the buildings' bounds with the plan's margin. What a resident taps on to say
    where (a report's `point`); no devices, flats or households. None: no such compound."""
    if compound not in registry.compound_ids(conn):
        return None
    buildings, _ = registry.building_page(
        conn, registry.Scope(), compound=compound, limit=PLAN_ROWS_MAX, offset=0
    )
    buildings.sort(key=lambda b: _natural(str(b["id"])))
    _auto_layout(buildings)
    x0, y0, x1, y1 = _bounds(buildings, [])
    m = PLAN_MARGIN_M
    x0, y0, x1, y1 = x0 - m, y0 - m, x1 + m, y1 + m
    width, depth = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    boxes = [
        {
            "id": str(b["id"]),
            "name": b["name"],
            "x": (b["x"] - b["width"] / 2 - x0) / width,
            "y": (y1 - b["y"] - b["depth"] / 2) / depth,
            "w": b["width"] / width,
            "h": b["depth"] / depth,
        }
        for b in buildings
    ]
    return {"compound": compound, "aspect": width / depth, "buildings": boxes}
