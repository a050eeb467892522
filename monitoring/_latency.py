"""The alarm latency recorder: an `AlarmSink` chained beside the workflow's sink in the
process that runs the rule engine, read by the process's `/metrics`."""

from __future__ import annotations

import threading
from collections import deque

from rules import AlarmChange, ChangeKind

QUANTILES = (0.5, 0.9, 0.99)
# Observations kept for the quantiles: the last few hundred alarms (and, in the summaries
# of `GatewayMetrics`, as many batches: its own window has the same length).
LATENCY_WINDOW = 1024


class AlarmLatency:
    """Records evidence-received-to-alarm-opened latency of the alarms that open."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: deque[float] = deque(maxlen=LATENCY_WINDOW)

    def emit(self, change: AlarmChange) -> None:
        if change.change is ChangeKind.OPENED and change.received_at is not None:
            with self._lock:
                self.seconds.append((change.emitted_at - change.received_at).total_seconds())

    def snapshot(self) -> list[float]:
        with self._lock:
            return list(self.seconds)
