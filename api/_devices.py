"""Devices with their presence, read for the API.

Devices and their places are the registry's (`registry.device_places`, under the
user's scope; the grid of a device is the grid of its building), presence
the storage's (`ingest.presence`, the one definition of online/offline).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ingest
import registry
from api._access import User
from api._db import Conn


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
    found = registry.device_places(
        conn, user.scope, compound=compound, kind=kind, grid=grid, device=device
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
