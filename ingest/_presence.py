"""Whether each device is online, derived when asked rather than stored.

Devices are the registry's (its `device_places` view). A device is online when it was
heard within `silence_factor` heartbeats, and its last word was not an `online: false`
status (its will message) - unless it has sent data since that status arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ingest._conn import Conn, reading

# Three missed heartbeats before calling a device offline: one lost message or a slow
# network must not page anybody (ThingsBoard users' most common offline complaint).
DEFAULT_SILENCE_FACTOR = 3.0

_PRESENCE = """
SELECT d.id, d.compound_id, d.kind, s.last_seen, s.last_ts,
       coalesce(s.last_seen >= %(now)s - make_interval(secs => d.heartbeat_s * %(factor)s)
                AND (s.status_online IS NOT FALSE OR s.data_seen > s.status_seen), false)
FROM device_places d LEFT JOIN device_state s ON s.device_id = d.id
"""


@dataclass(frozen=True, slots=True)
class Presence:
    device_id: str
    compound_id: str
    kind: str
    last_seen: datetime | None
    last_ts: datetime | None
    online: bool


def presence(
    conn: Conn,
    *,
    now: datetime,
    silence_factor: float = DEFAULT_SILENCE_FACTOR,
    compound: str | None = None,
) -> list[Presence]:
    query = (
        _PRESENCE + (" WHERE d.compound_id = %(compound)s" if compound else "") + " ORDER BY d.id"
    )
    with reading():
        rows = conn.execute(
            query, {"now": now, "factor": silence_factor, "compound": compound}
        ).fetchall()
    return [Presence(str(r[0]), str(r[1]), str(r[2]), r[3], r[4], bool(r[5])) for r in rows]
