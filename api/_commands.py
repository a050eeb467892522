"""Device commands: published on the device's `cmd` topic (the wire form of a
`domain.Command`) with a correlation id, then completed by the device's `ack`, or
failed when none comes in time.

Acks are taken two ways, whichever comes first: this process subscribes to
`dayuan/v1/+/+/+/ack` (a shared subscription across API processes on MQTT 5), and a
sweeper also looks for acks the gateway stored in `events` (channel `ack`) - an ack
that arrived while this process was disconnected still completes its command. The
sweeper fails commands whose deadline passed. A command row only ever leaves `sent`
once (`WHERE status = 'sent'`), so the two paths cannot disagree.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
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
from api._db import Conn, row, rows
from broker import MqttEndpoint, aiomqtt_client
from domain import Ack, Clock, CommandBody, Kind, Topic

log = logging.getLogger(__name__)

ACK_SUBSCRIPTION = f"{domain.PREFIX}/+/+/+/ack"
SHARE_GROUP = "dayuan-api"
# How often deadlines and gateway-stored acks are checked: well under any ack timeout.
SWEEP_S = 0.25
# After a lost connection, wait this long before trying the broker again.
RECONNECT_S = 2.0
# Acks are looked up in `events` from this long before the command was sent: a device
# clock a little behind must not hide its ack.
ACK_CLOCK_SLACK = timedelta(minutes=5)
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

    def _complete(
        self,
        correlation: str,
        status: str,
        result: str | None,
        detail: str | None,
        *,
        device: str | None = None,
    ) -> None:
        """Complete a command still `sent`; with `device`, only if it was sent to that
        device (an ack counts only from the device that was commanded)."""
        with self._pool.connection() as conn:
            conn.execute(
                "UPDATE api_device_commands SET status = %s, result = %s, detail = %s,"
                " completed_at = %s WHERE correlation_id = %s AND status = 'sent'"
                " AND device_id = coalesce(%s, device_id)",
                (status, result, detail, self._clock.now(), correlation, device),
            )

    # --- acks and deadlines --------------------------------------------------------------

    async def run(self) -> None:
        """Keep a broker connection for publishing and acks, and sweep deadlines."""
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._sweep_forever)
            if self._mqtt is not None:
                tasks.start_soon(self._connect_forever, self._mqtt)

    async def _connect_forever(self, mqtt: MqttEndpoint) -> None:
        while True:
            try:
                async with aiomqtt_client(mqtt, self._client_id) as client:
                    shared = mqtt.protocol == 5
                    topic = (
                        f"$share/{SHARE_GROUP}/{ACK_SUBSCRIPTION}" if shared else ACK_SUBSCRIPTION
                    )
                    await client.subscribe(topic, qos=1)
                    self._client = client
                    self.connected.set()
                    log.info("API connected to the broker at %s", mqtt)
                    async for message in client.messages:
                        await self._on_ack(str(message.topic), message.payload)
            except aiomqtt.MqttError as exc:
                log.warning("API broker connection lost (%s); retrying in %.0fs", exc, RECONNECT_S)
            finally:
                self.connected.clear()
                self._client = None
            await anyio.sleep(RECONNECT_S)

    async def _on_ack(self, topic: str, payload: Any) -> None:
        try:
            parsed = Topic.parse(topic)
            bodies = domain.decode(parsed, bytes(payload))
        except (domain.DomainError, TypeError) as exc:
            log.info("ignoring an unusable ack on %s: %s", topic, exc)
            return
        for body in bodies:
            if isinstance(body, Ack):
                status = "acknowledged" if body.result == "ok" else "failed"
                await anyio.to_thread.run_sync(
                    functools.partial(
                        self._complete,
                        body.correlation_id,
                        status,
                        body.result,
                        body.detail,
                        device=parsed.device,
                    )
                )

    async def _sweep_forever(self) -> None:
        while True:
            await anyio.sleep(SWEEP_S)
            try:
                await anyio.to_thread.run_sync(self.sweep)
            except (psycopg.Error, PoolTimeout):  # the database is away: retry next time
                log.exception("command sweep failed; retrying")

    def sweep(self) -> None:
        now = self._clock.now()
        with self._pool.connection() as conn:
            conn.execute(
                "UPDATE api_device_commands c SET status = CASE WHEN e.data->>'result' = 'ok'"
                " THEN 'acknowledged' ELSE 'failed' END, result = e.data->>'result',"
                " detail = e.data->>'detail', completed_at = %s"
                " FROM events e WHERE c.status = 'sent' AND e.channel = 'ack'"
                " AND e.device_id = c.device_id AND e.ts >= c.created_at - %s"
                " AND e.data->>'correlation_id' = c.correlation_id",
                (now, ACK_CLOCK_SLACK),
            )
            conn.execute(
                "UPDATE api_device_commands SET status = 'failed', completed_at = %s,"
                " detail = 'no ack from the device within ' || %s || ' s'"
                " WHERE status = 'sent' AND deadline <= %s",
                (now, f"{self._timeout.total_seconds():g}", now),
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
