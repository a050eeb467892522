"""Fakes at the gateway's seams: a sink that records or fails, a fixed clock."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from domain import DeadLetter, Message, Sink, SinkRejected, SinkUnavailable


@dataclass
class FakeSink:
    batches: list[tuple[list[Message], list[DeadLetter]]] = field(default_factory=list)
    unavailable: int = 0  # fail this many writes as unavailable first
    poison: str | None = None  # reject any batch holding a message of this device

    def write(self, messages: Sequence[Message], dead_letters: Sequence[DeadLetter]) -> None:
        if self.unavailable > 0:
            self.unavailable -= 1
            raise SinkUnavailable("database down (fake)")
        if self.poison and any(m.device == self.poison for m in messages):
            raise SinkRejected("value out of range for column (fake)")
        self.batches.append((list(messages), list(dead_letters)))


class FixedClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.value = now or datetime(2026, 11, 21, 8, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.value


class Throttled:
    """A sink that takes `delay_s` longer over every write once `slow` is set."""

    def __init__(self, inner: Sink, delay_s: float) -> None:
        self.inner = inner
        self.delay_s = delay_s
        self.slow = threading.Event()
        self._pause = threading.Event()

    def write(self, messages: Sequence[Message], dead_letters: Sequence[DeadLetter]) -> None:
        if self.slow.is_set():
            self._pause.wait(self.delay_s)
        self.inner.write(messages, dead_letters)
