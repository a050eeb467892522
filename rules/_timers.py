"""Timer rule kinds: inactivity in a flat and silence of a device.

Both watch subjects taken from the registry (not from traffic: a device that never
speaks is exactly the one to flag) and fire from `on_tick`. Their state is a
"last heard" time, merged by maximum with what another process stored before a timer
fires, so two gateways splitting one device's messages never see it as silent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain import Channel, Severity, Status
from rules._alarms import Signal, Subject
from rules._definitions import AbsenceRule, HeartbeatRule, TimeWindow
from rules._logic import Item, Logic, admits, compile_match, seconds, tags_admitted
from rules._world import DeviceInfo, Flat

# After a start, wait this long before calling anything silent: the broker redelivers
# what arrived while the process was down, and a restart must not page everybody
# (ThingsBoard's "notification storm on restart").
STARTUP_GRACE = timedelta(minutes=2)

# --- absence / inactivity ---------------------------------------------------------------


@dataclass(slots=True)
class AbsenceState:
    last_activity: datetime
    stage: int = 0  # 0 watching, 1 pre-warned, 2 alarmed


_PREWARNED, _ALARMED = 1, 2


def window_deadline(last: datetime, windows: list[TimeWindow], zone: ZoneInfo) -> datetime:
    """The end of the first daily window that starts after `last`.

    windows 07:00-10:00, last activity 21:00:
    21:00 .... 07:00 [window] 10:00  <- no activity inside: deadline 10:00
    """
    local = last.astimezone(zone)
    ends = []
    for offset in range(-1, 3):
        day = local.date() + timedelta(days=offset)
        for w in windows:
            start = datetime.combine(day, w.start, zone)
            end_day = day if w.end > w.start else day + timedelta(days=1)
            if start > last:
                ends.append(datetime.combine(end_day, w.end, zone))
    return min(ends).astimezone(UTC)


class AbsenceLogic(Logic[AbsenceRule, AbsenceState]):
    """No activity in a watched flat for `within` (or inside the daily windows).

    within 12 h, pre-warning 10 min:
    t(h)   0 (motion)        11:50           12:00
           |------ silent ---+ warning ------+ major ---- motion: calm
    """

    state_type = AbsenceState

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._activity = [compile_match(m) for m in self.rule.activity]
        self._watched = self._watch()

    def _watch(self) -> dict[str, Flat]:
        """Flats whose tags the scope admits and that have a sensor in scope."""
        with_sensor = {
            f"{d.compound}/{d.flat}"
            for d in self.world.devices.values()
            if d.flat is not None and admits(self.rule.scope, d)
        }
        return {
            k: f
            for k, f in self.world.flats.items()
            if k in with_sensor and tags_admitted(self.rule.scope, f.tags)
        }

    def rebind(self, world: Any) -> None:
        super().rebind(world)
        self._watched = self._watch()

    def channels(self) -> set[Channel]:
        return {Channel(m.channel) for m in self.rule.activity}

    def watermark(self, state: AbsenceState) -> datetime:
        return state.last_activity

    def on_item(self, item: Item) -> list[Signal]:
        device = item.device
        key = f"{device.compound}/{device.flat}"
        if key not in self._watched or not any(m(item) for m in self._activity):
            return []
        state = self.states.get(key)
        if state is None:
            self.touch(key, AbsenceState(item.at))
            return []
        if item.at <= state.last_activity:
            return []
        self.touch(key, state).last_activity = item.at
        if state.stage == 0:
            return []
        state.stage = 0
        values = {"activity": item.type, "device": device.id, "at": item.at.isoformat()}
        return [self.signal(self._subject(key), False, item.at, values, "")]

    def _deadline(self, key: str, state: AbsenceState) -> datetime:
        if self.rule.within is not None:
            return state.last_activity + self.rule.within
        zone = self.world.sites[self._watched[key].compound].zone
        return window_deadline(state.last_activity, self.rule.windows, zone)

    def _next_stage(self, key: str, state: AbsenceState, now: datetime) -> int:
        deadline = self._deadline(key, state)
        if now >= deadline:
            return _ALARMED
        warn = self.rule.prewarning
        return _PREWARNED if warn is not None and now >= deadline - warn else 0

    def due(self, now: datetime) -> list[str]:
        self._adopt_new(now)
        return [k for k, s in self.states.items() if self._next_stage(k, s, now) > s.stage]

    def merge(self, key: str, data: Mapping[str, Any]) -> None:
        stored: AbsenceState = self.load(data)
        state = self.states.get(key)
        if state is not None and stored.last_activity > state.last_activity:
            state.last_activity = stored.last_activity

    def _adopt_new(self, now: datetime) -> None:
        for key in self._watched.keys() - self.states.keys():
            self.touch(key, AbsenceState(now))  # first sight: the silence starts now

    def on_tick(self, now: datetime) -> list[Signal]:
        out = []
        for key, state in self.states.items():
            if key not in self._watched:
                continue
            stage = self._next_stage(key, state, now)
            if stage > state.stage:
                state.stage = stage
                self.dirty.add(key)
                out.append(self._raise(key, state, now, stage))
        return out

    def _raise(self, key: str, state: AbsenceState, now: datetime, stage: int) -> Signal:
        deadline = self._deadline(key, state)
        severity = Severity.WARNING if stage == _PREWARNED else None
        values = {
            "last_activity": state.last_activity.isoformat(),
            "silent_s": seconds(now - state.last_activity),
            "deadline": deadline.isoformat(),
            "stage": "prewarning" if stage == _PREWARNED else "alarm",
            "tags": sorted(self._watched[key].tags),
        }
        trigger = f"{stage}|{state.last_activity.isoformat()}"
        return self.signal(self._subject(key), True, now, values, trigger, severity=severity)

    def _subject(self, key: str) -> Subject:
        flat = self._watched.get(key)
        compound, _, address = key.partition("/")
        return Subject(key, compound, flat=flat.address if flat else address)


# --- heartbeat missing ----------------------------------------------------------------------


@dataclass(slots=True)
class HeartbeatState:
    last_heard: datetime  # receive time of the last message (any channel) but `online: false`
    offline_at: datetime | None = None  # receive time of an `online: false` status
    raised: bool = False


class HeartbeatLogic(Logic[HeartbeatRule, HeartbeatState]):
    """Silent for `factor` heartbeats (or `status_grace` after saying goodbye).

    heartbeat 60 s, factor 3:
    t(s)    0 (heard)          180
            |---- silent ------+ raise ---- any message: calm
    """

    state_type = HeartbeatState

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._started: datetime | None = None

    def channels(self) -> set[Channel]:
        return {Channel.TELEMETRY, Channel.EVENT, Channel.STATUS, Channel.ACK}

    def watermark(self, state: HeartbeatState) -> datetime:
        return state.last_heard

    def _watched(self) -> list[DeviceInfo]:
        return [d for d in self.world.devices.values() if self.admits(d)]

    def on_item(self, item: Item) -> list[Signal]:
        key, heard = item.device.id, item.received_at
        state = self.states.get(key)
        if state is None:
            state = self.touch(key, HeartbeatState(heard))
        body = item.message.body
        if isinstance(body, Status) and not body.online:
            if heard >= state.last_heard:
                self.touch(key, state).offline_at = heard
            return []
        if heard < state.last_heard:
            return []
        self.touch(key, state)
        state.last_heard, state.offline_at = heard, None
        if not state.raised:
            return []
        state.raised = False
        values = {"heard_at": heard.isoformat(), "channel": item.channel.value}
        return [self.signal(self._subject(item.device), False, item.at, values, "")]

    def _deadline(self, device: DeviceInfo, state: HeartbeatState) -> datetime:
        deadline = state.last_heard + timedelta(seconds=device.heartbeat_s * self.rule.factor)
        if state.offline_at is not None and self.rule.status_grace is not None:
            deadline = min(deadline, state.offline_at + self.rule.status_grace)
        started = self._started or state.last_heard
        return max(deadline, started + STARTUP_GRACE)

    def due(self, now: datetime) -> list[str]:
        if self._started is None:
            self._started = now
        for device in self._watched():
            if device.id not in self.states:
                self.touch(device.id, HeartbeatState(now))
        return [
            d.id
            for d in self._watched()
            if self.states[d.id].raised or now >= self._deadline(d, self.states[d.id])
        ]

    def merge(self, key: str, data: Mapping[str, Any]) -> None:
        stored: HeartbeatState = self.load(data)
        state = self.states.get(key)
        if state is not None and stored.last_heard > state.last_heard:
            state.last_heard, state.offline_at = stored.last_heard, stored.offline_at

    def on_tick(self, now: datetime) -> list[Signal]:
        out = []
        for device in self._watched():
            state = self.states.get(device.id)
            if state is None:
                continue
            overdue = now >= self._deadline(device, state)
            if overdue != state.raised:
                state.raised = overdue
                self.dirty.add(device.id)
                out.append(self._flip(device, state, now))
        return out

    def _flip(self, device: DeviceInfo, state: HeartbeatState, now: datetime) -> Signal:
        values = {
            "last_heard": state.last_heard.isoformat(),
            "silent_s": seconds(now - state.last_heard),
            "heartbeat_s": device.heartbeat_s,
            "factor": self.rule.factor,
            "said_offline": state.offline_at is not None,
        }
        trigger = f"silent|{state.last_heard.isoformat()}"
        return self.signal(self._subject(device), state.raised, now, values, trigger)

    def _subject(self, device: DeviceInfo) -> Subject:
        return Subject(device.id, device.compound, device=device.id, flat=device.flat)
