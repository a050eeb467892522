"""The transport half of a simulated device: seq, timestamps, connection and wire faults.

A `DeviceRuntime` wraps a behaviour (what the device senses) and turns its readings
into what goes on the wire: `Publish` items with `ts` and a per-device `seq`, and
`Connect`/`Disconnect` items for its MQTT session. It owns the faults that happen
between a device and the broker: malformed payloads, duplicates, out-of-order
delivery, late batches (JSON arrays), clock skew, disconnects (with the will
message), outages that end in a backfill burst, and going silent.

A seq is consumed only by a message that is really sent (silence and a dropped
connection consume none), so a device's seqs over a run are one unbroken range:
whatever the database lacks of it was lost on the way.

Timestamps: gates and barriers stamp RFC 3339 in local time with an offset, lights
and care devices epoch milliseconds, so that both forms of the contract are used.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

import domain
from domain import Channel, Kind, Topic
from simulators._behaviour import FAR_FUTURE, Behaviour, LocalClock, Reading
from simulators._errors import CommandFailed

log = logging.getLogger(__name__)

# Objects per JSON array: 200 objects of at most ~300 bytes stay under a 64 KiB payload.
BATCH_SIZE = 200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
RFC3339_KINDS = frozenset({Kind.GATE, Kind.BARRIER})
MAX_ACK_DETAIL = 500  # characters: the contract's limit on an ack's `detail`


@dataclass(frozen=True, slots=True)
class Publish:
    """One MQTT publish. `fault` says why it is unusual (None: an ordinary message)."""

    at: datetime  # simulated time it is sent
    device: str
    kind: Kind
    channel: Channel
    topic: str
    payload: bytes
    seqs: tuple[int, ...] = ()
    retain: bool = False
    fault: str | None = None  # duplicate, out_of_order, late_batch, backfill, clock_skew, ...
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def objects(self) -> int:
        """JSON objects carried: one, the elements of a batch, or none (malformed, will)."""
        return len(self.seqs)


@dataclass(frozen=True, slots=True)
class Connect:
    """The device opens its MQTT session; its will says it went offline at this time.
    It listens for commands on `cmd_topic`."""

    at: datetime
    device: str
    will_topic: str
    will_payload: bytes
    cmd_topic: str


@dataclass(frozen=True, slots=True)
class Disconnect:
    """The device's session ends uncleanly: the broker publishes its will."""

    at: datetime
    device: str
    will_topic: str
    will_payload: bytes


Item = Publish | Connect | Disconnect


