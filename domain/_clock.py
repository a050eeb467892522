"""Time, injected: every component that needs `now` takes a `Clock`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware UTC datetime."""
        ...


class SystemClock:
    """The wall clock; the only place Dayuan reads it."""

    def now(self) -> datetime:
        return datetime.now(UTC)
