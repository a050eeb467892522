"""Counters of one gateway process (read by the metrics endpoint and the benchmark)."""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway._pipeline import Delivery

# Commit latencies kept for percentiles: the last few minutes at 5 batches/s.
LATENCY_WINDOW = 1024


@dataclass
class GatewayMetrics:
    received: int = 0  # MQTT messages received
    stored_messages: int = 0  # validated objects committed (a batch array counts each)
    rejected: Counter[str] = field(default_factory=Counter)  # dead letters by reason
    # Dead letters over their device's budget (gateway._budget): counted, not stored.
    dead_letters_suppressed: int = 0
    batches: int = 0
    retries: int = 0
    backpressure_waits: int = 0
    unstorable: int = 0
    outbound_ignored: int = 0  # backend's own cmd / cases topics seen on the way past
    takeovers: int = 0  # departed members' sessions drained and ended (gateway._takeover)
    adopted: int = 0  # deliveries received from those sessions (not in `received`)
    # Stored deliveries of an earlier connection, left to the broker to redeliver rather
    # than acknowledged by a packet id that may now name another message.
    acks_withheld: int = 0
    commit_seconds: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))
    batch_sizes: deque[int] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def observe_commit(self, seconds: float, deliveries: int) -> None:
        with self._lock:
            self.batches += 1
            self.commit_seconds.append(seconds)
            self.batch_sizes.append(deliveries)

    def count_stored(self, batch: Sequence[Delivery]) -> None:
        with self._lock:
            for d in batch:
                self.stored_messages += len(d.messages)
                self.dead_letters_suppressed += d.suppressed
                for letter in d.dead_letters:
                    self.rejected[letter.reason.value] += 1
