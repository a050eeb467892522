"""Alarms as values: what a rule signals, what is stored, and what is emitted.

A `Signal` is a rule's verdict about one subject (a device, a flat, a plate in a
compound): raised or cleared, with the values behind it and a trigger identity. The
`AlarmStore` turns raises into at most one open alarm per fingerprint (rule +
subject) and drops a trigger it has already counted (a redelivered message). An
`AlarmChange` is what leaves the package, through the one `AlarmSink` interface.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from domain import Severity


class ChangeKind(StrEnum):
    OPENED = "opened"
    UPDATED = "updated"  # a repeat (count, last_seen), an escalation, or flapping
    CLEARED = "cleared"


@dataclass(frozen=True, slots=True)
class Subject:
    """What an alarm is about; `key` completes the fingerprint."""

    key: str  # a device id, "compound/flat", or "compound/<value>" (a plate)
    compound: str
    device: str | None = None
    flat: str | None = None


@dataclass(frozen=True, slots=True)
class Signal:
    rule_id: str
    subject: Subject
    raised: bool
    at: datetime  # event time of the evidence
    values: Mapping[str, Any]
    trigger: str  # identity of the evidence: the same trigger never counts twice
    severity: Severity | None = None  # None: the rule's own (a pre-warning lowers it)
    received_at: datetime | None = None  # when the gateway received the evidence

    @property
    def fingerprint(self) -> str:
        return f"{self.rule_id}:{self.subject.key}"


@dataclass(frozen=True, slots=True)
class AlarmRow:
    """An alarm as stored."""

    id: int
    fingerprint: str
    rule_id: str
    rule_version: int
    title: str
    severity: Severity
    subject: Subject
    count: int
    first_seen: datetime
    last_seen: datetime
    values: Mapping[str, Any]
    cleared_at: datetime | None = None
    flapping: bool = False
    created: bool = False  # this raise opened it


@dataclass(frozen=True, slots=True)
class AlarmChange:
    """One change of one alarm: what the workflow consumes."""

    change: ChangeKind
    alarm_id: int
    fingerprint: str
    rule_id: str
    rule_version: int
    title: str
    severity: Severity
    compound: str
    device: str | None
    flat: str | None
    values: Mapping[str, Any]  # what triggered it (or, when cleared, what cleared it)
    count: int
    first_seen: datetime
    last_seen: datetime
    cleared_at: datetime | None
    flapping: bool
    emitted_at: datetime  # the engine's clock when emitted
    received_at: datetime | None = None  # the gateway's receipt of the evidence

    @classmethod
    def of(
        cls,
        change: ChangeKind,
        row: AlarmRow,
        *,
        now: datetime,
        received_at: datetime | None,
        values: Mapping[str, Any] | None = None,
    ) -> AlarmChange:
        s = row.subject
        return cls(
            change,
            row.id,
            row.fingerprint,
            row.rule_id,
            row.rule_version,
            row.title,
            row.severity,
            s.compound,
            s.device,
            s.flat,
            row.values if values is None else values,
            row.count,
            row.first_seen,
            row.last_seen,
            row.cleared_at,
            row.flapping,
            now,
            received_at,
        )


class AlarmSink(Protocol):
    def emit(self, change: AlarmChange) -> None:
        """Take one change; must return quickly (it runs on the engine's thread)."""
        ...


@dataclass(frozen=True, slots=True)
class Raise:
    """A raise as the store sees it."""

    signal: Signal
    rule_version: int
    title: str
    severity: Severity
    now: datetime


class AlarmStore(Protocol):
    def raise_alarm(self, r: Raise) -> AlarmRow | None:
        """Open the fingerprint's alarm, or count a repeat on the open one; None when this
        trigger was already counted."""
        ...

    def clear_alarm(
        self, alarm_id: int, *, at: datetime, calm_since: datetime, values: Mapping[str, Any]
    ) -> AlarmRow | None:
        """Clear it unless it is already cleared or was seen again after `calm_since`."""
        ...

    def set_flapping(self, alarm_id: int, flapping: bool) -> AlarmRow | None: ...

    def find_open(self, fingerprint: str) -> AlarmRow | None: ...

    def open_alarms(self) -> list[AlarmRow]: ...


class CollectingSink:
    """Keeps every change: replay's report, and tests' assertions."""

    def __init__(self) -> None:
        self.changes: list[AlarmChange] = []

    def emit(self, change: AlarmChange) -> None:
        self.changes.append(change)


@dataclass(slots=True)
class MemoryAlarmStore:
    """The store's semantics without a database: replay, benchmarks and unit tests."""

    rows: dict[int, AlarmRow] = field(default_factory=dict)
    _open: dict[str, int] = field(default_factory=dict)
    _triggers: set[tuple[str, str]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def raise_alarm(self, r: Raise) -> AlarmRow | None:
        s = r.signal
        with self._lock:
            if (s.fingerprint, s.trigger) in self._triggers:
                return None
            self._triggers.add((s.fingerprint, s.trigger))
            current = self._open.get(s.fingerprint)
            if current is None:
                return self._insert(r)
            row = self.rows[current]
            severity = r.severity if r.severity.rank > row.severity.rank else row.severity
            row = replace(
                row,
                count=row.count + 1,
                first_seen=min(row.first_seen, s.at),
                last_seen=max(row.last_seen, s.at),
                values=dict(s.values),
                severity=severity,
                rule_version=r.rule_version,
                created=False,
            )
            self.rows[row.id] = row
            return row

    def _insert(self, r: Raise) -> AlarmRow:
        s = r.signal
        row = AlarmRow(
            len(self.rows) + 1,
            s.fingerprint,
            s.rule_id,
            r.rule_version,
            r.title,
            r.severity,
            s.subject,
            1,
            s.at,
            s.at,
            dict(s.values),
            created=True,
        )
        self.rows[row.id] = row
        self._open[s.fingerprint] = row.id
        return row

    def clear_alarm(
        self, alarm_id: int, *, at: datetime, calm_since: datetime, values: Mapping[str, Any]
    ) -> AlarmRow | None:
        with self._lock:
            row = self.rows.get(alarm_id)
            if row is None or row.cleared_at is not None or row.last_seen > calm_since:
                return None
            row = replace(row, cleared_at=at, created=False)
            self.rows[alarm_id] = row
            del self._open[row.fingerprint]
            return row

    def set_flapping(self, alarm_id: int, flapping: bool) -> AlarmRow | None:
        with self._lock:
            row = self.rows.get(alarm_id)
            if row is None or row.cleared_at is not None:
                return None
            row = self.rows[alarm_id] = replace(row, flapping=flapping, created=False)
            return row

    def find_open(self, fingerprint: str) -> AlarmRow | None:
        with self._lock:
            current = self._open.get(fingerprint)
            return None if current is None else self.rows[current]

    def open_alarms(self) -> list[AlarmRow]:
        with self._lock:
            return [self.rows[i] for i in self._open.values()]
