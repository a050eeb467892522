"""The batch writer: validated messages and dead letters -> one committed transaction.

Each batch is copied (binary COPY) into per-connection temporary staging tables and
moved into the real tables with `ON CONFLICT DO NOTHING`, so a redelivered or
re-sent message leaves no duplicate row. Latest values and device state are upserted
by the device's own `ts`, never by arrival order. Everything of a batch, its dead
letters included, commits together or not at all: the gateway acknowledges the batch
to the broker only after `write` returns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg import errors as pg_errors
from psycopg.types.json import set_json_dumps
from psycopg_pool import ConnectionPool, PoolTimeout

from domain import (
    Ack,
    DeadLetter,
    Message,
    SinkRejected,
    SinkUnavailable,
    Status,
    Telemetry,
    data_class,
)
from ingest._classes import DataClass
from ingest._conn import Conn
from ingest._partitions import Partitions, chunk_start
from ingest._schema import StorageMode

log = logging.getLogger(__name__)

_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS stage_telemetry (
    device_id text, key text, ts timestamptz, value double precision, seq bigint
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_events (
    device_id text, ts timestamptz, type text, seq bigint, channel text, data jsonb,
    received_at timestamptz, personal boolean
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_state (
    device_id text, last_seen timestamptz, last_ts timestamptz, data_seen timestamptz,
    status_online boolean, status_ts timestamptz, status_seen timestamptz, messages bigint
) ON COMMIT DELETE ROWS;
"""

_MOVE = (
    "INSERT INTO telemetry (device_id, key, ts, value, seq)"
    " SELECT device_id, key, ts, value, seq FROM stage_telemetry ON CONFLICT DO NOTHING",
    "INSERT INTO events (device_id, ts, type, seq, channel, data, received_at)"
    " SELECT device_id, ts, type, seq, channel, data, received_at FROM stage_events"
    " WHERE NOT personal ON CONFLICT DO NOTHING",
    "INSERT INTO access_events (device_id, ts, type, seq, channel, data, received_at)"
    " SELECT device_id, ts, type, seq, channel, data, received_at FROM stage_events"
    " WHERE personal ON CONFLICT DO NOTHING",
)

_LATEST = """
INSERT INTO telemetry_latest AS l (device_id, key, ts, value)
SELECT DISTINCT ON (device_id, key) device_id, key, ts, value FROM stage_telemetry
ORDER BY device_id, key, ts DESC
ON CONFLICT (device_id, key) DO UPDATE SET ts = excluded.ts, value = excluded.value
WHERE excluded.ts > l.ts
"""

_STATE = """
INSERT INTO device_state AS s (device_id, last_seen, last_ts, data_seen, status_online,
                               status_ts, status_seen, messages)
SELECT device_id, last_seen, last_ts, data_seen, status_online, status_ts, status_seen, messages
FROM stage_state
ON CONFLICT (device_id) DO UPDATE SET
    last_seen = greatest(s.last_seen, excluded.last_seen),
    last_ts = greatest(s.last_ts, excluded.last_ts),
    data_seen = greatest(s.data_seen, excluded.data_seen),
    status_online = CASE WHEN excluded.status_seen >= coalesce(s.status_seen, '-infinity')
                         THEN excluded.status_online ELSE s.status_online END,
    status_ts = CASE WHEN excluded.status_seen >= coalesce(s.status_seen, '-infinity')
                     THEN excluded.status_ts ELSE s.status_ts END,
    status_seen = greatest(s.status_seen, excluded.status_seen),
    messages = s.messages + excluded.messages
"""

_TELEMETRY_TYPES = ["text", "text", "timestamptz", "float8", "int8"]
_EVENT_TYPES = ["text", "timestamptz", "text", "int8", "text", "jsonb", "timestamptz", "bool"]
_STATE_TYPES = [
    "text",
    "timestamptz",
    "timestamptz",
    "timestamptz",
    "bool",
    "timestamptz",
    "timestamptz",
    "int8",
]
_DEAD_TYPES = ["timestamptz", "text", "text", "text", "text", "bytea", "int4", "int4", "jsonb"]
_TS_FIELDS = {"ts", "seq", "type"}
# A write waits this long for a connection before the batch is reported unavailable
# (logged, counted, retried): an outage shows within seconds, not after the pool's 30 s.
WRITE_CONNECTION_TIMEOUT_S = 5.0
# Where each data class (domain.data_class) is stored.
RELATION = {"telemetry": "telemetry", "events": "events", "access": "access_events"}


def prepare_connection(conn: Conn) -> None:
    """Pool `configure` hook: create this session's staging tables."""
    set_json_dumps(orjson.dumps, context=conn)
    conn.execute(_STAGING)
    conn.commit()


@dataclass(slots=True)
class _DeviceState:
    last_seen: datetime
    last_ts: datetime
    data_seen: datetime | None = None
    status_online: bool | None = None
    status_ts: datetime | None = None
    status_seen: datetime | None = None
    messages: int = 0

    def row(self, device_id: str) -> tuple[object, ...]:
        return (
            device_id,
            self.last_seen,
            self.last_ts,
            self.data_seen,
            self.status_online,
            self.status_ts,
            self.status_seen,
            self.messages,
        )


