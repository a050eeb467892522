"""The acks the gateway stored: what a device answered to a command, as others read it
(the API completes its commands from them). An ack is an `events` row of channel `ack`;
it answers a command only from the device that was commanded, and it is placed in time
by when the gateway received it, never by the device's clock."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from ingest._conn import Conn, reading


@dataclass(frozen=True, slots=True)
class StoredAck:
    correlation_id: str
    device_id: str
    result: str  # ok / error / rejected
    detail: str | None
    received_at: datetime


# No bound on ts: a device whose clock is behind still has its ack found. The device
# index of each partition (device_id leads the unique key) keeps the lookup short, and
# it runs only while commands await an answer.
_ACKS = """
SELECT e.data->>'correlation_id', e.device_id, e.data->>'result', e.data->>'detail',
       e.received_at
FROM events e
JOIN unnest(%(devices)s::text[], %(correlations)s::text[]) AS w(device_id, correlation_id)
  ON e.device_id = w.device_id AND e.data->>'correlation_id' = w.correlation_id
WHERE e.channel = 'ack' AND e.received_at >= %(since)s
ORDER BY e.received_at, e.device_id
"""


def acks_for(
    conn: Conn, awaited: Collection[tuple[str, str]], *, since: datetime
) -> list[StoredAck]:
    """The stored acks answering the `awaited` (device id, correlation id) pairs, each
    from that very device, received at or after `since`; oldest first (a device may
    repeat an ack: the first is its answer)."""
    if not awaited:
        return []
    params = {
        "devices": [d for d, _ in awaited],
        "correlations": [c for _, c in awaited],
        "since": since,
    }
    with reading():
        found = conn.execute(_ACKS, params).fetchall()
    return [StoredAck(str(r[0]), str(r[1]), str(r[2]), r[3], r[4]) for r in found]
