"""Value rule kinds: a telemetry value beyond a limit for a while, and a device's value
far from the median of its peers (numpy). Both hold a breach for `for` before raising
and clear only once the value is back past a hysteresis band, so a value hovering at
the limit does not flap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from domain import Channel
from rules._alarms import Signal
from rules._definitions import FleetRule, ThresholdRule
from rules._logic import EPOCH, Item, Logic, device_subject, seconds


@dataclass(slots=True)
class HeldState:
    last_at: datetime = EPOCH  # event time of the newest sample applied
    since: datetime | None = None  # when the current breach began
    raised: bool = False
    per: float | None = None  # latest denominator (threshold `per`)
    value: float | None = None  # latest value judged
    peer: float | None = None  # latest peer key value (fleet)
    calmed_at: datetime | None = None  # when the last breach calmed


def step(
    state: HeldState, at: datetime, breach: bool, calm: bool, hold: timedelta, regrace: timedelta
) -> str | None:
    """Advance a held breach: 'raise', 'clear' or None.

        above 130, hysteresis 5, for 2 min:
        bpm     140  142  141 | 128 (band: keeps the alarm) | 120 -> clear
        t(min)  0    1    2 raise

    A breach within `regrace` (the rule's clear.after) of calming raises at once: the
    alarm is still open, calming, and this is a repeat of it, not a new breach to hold.
    """
    if breach:
        state.since = state.since or at
        recent = state.calmed_at is not None and at - state.calmed_at < regrace
        if not state.raised and (at - state.since >= hold or recent):
            state.raised, state.calmed_at = True, None
            return "raise"
        return None
    state.since = None
    if calm and state.raised:
        state.raised, state.calmed_at = False, at
        return "clear"
    return None


class ThresholdLogic(Logic[ThresholdRule, HeldState]):
    state_type = HeldState

    def channels(self) -> set[Channel]:
        return {Channel.TELEMETRY}

    def watermark(self, state: HeldState) -> datetime:
        return state.last_at

    def on_item(self, item: Item) -> list[Signal]:
        rule, key = self.rule, item.device.id
        metric = item.values.get(rule.metric)
        per = item.values.get(rule.per) if rule.per else None
        if metric is None and per is None:
            return []
        state = self.touch(key, self.states.get(key) or HeldState())
        if item.at < state.last_at:
            return []  # an older sample than one already judged
        state.last_at = item.at
        if per is not None:
            state.per = per
        if metric is None or (rule.per and not state.per):
            return []
        value = metric / state.per if rule.per and state.per else metric
        state.value = value
        scheduled = self.scheduled(item.device.compound, item.at)
        breach = scheduled and self._beyond(value)
        calm = not scheduled or self._back(value)
        return self._outcome(
            item, state, step(state, item.at, breach, calm, rule.hold, rule.clear.after)
        )

    def _beyond(self, v: float) -> bool:
        r = self.rule
        return (r.above is not None and v > r.above) or (r.below is not None and v < r.below)

    def _back(self, v: float) -> bool:
        r = self.rule
        high_ok = r.above is None or v <= r.above - r.hysteresis
        low_ok = r.below is None or v >= r.below + r.hysteresis
        return high_ok and low_ok

    def _outcome(self, item: Item, state: HeldState, what: str | None) -> list[Signal]:
        if what is None:
            return []
        values = {self.rule.metric: item.values[self.rule.metric], "value": state.value}
        if self.rule.per:
            values[self.rule.per] = state.per
        if state.since is not None:
            values["held_s"] = seconds(item.at - state.since)
        raised = what == "raise"
        trigger = f"breach|{(state.since or item.at).isoformat()}" if raised else ""
        subject = device_subject(item.device)
        return [
            self.signal(subject, raised, item.at, values, trigger, received_at=item.received_at)
        ]

    def on_tick(self, now: datetime) -> list[Signal]:
        """A breach held past `for` with no newer sample still raises."""
        out = []
        for key, state in self.states.items():
            if state.raised or state.since is None or now - state.since < self.rule.hold:
                continue
            device = self.world.devices.get(key)
            if device is None:
                continue
            state.raised = True
            self.dirty.add(key)
            values = {"value": state.value, "held_s": seconds(now - state.since)}
            trigger = f"breach|{state.since.isoformat()}"
            out.append(self.signal(device_subject(device), True, now, values, trigger))
        return out


Group = tuple[str, str, int]  # compound, model, bucket of the peer key
# Above this many lamps a group's median is reused for MEDIAN_REFRESH of event time:
# one lamp moves it by little, and recomputing it per sample costs ~50 us at 400 lamps.
SMALL_GROUP = 32
MEDIAN_REFRESH = timedelta(seconds=30)


class FleetLogic(Logic[FleetRule, HeldState]):
    """A device against the median of its peers at the same bucket (dim level).

    peers at dim 50 %: 40 41 39 40 42 W, median 40
    light-7 at dim 50 %: 12 W -> |12 - 40| / 40 = 0.7 > 0.4: breach
    """

    state_type = HeldState

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._groups: dict[Group, dict[str, tuple[float, datetime]]] = {}
        self._member: dict[str, Group] = {}
        self._medians: dict[Group, tuple[datetime, float, int]] = {}

    def channels(self) -> set[Channel]:
        return {Channel.TELEMETRY}

    def watermark(self, state: HeldState) -> datetime:
        return state.last_at

    def restore(self, key: str, data: Any) -> None:
        super().restore(key, data)
        device, state = self.world.devices.get(key), self.states[key]
        if device is not None and state.value is not None and state.peer is not None:
            self._place(device.id, device.compound, device.model, state)

    def _place(self, key: str, compound: str, model: str, state: HeldState) -> Group | None:
        old = self._member.pop(key, None)
        if old is not None:
            self._groups[old].pop(key, None)
        if state.value is None or state.peer is None:
            return None
        group = (compound, model, math.floor(state.peer / self.rule.bucket))
        self._groups.setdefault(group, {})[key] = (state.value, state.last_at)
        self._member[key] = group
        return group

    def on_item(self, item: Item) -> list[Signal]:
        rule, key = self.rule, item.device.id
        value, peer = item.values.get(rule.metric), item.values.get(rule.peer_key)
        if value is None and peer is None:
            return []
        state = self.touch(key, self.states.get(key) or HeldState())
        if item.at < state.last_at:
            return []
        state.last_at = item.at
        state.peer = peer if peer is not None else state.peer
        if value is None:
            self._place(key, item.device.compound, item.device.model, state)
            return []
        state.value = value
        group = self._place(key, item.device.compound, item.device.model, state)
        return self._judge(item, state, group) if group else []

    def _median(self, item: Item, group: Group) -> tuple[float, int] | None:
        """The peers' median, cached for large groups (it moves slowly there)."""
        members = self._groups[group]
        cached = self._medians.get(group)
        if len(members) > SMALL_GROUP and cached and item.at - cached[0] < MEDIAN_REFRESH:
            return cached[1], cached[2]
        horizon = item.at - self.rule.stale
        peers = [v for k, (v, t) in members.items() if k != item.device.id and t >= horizon]
        if len(peers) < self.rule.min_peers:
            return None
        median = float(np.median(np.asarray(peers)))
        self._medians[group] = (item.at, median, len(peers))
        return median, len(peers)

    def _judge(self, item: Item, state: HeldState, group: Group) -> list[Signal]:
        rule = self.rule
        found = self._median(item, group)
        if found is None:
            return []
        median, peers = found
        if median < rule.floor or state.value is None:
            return []
        deviation = abs(state.value - median) / median
        scheduled = self.scheduled(item.device.compound, item.at)
        breach = scheduled and deviation > rule.deviation
        calm = not scheduled or deviation <= rule.clear_deviation
        what = step(state, item.at, breach, calm, rule.hold, rule.clear.after)
        if what is None:
            return []
        values = {
            rule.metric: state.value,
            "median": median,
            "peers": peers,
            "deviation": round(deviation, 4),
            rule.peer_key: state.peer,
        }
        raised = what == "raise"
        trigger = f"breach|{(state.since or item.at).isoformat()}" if raised else ""
        return [
            self.signal(
                device_subject(item.device),
                raised,
                item.at,
                values,
                trigger,
                received_at=item.received_at,
            )
        ]
