"""From (topic, bytes) to validated messages or dead letters: every check at the edge.

In order: the topic's shape, the payload's size, the device in the registry and its
compound and kind against the topic, then the payload's schema, and the timestamp
against the clock (skew) and the data class's retention (too old). Each rejection is
a `DeadLetter` with a machine-readable reason and a detail an operator can read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from domain import (
    DeadLetter,
    InvalidPayload,
    InvalidTopic,
    Kind,
    Message,
    Reason,
    Topic,
    data_class,
    decode,
)

# 64 KiB: ThingsBoard's default maxPayloadSize; a 1000-element backfill of small
# readings fits, a camera frame does not (and must not: no images reach the backend).
DEFAULT_MAX_PAYLOAD_BYTES = 65_536
# Devices are NTP-synced; 5 min tolerates a drifting RTC, not a clock set to 2036.
DEFAULT_MAX_FUTURE_SKEW = timedelta(minutes=5)
# Parsed topics are cached: a fleet reuses a few topics per device. Past this many the
# cache is cleared rather than grown (a flood of random topics must not eat memory).
TOPIC_CACHE_SIZE = 200_000


class KnownDevice(Protocol):
    @property
    def compound(self) -> str: ...
    @property
    def kind(self) -> Kind: ...


@dataclass(frozen=True, slots=True)
class Limits:
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW
    # Retention by data class (telemetry, events, access): older data is refused.
    retention: Mapping[str, timedelta] = field(default_factory=dict)


@dataclass(slots=True)
class Accepted:
    messages: list[Message]
    dead_letters: list[DeadLetter]


class Intake:
    def __init__(self, *, devices: Callable[[str], KnownDevice | None], limits: Limits) -> None:
        self._devices = devices
        self._limits = limits
        self._topics: dict[str, Topic | InvalidTopic] = {}

    def accept(self, topic: str, payload: bytes, received_at: datetime) -> Accepted:
        parsed = self._topic(topic)
        if isinstance(parsed, InvalidTopic):
            return _reject(topic, payload, received_at, parsed.reason, parsed.detail, None)
        device = parsed.device
        if len(payload) > self._limits.max_payload_bytes:
            detail = f"payload of {len(payload)} bytes (limit {self._limits.max_payload_bytes})"
            return _reject(topic, payload, received_at, Reason.OVERSIZED, detail, device)
        problem = self._check_device(parsed)
        if problem is not None:
            return _reject(topic, payload, received_at, problem[0], problem[1], device)
        try:
            items = decode(parsed, payload)
        except InvalidPayload as exc:
            return _reject(topic, payload, received_at, exc.reason, exc.detail, device)
        return self._judge(parsed, topic, payload, received_at, items)

    def _topic(self, topic: str) -> Topic | InvalidTopic:
        cached = self._topics.get(topic)
        if cached is None:
            try:
                cached = Topic.parse(topic)
            except InvalidTopic as exc:
                cached = exc
            if len(self._topics) >= TOPIC_CACHE_SIZE:
                self._topics.clear()
            self._topics[topic] = cached
        return cached

    def _check_device(self, topic: Topic) -> tuple[Reason, str] | None:
        known = self._devices(topic.device)
        if known is None:
            return Reason.UNKNOWN_DEVICE, f"device {topic.device!r} is not in the registry"
        if known.compound != topic.compound or known.kind is not topic.kind:
            return (
                Reason.TOPIC_MISMATCH,
                f"device {topic.device!r} is a {known.kind.value} of compound "
                f"{known.compound!r}, not a {topic.kind.value} of {topic.compound!r}",
            )
        return None

    def _judge(
        self,
        topic: Topic,
        raw_topic: str,
        payload: bytes,
        received_at: datetime,
        items: Sequence[object],
    ) -> Accepted:
        out = Accepted([], [])
        newest = received_at + self._limits.max_future_skew
        for item in items:
            reason: Reason | None
            if isinstance(item, InvalidPayload):
                reason, detail = item.reason, str(item)
            else:
                message = Message(topic, item, received_at)  # type: ignore[arg-type]
                reason, detail = self._check_time(message, newest)
                if reason is None:
                    out.messages.append(message)
                    continue
            out.dead_letters.append(
                DeadLetter.of(
                    received_at=received_at,
                    topic=raw_topic,
                    reason=reason,
                    detail=detail,
                    payload=payload,
                    device_id=topic.device,
                )
            )
        return out

    def _check_time(self, message: Message, newest: datetime) -> tuple[Reason | None, str]:
        ts = message.body.ts
        if ts > newest:
            skew = ts - message.received_at
            return Reason.CLOCK_SKEW, f"ts {ts.isoformat()} is {skew} ahead of the gateway clock"
        keep = self._limits.retention.get(data_class(message.topic.kind.value, message.body))
        if keep is not None and ts < message.received_at - keep:
            return Reason.TOO_OLD, f"ts {ts.isoformat()} is older than the retention of {keep}"
        return None, ""


def _reject(
    topic: str,
    payload: bytes,
    received_at: datetime,
    reason: Reason,
    detail: str,
    device: str | None,
) -> Accepted:
    letter = DeadLetter.of(
        received_at=received_at,
        topic=topic,
        reason=reason,
        detail=detail,
        payload=payload,
        device_id=device,
    )
    return Accepted([], [letter])
