"""The port through which the gateway hands validated batches to storage: here, in the
shared layer, so that storage implements it without importing the gateway."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain import DeadLetter, Message


class Sink(Protocol):
    def write(self, messages: Sequence[Message], dead_letters: Sequence[DeadLetter]) -> None:
        """Store one batch atomically, or raise `SinkUnavailable` / `SinkRejected`.

        When this returns, every message of the batch is durable: the gateway then
        acknowledges them to the broker.
        """
