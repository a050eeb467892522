"""A one-line progress display for long runs: on a terminal's stderr, and nowhere else."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

REFRESH_S = 0.5  # often enough to look alive, rarely enough to cost nothing


class Progress:
    """Redraws one status line at most every REFRESH_S; silent unless `stream` is a TTY."""

    def __init__(
        self,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and self.stream.isatty()
        self.monotonic = monotonic
        self.started = monotonic()
        self._next = self.started
        self._drawn = False

    def update(self, *, simulated: datetime, sent: int, acked: int, errors: int) -> None:
        now = self.monotonic()
        if not self.enabled or now < self._next:
            return
        self._next = now + REFRESH_S
        elapsed = max(now - self.started, 1e-9)
        line = (
            f"\r[{simulated:%Y-%m-%d %H:%M:%S}Z] sent {sent:,} ({sent / elapsed:,.0f}/s) "
            f"acked {acked:,} errors {errors:,}"
        )
        self.stream.write(line.ljust(79))
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
