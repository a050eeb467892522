"""From (topic, bytes) to validated messages or dead letters: every check at the edge.

In order: the topic's shape, the payload's size, the device in the registry and its
compound and kind against the topic, then the payload's schema, and the timestamp
against the clock (skew) and the data class's retention (too old), and the spread of
one delivery over storage partitions. A delivery's rejections make one `DeadLetter` with
a machine-readable reason and a detail an operator can read (an array's refused elements
are listed in it, not given a row each), kept within its device's budget
(`gateway._budget`).
"""

from __future__ import annotations

from collections import Counter
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
    Telemetry,
    Topic,
    data_class,
    decode,
)
from gateway._budget import Budget, DeadLetterBudget

# 64 KiB: ThingsBoard's default maxPayloadSize; a 1000-element backfill of small
# readings fits, a camera frame does not (and must not: no images reach the backend).
DEFAULT_MAX_PAYLOAD_BYTES = 65_536
# Devices are NTP-synced; 5 min tolerates a drifting RTC, not a clock set to 2036.
DEFAULT_MAX_FUTURE_SKEW = timedelta(minutes=5)
# Parsed topics are cached: a fleet reuses a few topics per device. Past this many the
# cache is cleared rather than grown (a flood of random topics must not eat memory).
TOPIC_CACHE_SIZE = 200_000
# Storage partitions (chunks) one delivery may write into. A device offline for a week
# backfills telemetry into 8 day-chunks; one 18.7 KB message spread over years created 398
# partitions (issue 14). Readings past the bound are refused as `too_many_partitions`.
MAX_PARTITIONS_PER_DELIVERY = 8
# The chunk interval assumed for a data class the limits do not name.
DEFAULT_CHUNK = timedelta(days=1)
# Refused elements described in full in a dead letter's detail (all are in `elements`,
# up to domain.DEAD_LETTER_ELEMENTS_LISTED).
DETAILS_SHOWN = 3


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
    # Chunk (partition) interval by data class, as storage aligns them.
    chunks: Mapping[str, timedelta] = field(default_factory=dict)
    max_partitions: int = MAX_PARTITIONS_PER_DELIVERY
    dead_letters: Budget = field(default_factory=Budget)


@dataclass(slots=True)
class Accepted:
    messages: list[Message]
    dead_letters: list[DeadLetter]
    suppressed: int = 0  # dead letters over their device's budget: counted, not kept


class Intake:
    def __init__(self, *, devices: Callable[[str], KnownDevice | None], limits: Limits) -> None:
        self._devices = devices
        self._limits = limits
        self._topics: dict[str, Topic | InvalidTopic] = {}
        self._budget = DeadLetterBudget(limits.dead_letters)

    def accept(self, topic: str, payload: bytes, received_at: datetime) -> Accepted:
        judged = self._accept(topic, payload, received_at)
        kept = self._budget.close(received_at)
        for letter in judged.dead_letters:
            if self._budget.admit(letter):
                kept.append(letter)
            else:
                judged.suppressed += 1
        judged.dead_letters = kept
        return judged

    def drain(self, now: datetime) -> list[DeadLetter]:
        """The summaries of the dead letters still held back by the budget (on shutdown)."""
        return self._budget.drain(now)

    def _accept(self, topic: str, payload: bytes, received_at: datetime) -> Accepted:
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
        refused: list[_Refusal] = []
        chunks: set[tuple[str, int]] = set()
        for index, item in enumerate(items):
            if isinstance(item, InvalidPayload):
                refused.append(_Refusal(index, item.reason, item.detail))
                continue
            message = Message(topic, item, received_at)  # type: ignore[arg-type]
            reason, detail = self._check_time(message, newest)
            if reason is None:
                reason, detail = self._check_spread(message, chunks)
            if reason is None:
                out.messages.append(message)
            else:
                refused.append(_Refusal(index, reason, detail))
        if refused:
            out.dead_letters.append(
                _letter(raw_topic, payload, received_at, topic.device, refused, len(items))
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

    def _check_spread(
        self, message: Message, chunks: set[tuple[str, int]]
    ) -> tuple[Reason | None, str]:
        """Refuse a reading that would take this delivery into one partition too many."""
        body = message.body
        if isinstance(body, Telemetry) and not body.values.as_floats():
            return None, ""  # a heartbeat stores no row
        cls = data_class(message.topic.kind.value, body)
        step = int(self._limits.chunks.get(cls, DEFAULT_CHUNK).total_seconds())
        chunk = (cls, int(body.ts.timestamp()) // step)
        if chunk in chunks:
            return None, ""
        if len(chunks) >= self._limits.max_partitions:
            return Reason.TOO_MANY_PARTITIONS, (
                f"ts {body.ts.isoformat()} would take this message into a partition beyond "
                f"the first {self._limits.max_partitions} it writes (send an old backfill "
                "in several messages, each over a shorter span)"
            )
        chunks.add(chunk)
        return None, ""


@dataclass(frozen=True, slots=True)
class _Refusal:
    index: int
    reason: Reason
    detail: str


def _letter(
    topic: str,
    payload: bytes,
    received_at: datetime,
    device: str,
    refused: Sequence[_Refusal],
    total: int,
) -> DeadLetter:
    """One dead letter for all that a delivery had refused."""
    if total == 1:
        only = refused[0]
        return DeadLetter.of(
            received_at=received_at,
            topic=topic,
            reason=only.reason,
            detail=only.detail,
            payload=payload,
            device_id=device,
        )
    by_reason = Counter(r.reason for r in refused)
    # A face field decides the row's reason, whatever else was wrong: it withholds the payload.
    reason = (
        Reason.PRIVACY_VIOLATION
        if Reason.PRIVACY_VIOLATION in by_reason
        else by_reason.most_common(1)[0][0]
    )
    counts = ", ".join(f"{r.value} {n}" for r, n in by_reason.most_common())
    shown = "; ".join(
        f"batch element {r.index}: {r.reason.value}: {r.detail}" for r in refused[:DETAILS_SHOWN]
    )
    more = len(refused) - DETAILS_SHOWN
    return DeadLetter.of(
        received_at=received_at,
        topic=topic,
        reason=reason,
        detail=f"{len(refused)} of {total} elements refused ({counts}): {shown}"
        + (f"; and {more} more" if more > 0 else ""),
        payload=payload,
        device_id=device,
        refused=len(refused),
        elements=[(r.index, r.reason.value) for r in refused],
    )


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
