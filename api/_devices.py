"""Devices with their presence and last values, read for the API.

Presence comes from `ingest.presence` (the one definition of online/offline); the
grid of a device is the grid of its building (the first part of its address).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ingest
from api._access import User
from api._db import Conn, rows

_DEVICES = """
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


def devices(
    conn: Conn,
    user: User,
    *,
    now: datetime,
    silence_factor: float,
    compound: str | None = None,
    kind: str | None = None,
    grid: str | None = None,
    device: str | None = None,
    online: bool | None = None,
) -> list[dict[str, Any]]:
    """Matching devices in id order, each with `online`, `last_seen` and `last_ts`."""
    params = {"compound": compound, "kind": kind, "grid": grid, "device": device}
    scope = user.scope
    found = rows(
        conn, _DEVICES + scope.device_filter("d") + " ORDER BY d.id", {**params, **scope.params()}
    )
    if not found:
        return []
    presence = {
        p.device_id: p
        for p in ingest.presence(conn, now=now, silence_factor=silence_factor, compound=compound)
    }
    result = []
    for d in found:
        p = presence.get(d["id"])
        d["online"] = bool(p and p.online)
        d["last_seen"] = p.last_seen if p else None
        d["last_ts"] = p.last_ts if p else None
        if online is None or d["online"] is online:
            result.append(d)
    return result


def last_values(conn: Conn, device: str) -> list[dict[str, Any]]:
    return rows(
        conn,
        "SELECT key, value, ts FROM telemetry_latest WHERE device_id = %s ORDER BY ts DESC, key",
        (device,),
    )
