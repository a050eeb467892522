"""What of the demo compound's past `dayuan up` plays on this start.

The first start on a database (nothing stored for the compound) replays the last
`--history-hours` with the `up` scenario's incidents, placed by offsets from the start
of that history. A later start resumes: it replays only the gap since the newest ts
the compound's devices stored (at most `--history-hours` of it), without the scenario,
so nothing stored is sent again and no past incident is raised twice; a gap shorter
than MIN_GAP is not replayed at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

import ingest
from domain import CompoundFile

# A gap this short is the restart itself: not worth a replay, the live run covers it.
MIN_GAP = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class History:
    """The span to replay before going live (`duration` zero: none)."""

    start: datetime
    duration: timedelta
    first: bool  # nothing was stored: the demo's incidents play in this span

    @property
    def end(self) -> datetime:
        return self.start + self.duration


def plan(
    conn: psycopg.Connection[Any], compound: CompoundFile, *, now: datetime, history: timedelta
) -> History:
    devices = [d.id for c in compound.compounds for d in c.devices]
    newest = ingest.newest_ts(conn, devices)
    if newest is None:
        return History(start=now - history, duration=history, first=True)
    # A device's clock may run ahead (a skew fault): never resume from the future.
    start = max(min(newest, now), now - history)
    gap = now - start
    return History(start=start, duration=gap if gap >= MIN_GAP else timedelta(0), first=False)
