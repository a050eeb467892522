"""The evaluation core, without threads or I/O of its own: messages and ticks in,
signals to the alarm book out. The engine runs it on its thread; replay runs it over
stored history with a clock that follows the data; tests drive it directly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from domain import Kind, Message, Severity
from rules._book import AlarmBook
from rules._definitions import Rule, RuleSet
from rules._errors import AlarmStoreError
from rules._events import CompareLogic, CountLogic, EventLogic, StuckLogic
from rules._logic import Item, Logic, make_item
from rules._store import StateRow, StateStore
from rules._timers import AbsenceLogic, HeartbeatLogic
from rules._values import FleetLogic, ThresholdLogic
from rules._world import World

log = logging.getLogger(__name__)

LOGIC_OF_KIND: dict[str, type[Logic[Any, Any]]] = {
    "event": EventLogic,
    "count": CountLogic,
    "compare": CompareLogic,
    "stuck": StuckLogic,
    "absence": AbsenceLogic,
    "heartbeat": HeartbeatLogic,
    "threshold": ThresholdLogic,
    "fleet": FleetLogic,
}


class Evaluator:
    def __init__(
        self,
        ruleset: RuleSet,
        world: World,
        book: AlarmBook,
        *,
        states: StateStore | None = None,
    ) -> None:
        self.world = world
        self.book = book
        self._states = states
        self.logics: dict[str, Logic[Any, Any]] = {}
        self._routes: dict[tuple[Kind, str], list[Logic[Any, Any]]] = {}
        self.set_rules(ruleset)

    # --- rules and registry -------------------------------------------------------------

    def set_rules(self, ruleset: RuleSet) -> None:
        """Swap in a rule set, carrying each rule's state over when its kind is unchanged."""
        old, self.ruleset = self.logics, ruleset
        self.logics = {r.id: self._logic(r, old.get(r.id)) for r in ruleset.enabled()}
        self.book.set_rules({r.id: r for r in ruleset.rules})
        self._route()

    def _logic(self, rule: Rule, previous: Logic[Any, Any] | None) -> Logic[Any, Any]:
        logic = LOGIC_OF_KIND[rule.kind](rule, self.world)
        if previous is not None and previous.rule.kind == rule.kind:
            for key in previous.states:
                logic.restore(key, previous.snapshot(key)[0])
            logic.dirty = set(previous.states)
        return logic

    def set_world(self, world: World) -> None:
        self.world = world
        for logic in self.logics.values():
            logic.rebind(world)
        self._route()

    def _route(self) -> None:
        routes: dict[tuple[Kind, str], list[Logic[Any, Any]]] = {}
        for logic in self.logics.values():
            for kind in logic.rule.scope.kinds or list(Kind):
                for channel in logic.channels():
                    routes.setdefault((kind, channel.value), []).append(logic)
        self._routes = routes

    def urgent_types(self) -> frozenset[tuple[Kind, str]]:
        """(kind, event type) pairs that raise critical alarms: evaluated before the rest."""
        return frozenset(
            (kind, event_type)
            for logic in self.logics.values()
            if logic.rule.kind == "event" and logic.rule.severity is Severity.CRITICAL
            for kind in logic.rule.scope.kinds or list(Kind)
            for event_type in logic.rule.match.type
        )

    # --- evaluation ---------------------------------------------------------------------

    def process(self, messages: Iterable[Message], now: datetime) -> int:
        count = 0
        for message in messages:
            item = make_item(message, self.world)
            for logic in self._routes.get((item.device.kind, item.channel.value), ()):
                if logic.admits(item.device):
                    self._apply(logic, item, now)
            count += 1
        return count

    def _apply(self, logic: Logic[Any, Any], item: Item, now: datetime) -> None:
        try:
            signals = logic.on_item(item)
        except Exception:  # one rule's bug must not blind the others
            log.exception("rule %s failed on a message of %s", logic.rule.id, item.device.id)
            return
        for signal in signals:
            self.book.handle(signal, now)

    def tick(self, now: datetime, *, judged: datetime | None = None) -> None:
        """Fire timers due at `judged` (the stream's time; `now` when not given), then let
        the alarm book, on the clock's `now`, clear what has calmed."""
        at = now if judged is None else judged
        for logic in self.logics.values():
            due = logic.due(at)
            if due and self._states is not None:
                self._merge(logic, due)
            for signal in logic.on_tick(at):
                self.book.handle(signal, now)
        self.book.poll(now)

    def _merge(self, logic: Logic[Any, Any], keys: list[str]) -> None:
        assert self._states is not None
        try:
            stored = self._states.fetch(logic.rule.id, keys)
        except AlarmStoreError as exc:
            log.warning("cannot merge stored state of %s: %s", logic.rule.id, exc)
            return
        for key, data in stored.items():
            try:
                logic.merge(key, data)
            except ValidationError:
                log.warning("stored state of %s/%s is unreadable: ignored", logic.rule.id, key)

    # --- persistence --------------------------------------------------------------------

    def take_dirty(self) -> list[StateRow]:
        """Snapshots of every state changed since the last call."""
        rows = []
        for logic in self.logics.values():
            rule = logic.rule
            for key in logic.dirty:
                if key in logic.states:
                    data, mark = logic.snapshot(key)
                    rows.append(StateRow(rule.id, key, rule.kind, rule.version, data, mark))
            logic.dirty = set()
        return rows

    def restore(self, rows: Iterable[StateRow]) -> int:
        restored = 0
        for row in rows:
            logic = self.logics.get(row.rule_id)
            if logic is None or logic.rule.kind != row.kind:
                continue  # the rule is gone or changed kind: its old state means nothing
            try:
                logic.restore(row.key, row.state)
            except ValidationError:
                log.warning("stored state of %s/%s is unreadable: ignored", row.rule_id, row.key)
                continue
            restored += 1
        return restored