class DeviceRuntime:
    """One device on the wire: its behaviour, its seq, its session and its faults."""

    def __init__(
        self,
        device: domain.Device,
        compound: str,
        behaviour: Behaviour,
        *,
        clock: LocalClock,
        seq_start: int = 0,
    ) -> None:
        self.device = device
        self.compound = compound
        self.behaviour = behaviour
        self.clock = clock
        self.rfc3339 = device.kind in RFC3339_KINDS
        self.topics: dict[Channel, str] = {
            c: str(Topic(compound, device.kind, device.id, c)) for c in domain.DEVICE_CHANNELS
        }
        self.cmd_topic = domain.cmd_topic(compound, device.kind, device.id)
        self.seq = seq_start
        self.will = b""
        self.silent_until = _EPOCH
        self.offline: str | None = None  # None, "drop" (lost) or "buffer" (kept for backfill)
        self.buffered: list[tuple[Channel, dict[str, Any]]] = []
        self.duplicates = 0
        self.reorder = 0
        self.reordered: list[tuple[datetime, Channel, dict[str, Any]]] = []
        self.late_until = _EPOCH
        self.late: list[tuple[Channel, dict[str, Any]]] = []
        self.skew = (timedelta(0), _EPOCH)
        self.malformed = 0
        self._timers: list[tuple[datetime, int, Callable[[datetime], list[Item]]]] = []
        self._timer_count = 0

    @property
    def kind(self) -> Kind:
        return self.device.kind

    def ops(self) -> frozenset[str]:
        return self.behaviour.OPS

    # --- the clock ----------------------------------------------------------------------

    def next_at(self) -> datetime:
        behaviour = self.behaviour.next_at()
        if self._timers and self._timers[0][0] < behaviour:
            return self._timers[0][0]
        return behaviour

    def step(self, now: datetime) -> list[Item]:
        items: list[Item] = []
        while self._timers and self._timers[0][0] <= now:
            at, _, action = heapq.heappop(self._timers)
            items += action(at)
        if self.behaviour.next_at() <= now:
            items += self.emit(self.behaviour.step(now))
        return items

    def _after(self, at: datetime, action: Callable[[datetime], list[Item]]) -> None:
        self._timer_count += 1
        heapq.heappush(self._timers, (at, self._timer_count, action))

    # --- the session --------------------------------------------------------------------

    def connect(self, now: datetime) -> list[Item]:
        """Open the session: the will (ts of this connect, no seq) and a retained status."""
        self.will = orjson.dumps({"ts": self._ts(now), "online": False})
        status = self._stamp(now, {"online": True})
        return [
            Connect(now, self.device.id, self.topics[Channel.STATUS], self.will, self.cmd_topic),
            self._publish(now, Channel.STATUS, status, retain=True),
        ]

    def disconnect(self, now: datetime) -> Disconnect:
        return Disconnect(now, self.device.id, self.topics[Channel.STATUS], self.will)

    def finish(self, now: datetime) -> list[Item]:
        """End of the run: come back if away, release everything held, then leave."""
        items: list[Item] = []
        if self.offline is not None:
            items += self._come_back(now)
        items += self._release_reordered(now)
        items += self._release_late(now)
        items.append(self.disconnect(now))
        return items

    # --- commands -----------------------------------------------------------------------

    def command(self, payload: bytes, now: datetime) -> list[Item]:
        """A `cmd` payload heard at `now`: carry it out, say what it caused, then ack it."""
        if self.offline is not None or now < self.silent_until:
            return []  # no session, or a dead radio: the command never reaches the device
        try:
            command = domain.parse_command(payload, kind=self.kind)
        except domain.InvalidCommand as exc:
            return self._ack(now, exc.correlation_id, "rejected", exc.detail)
        action, correlation = command.body.action, command.correlation_id
        if action not in self.behaviour.COMMANDS:
            detail = f"a {self.device.model} does not carry out {action!r}"
            return self._ack(now, correlation, "rejected", detail)
        params = command.body.model_dump(exclude={"action"})
        try:
            readings = self.behaviour.apply(action, params, now)
        except CommandFailed as exc:
            return self._ack(now, correlation, "error", exc.detail)
        return self.emit(readings) + self._ack(now, correlation, "ok", None)

    def _ack(
        self, now: datetime, correlation: str | None, result: str, detail: str | None
    ) -> list[Item]:
        if correlation is None:
            log.info("%s: a command without a usable correlation_id: %s", self.device.id, detail)
            return []  # nobody to answer
        body: dict[str, Any] = {"correlation_id": correlation, "result": result}
        if detail is not None:
            body["detail"] = detail[:MAX_ACK_DETAIL]
        return self.emit([Reading(now, Channel.ACK, body)])

    # --- readings onto the wire ---------------------------------------------------------

    def emit(self, readings: list[Reading]) -> list[Item]:
        items: list[Item] = []
        for at, channel, body in readings:
            if at < self.silent_until or self.offline == "drop":
                continue  # nothing is sent, no seq is used
            stamped = self._stamp(at, body)
            if self.offline == "buffer":
                self.buffered.append((channel, stamped))
            elif at < self.late_until:
                self.late.append((channel, stamped))
            elif self.reorder:
                self.reordered.append((at, channel, stamped))
                if len(self.reordered) >= self.reorder:
                    items += self._release_reordered(at)
            else:
                items += self._send(at, channel, stamped)
        return items

    def _send(self, at: datetime, channel: Channel, stamped: dict[str, Any]) -> list[Item]:
        skewed = at < self.skew[1]
        fault = "clock_skew" if skewed else None
        detail = {"skew_s": self.skew[0].total_seconds()} if skewed else {}
        first = self._publish(at, channel, stamped, fault=fault, detail=detail)
        if not self.duplicates:
            return [first]
        self.duplicates -= 1
        return [first, self._publish(at, channel, stamped, fault="duplicate")]

    def _stamp(self, at: datetime, body: dict[str, Any]) -> dict[str, Any]:
        seq, self.seq = self.seq, self.seq + 1
        when = at + self.skew[0] if at < self.skew[1] else at
        return {"ts": self._ts(when), "seq": seq, **body}

    def _ts(self, at: datetime) -> str | int:
        if self.rfc3339:
            return self.clock.local(at).isoformat(timespec="milliseconds")
        return (at - _EPOCH) // _MS

    def _publish(
        self,
        at: datetime,
        channel: Channel,
        body: dict[str, Any] | list[dict[str, Any]],
        *,
        retain: bool = False,
        fault: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> Publish:
        seqs = tuple(b["seq"] for b in body) if isinstance(body, list) else (body["seq"],)
        return Publish(
            at,
            self.device.id,
            self.device.kind,
            channel,
            self.topics[channel],
            orjson.dumps(body),
            seqs,
            retain,
            fault,
            detail or {},
        )

    def _batches(
        self, at: datetime, held: list[tuple[Channel, dict[str, Any]]], fault: str
    ) -> list[Item]:
        """Held messages as JSON arrays, one topic per channel, in the order they were said."""
        items: list[Item] = []
        for channel in Channel:
            bodies = [body for c, body in held if c is channel]
            for i in range(0, len(bodies), BATCH_SIZE):
                items.append(self._publish(at, channel, bodies[i : i + BATCH_SIZE], fault=fault))
        return items

    # --- wire faults --------------------------------------------------------------------

    def apply(self, op: str, params: Mapping[str, Any], now: datetime) -> list[Item]:
        handler = _FAULTS.get(op)
        if handler is not None:
            return handler(self, params, now)
        return self.emit(self.behaviour.apply(op, params, now))

    def _malformed(self, params: Mapping[str, Any], now: datetime) -> list[Item]:
        items: list[Item] = []
        for _ in range(int(params.get("count") or 1)):
            self.malformed += 1
            marker = f"sim-bad-{self.device.id}-{self.malformed}"
            variant = str(params.get("variant") or "not_json")
            channel, payload = _bad_payload(variant, marker, (now - _EPOCH) // _MS)
            items.append(
                Publish(
                    now,
                    self.device.id,
                    self.device.kind,
                    channel,
                    self.topics[channel],
                    payload,
                    fault="malformed",
                    detail={"variant": variant, "marker": marker},
                )
            )
        return items

    def _duplicate(self, params: Mapping[str, Any], now: datetime) -> list[Item]:
        self.duplicates += int(params.get("count") or 5)
        return []

    def _out_of_order(self, params: Mapping[str, Any], now: datetime) -> list[Item]:
        self.reorder = int(params.get("count") or 5)
        return []

    def _release_reordered(self, now: datetime) -> list[Item]:
        held, self.reordered, self.reorder = self.reordered, [], 0
        return [
            self._publish(max(at, now), channel, body, fault="out_of_order")
            for at, channel, body in reversed(held)
        ]

    def _late_batch(self, params: Mapping[str, Any], now: datetime) -> list[Item]:
        window: timedelta = params.get("window") or timedelta(minutes=10)
        delay: timedelta = params.get("delay") or timedelta(hours=1)
        self.late_until = max(self.late_until, now + window)
        self._after(self.late_until + delay, self._release_late)
        return []

    def _release_late(self, now: datetime) -> list[Item]:
        held, self.late = self.late, []
        return self._batches(now, held, "late_batch") if held else []

    def _clock_skew(self, params: Mapping[str, Any], now: datetime) -> list[Item]:
        duration: timedelta = params.get("duration") or timedelta(hours=1)
        self.skew = (params.get("skew") or timedelta(0), now + duration)
        return []

    def _go_offline(self, params: Mapping[str, Any], now: datetime, *, buffer: bool) -> list[Item]:
        if self.offline is not None:
            return []
        self.offline = "buffer" if buffer else "drop"
        duration: timedelta = params.get("duration") or timedelta(minutes=10)
        self._after(now + duration, self._come_back)
        return [self.disconnect(now)]

    def _come_back(self, now: datetime) -> list[Item]:
        if self.offline is None:
            return []
        self.offline = None
        held, self.buffered = self.buffered, []
        return self.connect(now) + (self._batches(now, held, "backfill") if held else [])

    def _silent(self, params: Mapping[str, Any], now: datetime) -> list[Item]:
        duration: timedelta | None = params.get("duration")
        self.silent_until = FAR_FUTURE if duration is None else now + duration
        return []


def _bad_payload(variant: str, marker: str, ms: int) -> tuple[Channel, bytes]:
    """A payload the gateway must refuse, with a marker to find it in the dead-letter table."""
    if variant == "not_utf8":
        return Channel.TELEMETRY, b"\xff\xfe" + marker.encode() + b"\xc3\x28"
    if variant == "schema":
        return Channel.TELEMETRY, orjson.dumps({"ts": ms, "values": marker})
    if variant == "bad_ts":
        return Channel.TELEMETRY, orjson.dumps({"ts": f"not-a-time {marker}", "values": {}})
    if variant == "face_image":
        body = {
            "ts": ms,
            "type": "access",
            "result": "granted",
            "method": "face",
            "image": f"data:image/jpeg;base64,{marker}",
        }
        return Channel.EVENT, orjson.dumps(body)
    if variant == "empty_batch":
        return Channel.TELEMETRY, b"[]"
    return Channel.TELEMETRY, f'{{"ts": {ms}, "values": {{ {marker}'.encode()


_FAULTS: dict[str, Callable[[DeviceRuntime, Mapping[str, Any], datetime], list[Item]]] = {
    "malformed": DeviceRuntime._malformed,
    "duplicate": DeviceRuntime._duplicate,
    "out_of_order": DeviceRuntime._out_of_order,
    "late_batch": DeviceRuntime._late_batch,
    "clock_skew": DeviceRuntime._clock_skew,
    "disconnect": lambda d, p, now: d._go_offline(p, now, buffer=False),
    "outage": lambda d, p, now: d._go_offline(p, now, buffer=True),
    "silent": DeviceRuntime._silent,
}
TRANSPORT_FAULTS = frozenset(_FAULTS)