@dataclass(slots=True)
class _Rows:
    telemetry: list[tuple[object, ...]] = field(default_factory=list)
    events: list[tuple[object, ...]] = field(default_factory=list)
    state: dict[str, _DeviceState] = field(default_factory=dict)
    chunks: dict[str, set[datetime]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WriteResult:
    telemetry_rows: int
    event_rows: int
    duplicates: int
    dead_letters: int


# Refusals that say what the server is, not what the batch is: retried like an outage,
# never split into dead letters (which the same server refuses too). Read-only: a
# server switched to `default_transaction_read_only`, or a standby after a failover.
# (Disk full, out of memory and too many connections are OperationalErrors already.)
SERVER_STATES: tuple[type[psycopg.Error], ...] = (pg_errors.ReadOnlySqlTransaction,)


class Writer:
    """Stores batches through a connection pool; implements `domain.Sink`."""

    def __init__(
        self, pool: ConnectionPool, *, mode: StorageMode, classes: dict[str, DataClass]
    ) -> None:
        self._pool = pool
        self._mode = mode
        self._partitions = Partitions({r: c.chunk_interval for r, c in classes.items()})
        self._lock = threading.Lock()
        self.last_result: WriteResult | None = None

    def write(self, messages: Sequence[Message], dead_letters: Sequence[DeadLetter]) -> None:
        rows = self._rows(messages)
        try:
            with self._lock, self._pool.connection(timeout=WRITE_CONNECTION_TIMEOUT_S) as conn:
                if self._mode is StorageMode.POSTGRES:
                    for relation, starts in rows.chunks.items():
                        self._partitions.ensure(conn, relation, starts)
                with conn.transaction():
                    self.last_result = _store(conn, rows, dead_letters)
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
            raise SinkUnavailable(f"database unavailable: {exc}") from exc
        except pg_errors.AdminShutdown as exc:  # pragma: no cover - subclass of OperationalError
            raise SinkUnavailable(str(exc)) from exc
        except SERVER_STATES as exc:
            raise SinkUnavailable(f"database cannot write now: {exc}") from exc
        except psycopg.Error as exc:
            raise SinkRejected(f"database refused the batch: {exc}") from exc

    def _rows(self, messages: Iterable[Message]) -> _Rows:
        rows = _Rows()
        track = self._mode is StorageMode.POSTGRES
        for message in messages:
            relation = _add(rows, message)
            if track and relation is not None:
                start = chunk_start(message.body.ts, self._partitions.chunk(relation))
                rows.chunks.setdefault(relation, set()).add(start)
        return rows


def _add(rows: _Rows, message: Message) -> str | None:
    """Add a message's rows; return the table they go to (None: a heartbeat, no row)."""
    body, device, received = message.body, message.topic.device, message.received_at
    state = rows.state.get(device)
    if state is None:
        state = rows.state[device] = _DeviceState(last_seen=received, last_ts=body.ts)
    state.messages += 1
    state.last_seen = max(state.last_seen, received)
    if isinstance(body, Status):
        # By arrival, not by the device's ts: a will message carries the ts of the
        # connect it was registered at, yet it is the device's latest word.
        state.status_online, state.status_ts, state.status_seen = body.online, body.ts, received
        rows.events.append(_event_row(message, "status", {"online": body.online}, personal=False))
        return RELATION["events"]
    state.last_ts = max(state.last_ts, body.ts)
    state.data_seen = received
    if isinstance(body, Telemetry):
        seq, values = body.seq, body.values.as_floats()
        for key, value in values.items():
            rows.telemetry.append((device, key, body.ts, value, seq))
        return RELATION["telemetry"] if values else None
    relation = RELATION[data_class(message.topic.kind.value, body)]
    if isinstance(body, Ack):
        type_, data = "ack", body.model_dump(exclude=_TS_FIELDS)
    else:
        type_, data = body.type, body.model_dump(mode="json", exclude=_TS_FIELDS, exclude_none=True)
    personal = relation == RELATION["access"]
    rows.events.append(_event_row(message, type_, data, personal=personal))
    return relation


def _event_row(
    message: Message, type_: str, data: dict[str, object], *, personal: bool
) -> tuple[object, ...]:
    body = message.body
    seq = -1 if body.seq is None else body.seq
    channel = message.topic.channel.value
    return (
        message.topic.device,
        body.ts,
        type_,
        seq,
        channel,
        data,
        message.received_at,
        personal,
    )


def _store(conn: Conn, rows: _Rows, dead_letters: Sequence[DeadLetter]) -> WriteResult:
    cur = conn.cursor()
    _copy(cur, "stage_telemetry", _TELEMETRY_TYPES, rows.telemetry)
    _copy(cur, "stage_events", _EVENT_TYPES, rows.events)
    _copy(cur, "stage_state", _STATE_TYPES, [s.row(d) for d, s in rows.state.items()])
    inserted = []
    for statement in _MOVE:
        cur.execute(statement)
        inserted.append(max(cur.rowcount, 0))
    if rows.telemetry:
        cur.execute(_LATEST)
    if rows.state:
        cur.execute(_STATE)
    _copy(
        cur,
        "dead_letters (received_at, topic, device_id, reason, detail, payload, payload_size,"
        " refused, elements)",
        _DEAD_TYPES,
        [
            (
                d.received_at,
                d.topic,
                d.device_id,
                d.reason.value,
                d.detail,
                d.payload,
                d.payload_size,
                d.refused,
                [list(e) for e in d.elements] if d.elements else None,
            )
            for d in dead_letters
        ],
    )
    staged = len(rows.telemetry) + len(rows.events)
    return WriteResult(
        telemetry_rows=inserted[0],
        event_rows=inserted[1] + inserted[2],
        duplicates=staged - sum(inserted),
        dead_letters=len(dead_letters),
    )


def _copy(
    cur: psycopg.Cursor[tuple[Any, ...]],
    table: str,
    types: list[str],
    rows: Sequence[tuple[object, ...]],
) -> None:
    if not rows:
        return
    with cur.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)
