"""Device commands: published on the device's `cmd` topic (the wire form of a
`domain.Command`) with a correlation id, then completed by the device's `ack`, or
failed when none comes in time.

Acks are the gateway's: it checks and stores them like every other message, and a
sweeper here completes each command from the acks stored for it (`ingest.acks_for`:
from the commanded device, received since the command was sent), so an ack that
arrived while this process was away still counts, and nothing the gateway refused
does. The sweeper also fails commands whose deadline passed. A command row only ever
leaves `sent` once (`WHERE status = 'sent'`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

import aiomqtt
import anyio
import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

import domain
import ingest
from api._db import Conn, row, rows
from broker import MqttEndpoint, aiomqtt_client
from domain import Clock, CommandBody, Kind

log = logging.getLogger(__name__)

# How often deadlines and gateway-stored acks are checked: well under any ack timeout.
SWEEP_S = 0.25
# After a lost connection, wait this long before trying the broker again.
RECONNECT_S = 2.0
# An ack counts when the gateway received it after the command was sent, by the two
# servers' clocks: this much apart is tolerated, so that a gateway host whose clock is
# a little behind the API's does not hide a prompt ack.
HOST_CLOCK_SLACK = timedelta(seconds=30)
COMMAND_QOS = 1

_COLUMNS = (
    "id, correlation_id, device_id, command->>'action' AS action, command, status, result,"
    " detail, requested_by, created_at, deadline, completed_at"
)


class BrokerUnavailable(Exception):
    """The broker is not connected: the command was not sent."""


class Commands:
    """Sends commands and completes them; `run` is the background task of the lifespan."""

    def __init__(
        self,
        pool: ConnectionPool,
        *,
        mqtt: MqttEndpoint | None,
        clock: Clock,
        ack_timeout_s: float,
        client_id: str | None = None,
    ) -> None:
        self._pool = pool
        self._mqtt = mqtt
        self._clock = clock
        self._timeout = timedelta(seconds=ack_timeout_s)
        self._client_id = client_id or f"dayuan-api-{secrets.token_hex(4)}"
        self._client: aiomqtt.Client | None = None
        self.connected = asyncio.Event()

    # --- sending -------------------------------------------------------------------------

    async def send(
        self, device: dict[str, Any], command: CommandBody, *, requested_by: str
    ) -> dict[str, Any]:
        client = self._client
        if client is None or not self.connected.is_set():
            raise BrokerUnavailable("the broker is not reachable; the command was not sent")
        correlation = secrets.token_hex(8)
        now = self._clock.now()
        document = command.model_dump(exclude_none=True)
        created = await anyio.to_thread.run_sync(
            self._insert, device, document, correlation, requested_by, now
        )
        topic = domain.cmd_topic(device["compound"], Kind(device["kind"]), device["id"])
        payload = domain.Command(ts=now, correlation_id=correlation, body=command).payload()
        try:
            await client.publish(topic, payload, qos=COMMAND_QOS)
        except aiomqtt.MqttError as exc:
            await anyio.to_thread.run_sync(self._complete, correlation, "failed", None, str(exc))
            raise BrokerUnavailable(f"the broker refused the command: {exc}") from exc
        return created

    def _insert(
        self,
        device: dict[str, Any],
        command: dict[str, Any],
        correlation: str,
        requested_by: str,
        now: datetime,
    ) -> dict[str, Any]:
        with self._pool.connection() as conn:
            created = row(
                conn,
                "INSERT INTO api_device_commands (correlation_id, device_id, compound_id, kind,"
                " command, status, requested_by, created_at, deadline)"
                " VALUES (%s, %s, %s, %s, %s, 'sent', %s, %s, %s)"
                f" RETURNING {_COLUMNS}",
                (
                    correlation,
                    device["id"],
                    device["compound"],
                    device["kind"],
                    Jsonb(command),
                    requested_by,
                    now,
                    now + self._timeout,
                ),
            )
        assert created is not None
        return created

    def _complete(self, correlation: str, status: str, result: str | None, detail: str) -> None:
        """Complete a command still `sent`."""
        with self._pool.connection() as conn:
            conn.execute(
                "UPDATE api_device_commands SET status = %s, result = %s, detail = %s,"
                " completed_at = %s WHERE correlation_id = %s AND status = 'sent'",
                (status, result, detail, self._clock.now(), correlation),
            )

    # --- acks and deadlines --------------------------------------------------------------

    async def run(self) -> None:
        """Keep a broker connection for publishing, and sweep acks and deadlines."""
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._sweep_forever)
            if self._mqtt is not None:
                tasks.start_soon(self._connect_forever, self._mqtt)

    async def _connect_forever(self, mqtt: MqttEndpoint) -> None:
        while True:
            try:
                async with aiomqtt_client(mqtt, self._client_id) as client:
                    self._client = client
                    self.connected.set()
                    log.info("API connected to the broker at %s", mqtt)
                    # Nothing is subscribed: this only waits for the connection to end.
                    async for _ in client.messages:
                        pass
            except aiomqtt.MqttError as exc:
                log.warning("API broker connection lost (%s); retrying in %.0fs", exc, RECONNECT_S)
            finally:
                self.connected.clear()
                self._client = None
            await anyio.sleep(RECONNECT_S)

    async def _sweep_forever(self) -> None:
        while True:
            await anyio.sleep(SWEEP_S)
            try:
                await anyio.to_thread.run_sync(self.sweep)
            except (psycopg.Error, PoolTimeout, ingest.StorageUnavailable):
                log.exception("command sweep failed; retrying")  # the database is away

    def sweep(self) -> None:
        now = self._clock.now()
        with self._pool.connection() as conn:
            _complete_from_acks(conn, now)
            conn.execute(
                "UPDATE api_device_commands SET status = 'failed', completed_at = %s,"
                " detail = 'no ack from the device within ' || %s || ' s'"
                " WHERE status = 'sent' AND deadline <= %s",
                (now, f"{self._timeout.total_seconds():g}", now),
            )


def _complete_from_acks(conn: Conn, now: datetime) -> None:
    """Complete the commands still `sent` that the gateway stored an ack for."""
    waiting = rows(
        conn,
        "SELECT device_id, correlation_id, created_at FROM api_device_commands"
        " WHERE status = 'sent'",
    )
    if not waiting:
        return
    since = min(w["created_at"] for w in waiting) - HOST_CLOCK_SLACK
    awaited = [(str(w["device_id"]), str(w["correlation_id"])) for w in waiting]
    for ack in ingest.acks_for(conn, awaited, since=since):  # oldest first: the first wins
        conn.execute(
            "UPDATE api_device_commands SET status = %s, result = %s, detail = %s,"
            " completed_at = %s WHERE correlation_id = %s AND device_id = %s"
            " AND status = 'sent' AND created_at <= %s",
            (
                "acknowledged" if ack.result == "ok" else "failed",
                ack.result,
                ack.detail,
                now,
                ack.correlation_id,
                ack.device_id,
                ack.received_at + HOST_CLOCK_SLACK,
            ),
        )


def commands_of(
    conn: Conn, device: str, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    data = rows(
        conn,
        f"SELECT {_COLUMNS} FROM api_device_commands WHERE device_id = %s"
        " ORDER BY id DESC LIMIT %s OFFSET %s",
        (device, limit, offset),
    )
    total = row(
        conn, "SELECT count(*) AS n FROM api_device_commands WHERE device_id = %s", (device,)
    )
    return data, int(total["n"]) if total else 0


def command(conn: Conn, device: str, correlation: str) -> dict[str, Any] | None:
    return row(
        conn,
        f"SELECT {_COLUMNS} FROM api_device_commands WHERE device_id = %s AND correlation_id = %s",
        (device, correlation),
    )


async def run_until_cancelled(commands: Commands) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        await commands.run()
