"""The per-device dead-letter budget: how many rows one device may add to the table.

A device gets `rows` dead letters per `window`; past that its dead letters are counted,
not kept, and when the window ends one `suppressed` row says how many were left out, of
which reasons. A flood from one device therefore costs a bounded number of rows, and an
operator still sees that it happened. The valid messages of a suppressed delivery are
stored as always: only its dead letter is left out.

Windows are fixed (they start at a device's first dead letter) and close by the
`received_at` of later deliveries, of any device: time comes from the gateway's clock. A
stopping gateway drains the windows still open, so that no count is lost with it.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain import DeadLetter, Reason

# 60 rows a minute per device: a device misbehaving once a second still shows every
# dead letter; a flood shows its first minute's worth of samples and a count.
DEFAULT_DEAD_LETTERS_PER_DEVICE = 60
DEFAULT_DEAD_LETTER_WINDOW = timedelta(minutes=1)
# Devices with an open window tracked one by one; past this many (a flood of invented
# device ids) the rest share one window, so that the budget's memory is bounded too.
MAX_TRACKED_DEVICES = 100_000


@dataclass(frozen=True, slots=True)
class Budget:
    rows: int = DEFAULT_DEAD_LETTERS_PER_DEVICE
    window: timedelta = DEFAULT_DEAD_LETTER_WINDOW


@dataclass(slots=True)
class _Window:
    device: str | None
    topic: str
    start: datetime
    used: int = 0
    suppressed: int = 0  # dead letters left out
    objects: int = 0  # the refused objects they stood for
    reasons: Counter[str] = field(default_factory=Counter)


class DeadLetterBudget:
    """Running state of one `Budget`. Locked: the MQTT thread and a takeover's drain
    (`gateway._takeover`) share one intake."""

    def __init__(self, budget: Budget) -> None:
        self._budget = budget
        self._open: dict[str | None, _Window] = {}
        self._by_start: deque[_Window] = deque()
        self._lock = threading.Lock()

    def admit(self, letter: DeadLetter) -> bool:
        """True: keep `letter`. False: it is over its device's budget, and counted."""
        with self._lock:
            return self._admit(letter)

    def _admit(self, letter: DeadLetter) -> bool:
        key = letter.device_id
        if key not in self._open and len(self._open) >= MAX_TRACKED_DEVICES:
            key = None
        window = self._open.get(key)
        if window is None or letter.received_at >= window.start + self._budget.window:
            window = _Window(key, letter.topic, letter.received_at)
            self._open[key] = window
            self._by_start.append(window)
        if window.used < self._budget.rows:
            window.used += 1
            return True
        window.suppressed += 1
        window.objects += letter.refused
        window.reasons[letter.reason.value] += 1
        return False

    def close(self, now: datetime) -> list[DeadLetter]:
        """The `suppressed` rows of the windows that have ended by `now`."""
        with self._lock:
            return self._close(now)

    def _close(self, now: datetime) -> list[DeadLetter]:
        out = []
        while self._by_start and self._by_start[0].start + self._budget.window <= now:
            window = self._by_start.popleft()
            if self._open.get(window.device) is window:
                del self._open[window.device]
            if window.suppressed:
                out.append(self._summary(window, now))
        return out

    def drain(self, now: datetime) -> list[DeadLetter]:
        """The `suppressed` rows of every window, ended or not (the gateway is stopping)."""
        with self._lock:
            out = [self._summary(w, now) for w in self._by_start if w.suppressed]
            self._by_start.clear()
            self._open.clear()
            return out

    def _summary(self, w: _Window, now: datetime) -> DeadLetter:
        reasons = ", ".join(f"{r} {n}" for r, n in w.reasons.most_common())
        end = w.start + self._budget.window
        return DeadLetter.of(
            received_at=now,
            topic=w.topic,
            reason=Reason.SUPPRESSED,
            detail=(
                f"{w.suppressed} dead letter(s) ({w.objects} refused object(s)) between "
                f"{w.start.isoformat()} and {end.isoformat()} were counted, not kept: over the "
                f"budget of {self._budget.rows} per {self._budget.window}; by reason: {reasons}"
            ),
            payload=b"",
            device_id=w.device,
            refused=w.suppressed,
        )
