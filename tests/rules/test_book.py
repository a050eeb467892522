"""The alarm lifecycle: hysteresis, minimum hold, flap suppression, store outages."""

from __future__ import annotations

from typing import Any

from rules import (
    AlarmBook,
    AlarmRow,
    AlarmStoreError,
    ChangeKind,
    MemoryAlarmStore,
    Raise,
    RuleSet,
    parse_rules,
)
from tests.rules.harness import Harness


def _rules(**clear: Any) -> RuleSet:
    rule = {
        "id": "hot",
        "version": 1,
        "kind": "threshold",
        "title": "Hot gate",
        "severity": "minor",
        "source": "test",
        "scope": {"kinds": ["gate"]},
        "metric": "temperature_c",
        "above": 100,
        "hysteresis": 10,
        "clear": clear,
    }
    return parse_rules({"format": "dayuan.rules/1", "version": "t", "rules": [rule]})


def test_flapping_value_makes_one_alarm_that_clears_only_after_quiet() -> None:
    """above 100, clear at 90 after 5 min calm; 3 re-raises in 30 min = flapping:

    t(min)  0    1   2    3   4    5   6    7   8 ....... 13 ........ 38
    temp    110  85  110  85  110  85  110  85  (calm)    still open  cleared
                     r1       r2       r3 -> flapping
    """
    h = Harness.of(rules=_rules(after="5m", flap={"count": 3, "window": "30m", "quiet": "30m"}))
    for i in range(8):
        h.telemetry("gate-1", temperature_c=110 if i % 2 == 0 else 85)
        h.tick(minutes=1)
    assert len(h.opened("hot")) == 1
    flags = [c.flapping for c in h.changes("hot", ChangeKind.UPDATED)]
    assert True in flags
    assert flags[flags.index(True) :] == [True] * flags.count(True)  # flapping until cleared
    h.tick(minutes=5)
    assert h.cleared("hot") == []
    h.tick(minutes=25)
    assert len(h.cleared("hot")) == 1
    assert h.open_alarms("hot") == []


def test_hysteresis_band_holds_the_alarm() -> None:
    h = Harness.of(rules=_rules())
    h.telemetry("gate-1", temperature_c=101)
    for value in (99, 95, 91, 100):
        h.tick(minutes=1)
        h.telemetry("gate-1", temperature_c=value)
    assert h.cleared("hot") == []
    h.telemetry("gate-1", temperature_c=90)
    assert len(h.cleared("hot")) == 1
    assert len(h.opened("hot")) == 1


def test_minimum_hold_keeps_a_short_alarm_open() -> None:
    h = Harness.of(rules=_rules(min_hold="10m"))
    h.telemetry("gate-1", temperature_c=120)
    h.tick(minutes=1)
    h.telemetry("gate-1", temperature_c=20)
    h.tick(minutes=8)
    assert h.cleared("hot") == []
    h.tick(minutes=1)
    assert len(h.cleared("hot")) == 1
    assert h.cleared("hot")[0].values == {"temperature_c": 20.0, "value": 20.0}


class FlakyStore(MemoryAlarmStore):
    down = False

    def raise_alarm(self, r: Raise) -> AlarmRow | None:
        if self.down:
            raise AlarmStoreError("database down")
        return super().raise_alarm(r)


def test_a_raise_survives_a_store_outage() -> None:
    h = Harness.of("sos")
    store = FlakyStore()
    h.store = store
    h.evaluator.book = AlarmBook(store, h.sink, {r.id: r for r in h.rules.rules})
    store.down = True
    h.event("sos-1", "sos")
    assert h.opened("sos") == []
    store.down = False
    h.tick(seconds=1)
    assert len(h.opened("sos")) == 1


def test_a_calm_that_comes_while_its_raise_waits_for_the_store_still_clears_it() -> None:
    """The door is held open while the database is down (the raise waits), and closes
    before it is back: once the store takes the raise, the close clears the alarm
    instead of being dropped (the alarm stayed open for good)."""
    h = Harness.of("door_held_open")
    store = FlakyStore()
    h.store = store
    h.evaluator.book = AlarmBook(store, h.sink, {r.id: r for r in h.rules.rules})
    h.event("gate-1", "door", state="open")
    store.down = True
    h.tick(seconds=31)
    h.event("gate-1", "door", state="closed")
    assert h.opened("door_held_open") == []
    store.down = False
    h.tick(seconds=1)
    h.tick(minutes=5)
    assert len(h.opened("door_held_open")) == 1
    assert len(h.cleared("door_held_open")) == 1
    assert h.open_alarms("door_held_open") == []
