"""The alarm lifecycle: from a rule's signals to opened / updated / cleared changes.

Raising always goes to the store, whose single open alarm per fingerprint is the
de-duplication (database-side in production). Clearing is deliberate: a clear signal
starts a calm period; the alarm clears once the calm has lasted `clear.after` (or
`flap.quiet` while flapping) and the alarm has been open `clear.min_hold`. A raise
during the calm cancels it and counts towards flapping: `flap.count` such re-raises
within `flap.window` mark the alarm flapping (one update, not a stream of alarms).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rules._alarms import AlarmChange, AlarmRow, AlarmSink, AlarmStore, ChangeKind, Raise, Signal
from rules._definitions import Clear, Rule
from rules._errors import AlarmStoreError

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Tracked:
    row: AlarmRow
    calm_since: datetime | None = None
    calm_values: Mapping[str, Any] = field(default_factory=dict)
    reraises: list[datetime] = field(default_factory=list)


class AlarmBook:
    def __init__(self, store: AlarmStore, sink: AlarmSink, rules: Mapping[str, Rule]) -> None:
        self._store = store
        self._sink = sink
        self._rules = dict(rules)
        self._tracked: dict[str, _Tracked] = {}
        self._calming: set[str] = set()
        self._retry: list[Signal] = []  # raises the store could not take: never dropped

    def set_rules(self, rules: Mapping[str, Rule]) -> None:
        self._rules = dict(rules)

    def restore(self) -> int:
        """Adopt the open alarms of the store (after a restart)."""
        for row in self._store.open_alarms():
            self._tracked[row.fingerprint] = _Tracked(row)
        return len(self._tracked)

    def is_open(self, fingerprint: str) -> bool:
        return fingerprint in self._tracked

    def handle(self, signal: Signal, now: datetime) -> None:
        rule = self._rules.get(signal.rule_id)
        if rule is None:
            return
        try:
            if signal.raised:
                self._raise(rule, signal, now)
            else:
                self._calm(rule, signal, now)
        except AlarmStoreError as exc:
            log.warning("alarm store unavailable, will retry %s: %s", signal.fingerprint, exc)
            self._retry.append(signal)  # a calm too: lost, its alarm would stay open for good

    @property
    def pending_retries(self) -> int:
        return len(self._retry)

    def poll(self, now: datetime) -> None:
        """Retry raises the store refused; clear the alarms calm for long enough."""
        retry, self._retry = self._retry, []
        for signal in retry:
            self.handle(signal, now)
        for fingerprint in list(self._calming):
            try:
                self._try_clear(fingerprint, now)
            except AlarmStoreError as exc:
                log.warning("alarm store unavailable, clear of %s postponed: %s", fingerprint, exc)
                return

    # --- raising ------------------------------------------------------------------------

    def _raise(self, rule: Rule, signal: Signal, now: datetime) -> None:
        tracked = self._tracked.get(signal.fingerprint)
        if tracked is not None and tracked.calm_since is not None:
            self._cancel_calm(rule, tracked, now)
        severity = signal.severity or rule.severity
        row = self._store.raise_alarm(Raise(signal, rule.version, rule.title, severity, now))
        if row is None:
            return  # this evidence was already counted (redelivery, or the other process)
        if tracked is None or tracked.row.id != row.id:
            tracked = self._tracked[row.fingerprint] = _Tracked(row)
        else:
            tracked.row = row
        change = ChangeKind.OPENED if row.created else ChangeKind.UPDATED
        self._emit(change, row, now, signal.received_at)

    def _cancel_calm(self, rule: Rule, tracked: _Tracked, now: datetime) -> None:
        tracked.calm_since = None
        self._calming.discard(tracked.row.fingerprint)
        flap = rule.clear.flap
        tracked.reraises = [t for t in tracked.reraises if now - t < flap.window] + [now]
        if len(tracked.reraises) >= flap.count and not tracked.row.flapping:
            row = self._store.set_flapping(tracked.row.id, True)
            if row is not None:
                tracked.row = row
                self._emit(ChangeKind.UPDATED, row, now, None)

    # --- clearing -----------------------------------------------------------------------

    def _calm(self, rule: Rule, signal: Signal, now: datetime) -> None:
        if any(r.raised and r.fingerprint == signal.fingerprint for r in self._retry):
            self._retry.append(signal)  # after its raise, which the store has not taken yet
            return
        tracked = self._tracked.get(signal.fingerprint) or self._adopt(signal.fingerprint)
        if tracked is None or tracked.calm_since is not None:
            return
        tracked.calm_since = signal.at
        tracked.calm_values = dict(signal.values)
        self._calming.add(signal.fingerprint)
        self._try_clear(signal.fingerprint, now)

    def _adopt(self, fingerprint: str) -> _Tracked | None:
        """An alarm opened elsewhere (another process) that this one now sees calm."""
        row = self._store.find_open(fingerprint)
        if row is None:
            return None
        tracked = self._tracked[fingerprint] = _Tracked(row)
        return tracked

    def _try_clear(self, fingerprint: str, now: datetime) -> None:
        tracked = self._tracked.get(fingerprint)
        rule = self._rules.get(fingerprint.split(":", 1)[0])
        if tracked is None or tracked.calm_since is None or rule is None:
            self._calming.discard(fingerprint)
            return
        if not _calm_enough(rule.clear, tracked, now):
            return
        row = self._store.clear_alarm(
            tracked.row.id, at=now, calm_since=tracked.calm_since, values=tracked.calm_values
        )
        self._calming.discard(fingerprint)
        del self._tracked[fingerprint]
        if row is None:
            self._adopt(fingerprint)  # seen again elsewhere, or cleared elsewhere: re-read
            return
        self._emit(ChangeKind.CLEARED, row, now, None, values=tracked.calm_values)

    def _emit(
        self,
        change: ChangeKind,
        row: AlarmRow,
        now: datetime,
        received_at: datetime | None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        event = AlarmChange.of(change, row, now=now, received_at=received_at, values=values)
        try:
            self._sink.emit(event)
        except Exception:  # a consumer's bug must not stop the rules
            log.exception("alarm sink failed on %s %s", change.value, row.fingerprint)


def _calm_enough(policy: Clear, tracked: _Tracked, now: datetime) -> bool:
    assert tracked.calm_since is not None
    needed = policy.flap.quiet if tracked.row.flapping else policy.after
    held: timedelta = now - tracked.row.first_seen
    return now - tracked.calm_since >= needed and held >= policy.min_hold
