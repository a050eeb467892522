"""Elderly-care kits in the flats of elderly and empty-nest households.

A flat has one `FlatRhythm`, shared by its devices: each local day its resident
wakes (~06:10), makes breakfast, maybe goes to the market, lunches, naps, maybe
walks in the afternoon, cooks dinner, watches television and goes to bed (~21:30),
with a trip or two to the bathroom at night. The motion sensor reports motion by
room while the resident is up at home; the door sensor reports leaving and coming
back; a wearable reports heart rate and SpO2 that follow the activity, and charges
overnight; battery devices drain. Incidents: an SOS press, a fall (after which the
resident lies still), no activity for hours, vital signs out of range, a low
battery; a device going silent is a transport fault.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

import domain
from domain import Channel
from simulators._behaviour import (
    Behaviour,
    LocalClock,
    Noted,
    Reading,
    clip,
    event,
    telemetry,
)

# Motion events an hour by activity, for one resident (a PIR re-arms within minutes).
MOTION_PER_HOUR = {"kitchen": 14.0, "living": 6.0, "bathroom": 10.0, "bedroom": 4.0}
ROOMS = {
    "kitchen": "kitchen",
    "living": "living_room",
    "bathroom": "bathroom",
    "bedroom": "bedroom",
}
SECOND_RESIDENT_MOTION = 0.5  # a couple moves about half as much again as one person
# Heart rate (mean, sd) by activity; SpO2 is ~97% whatever one does.
HEART_RATE = {
    "asleep": (58, 4),
    "nap": (62, 4),
    "still": (70, 6),
    "living": (72, 5),
    "kitchen": (80, 6),
    "bathroom": (76, 5),
    "bedroom": (70, 5),
    "out": (95, 8),
}
# Battery drain in percent an hour: coin-cell sensors last a year, a wearable a day.
DRAIN_PER_HOUR = {
    "sos_pendant": 0.011,
    "door_sensor": 0.009,
    "motion_sensor": 0.014,
    "wearable": 1.6,
}
CHARGE_PER_HOUR = 25.0  # a wearable on its charger overnight
# A care device reports its battery low below this (SCAIP status 0016) and well again
# above the second: a crossing is an incident the simulator notes, as the catalogue's
# low_battery rule (15 %, clear at 25 %) is meant to catch it.
BATTERY_LOW, BATTERY_WELL = 15.0, 25.0
LOW_BATTERY_START = 0.03  # share of battery devices that start the run nearly flat
SOS_PER_DAY = 0.003  # mostly presses by mistake: ~1 a year per flat
FALLS_PER_DAY = 0.0008  # ~1 in 3 elders falls each year; a detector sees the hard ones
DOOR_CLOSE_S = 6.0


@dataclass(frozen=True, slots=True)
class DayPlan:
    """One local day of a resident: (local hour, activity) change points, and the outings."""

    points: tuple[tuple[float, str], ...]
    outings: tuple[tuple[float, float], ...]

    def activity(self, hour: float) -> str:
        current = self.points[0][1]
        for start, what in self.points:
            if start > hour:
                break
            current = what
        return current


@dataclass
class FlatRhythm:
    """The running daily life of one flat, shared by the flat's devices."""

    key: str
    residents: int
    clock: LocalClock
    seed: int
    still: list[tuple[datetime, datetime]] = field(default_factory=list)  # falls, inactivity
    _plans: dict[date, DayPlan] = field(default_factory=dict)

    def plan(self, day: date) -> DayPlan:
        if day not in self._plans:
            if len(self._plans) > 3:
                self._plans = {d: p for d, p in self._plans.items() if d >= day - timedelta(1)}
            self._plans[day] = _draw_day(random.Random(f"dayuan-flat:{self.seed}:{self.key}:{day}"))
        return self._plans[day]

    def activity(self, now: datetime) -> str:
        if self.is_still(now):
            return "still"
        local = self.clock.local(now)
        hour = local.hour + local.minute / 60 + local.second / 3600
        return self.plan(local.date()).activity(hour)

    def is_still(self, now: datetime) -> bool:
        return any(start <= now < end for start, end in self.still)

    def hold_still(self, start: datetime, end: datetime) -> None:
        self.still = [(s, e) for s, e in self.still if e > start]
        self.still.append((start, end))


def _draw_day(rng: random.Random) -> DayPlan:
    wake = clip(rng.gauss(6.2, 0.4), 4.5, 8.5)
    bed = clip(rng.gauss(21.5, 0.5), 20.0, 23.5)
    points: list[tuple[float, str]] = [(0.0, "asleep")]
    for _ in range(rng.choices((0, 1, 2), weights=(0.3, 0.5, 0.2))[0]):
        t = rng.uniform(1.0, wake - 0.5)
        points += [(t, "bathroom"), (t + rng.uniform(0.08, 0.2), "asleep")]
    points += [(wake, "bathroom"), (wake + 0.2, "kitchen"), (wake + 0.8, "living")]
    outings = []
    if rng.random() < 0.6:  # the morning market
        start = rng.uniform(max(wake + 1.0, 7.5), 9.5)
        outings.append((start, min(11.0, start + rng.uniform(0.75, 2.5))))
    lunch = rng.uniform(11.3, 11.7)
    points += [(lunch, "kitchen"), (lunch + 0.8, "living")]
    nap_end = lunch + 1.0
    if rng.random() < 0.6:
        nap_end = rng.uniform(13.8, 14.6)
        points += [(12.9, "nap"), (nap_end, "living")]
    if rng.random() < 0.35:  # a walk in the park
        start = rng.uniform(max(nap_end + 0.2, 14.7), 16.0)
        outings.append((start, min(17.0, start + rng.uniform(0.5, 2.0))))
    dinner = rng.uniform(17.2, 17.7)
    points += [
        (dinner, "kitchen"),
        (dinner + 0.8, "living"),
        (bed - 0.4, "bathroom"),
        (bed - 0.2, "bedroom"),
        (bed, "asleep"),
    ]
    for leave, back in outings:
        points += [(leave, "out"), (back, "living")]
    points.sort()
    return DayPlan(tuple(points), tuple(outings))


@dataclass(frozen=True)
class ElderModel:
    """The definition: one device of a flat's care kit (its model says which)."""

    device: domain.Device
    flat: str  # compound and address: the key of the shared rhythm
    residents: int
    clock: LocalClock

    def start(
        self, rng: random.Random, now: datetime, rhythm: FlatRhythm, *, spontaneous: bool
    ) -> ElderState:
        state_class = _STATES.get(self.device.model, ElderState)
        return state_class(self, rng, now, rhythm, spontaneous=spontaneous)


class ElderState(Behaviour):
    """A care device: a heartbeat with its battery. Subclasses add what the device senses."""

    OPS: ClassVar[frozenset[str]] = frozenset({"low_battery"})
    has_battery: ClassVar[bool] = True

    def __init__(
        self,
        model: ElderModel,
        rng: random.Random,
        now: datetime,
        rhythm: FlatRhythm,
        *,
        spontaneous: bool,
    ) -> None:
        super().__init__(rng)
        self.model = model
        self.rhythm = rhythm
        self.spontaneous = spontaneous
        low = rng.random() < LOW_BATTERY_START
        self.battery = rng.uniform(8, 18) if low else rng.uniform(35, 100)
        self.battery_low = False  # its low battery is noted (or a scenario set it)
        self.since = now
        period = timedelta(seconds=model.device.heartbeat())
        self.agenda.every(self.phase(now, period), period, self._heartbeat)
        self.begin(now)

    def begin(self, now: datetime) -> None:
        """What a kind of care device starts doing at `now`, beyond its heartbeat."""

    def _drain(self, now: datetime) -> None:
        hours = (now - self.since).total_seconds() / 3600
        self.since = now
        rate = DRAIN_PER_HOUR.get(self.model.device.model, 0.01)
        self.battery = clip(self.battery - rate * hours, 0.0, 100.0)

    def values(self, now: datetime) -> dict[str, Any]:
        self._drain(now)
        if self.battery < BATTERY_LOW and not self.battery_low:
            self.battery_low = True
            self.noted.append(Noted(now, "low_battery", {"level": round(self.battery, 1)}))
        elif self.battery > BATTERY_WELL:
            self.battery_low = False
        return {"battery": round(self.battery, 1)}

    def _heartbeat(self, now: datetime) -> list[Reading]:
        return [telemetry(now, self.values(now))]

    def apply(self, op: str, params: Mapping[str, Any], now: datetime) -> list[Reading]:
        if op == "low_battery" and self.has_battery:
            self._drain(now)
            self.battery = float(params.get("level") or 8.0)
            self.battery_low = True  # the scenario's incident, not a spontaneous one
            return [telemetry(now, self.values(now))]
        return super().apply(op, params, now)


class PendantState(ElderState):
    OPS: ClassVar[frozenset[str]] = ElderState.OPS | {"sos"}

    def begin(self, now: datetime) -> None:
        if self.spontaneous:
            self.agenda.push(self.exp_after(now, SOS_PER_DAY), self._press)

    def _press(self, now: datetime) -> list[Reading]:
        self.agenda.push(self.exp_after(now, SOS_PER_DAY), self._press)
        return self.mishap("sos", {}, now)

    def apply(self, op: str, params: Mapping[str, Any], now: datetime) -> list[Reading]:
        if op == "sos":
            return [event(now, {"type": "sos"})]
        return super().apply(op, params, now)


class FallDetectorState(ElderState):
    """A mains-powered radar on the ceiling: reports room temperature, not a battery."""

    OPS: ClassVar[frozenset[str]] = frozenset({"fall"})
    has_battery: ClassVar[bool] = False

    def begin(self, now: datetime) -> None:
        if self.spontaneous:
            self.agenda.push(self.exp_after(now, FALLS_PER_DAY), self._fall)

    def values(self, now: datetime) -> dict[str, Any]:
        hour = self.model.clock.hour(now)
        warm = 2.5 if 11 <= hour < 19 else 0.0
        return {"temperature_c": round(22.0 + warm + self.rng.gauss(0, 0.3), 1)}

    def _fall(self, now: datetime) -> list[Reading]:
        self.agenda.push(self.exp_after(now, FALLS_PER_DAY), self._fall)
        if self.rhythm.activity(now) in ("out", "asleep", "nap"):
            return []  # nobody on the floor of this flat right now
        lying = timedelta(minutes=self.rng.uniform(20, 60))
        return self.mishap("fall", {"lying": lying}, now)

    def apply(self, op: str, params: Mapping[str, Any], now: datetime) -> list[Reading]:
        if op == "fall":
            lying: timedelta = params.get("lying") or timedelta(minutes=45)
            self.rhythm.hold_still(now, now + lying)
            confidence = float(params.get("confidence") or self.rng.uniform(0.75, 0.98))
            return [event(now, {"type": "fall", "confidence": round(confidence, 3)})]
        return super().apply(op, params, now)


class DoorSensorState(ElderState):
    """The flat's front door: open and closed as the resident leaves and comes back."""

    def begin(self, now: datetime) -> None:
        self._schedule_day(now, self.model.clock.date(now))

    def _schedule_day(self, now: datetime, day: date) -> None:
        for leave, back in self.rhythm.plan(day).outings:
            for hour in (leave, back):
                at = self.model.clock.at(day, hour)
                if at >= now:
                    self.agenda.push(at, self._door)
        self.agenda.push(self.model.clock.at(day + timedelta(days=1), 0.0), self._next_day)

    def _next_day(self, now: datetime) -> list[Reading]:
        self._schedule_day(now, self.model.clock.date(now))
        return []

    def _door(self, now: datetime) -> list[Reading]:
        if self.rhythm.is_still(now):
            return []  # lying on the floor, or unwell: nobody goes out or comes in
        closed = {"type": "door", "state": "closed"}
        self.agenda.emit(now + timedelta(seconds=DOOR_CLOSE_S), Channel.EVENT, closed)
        return [event(now, {"type": "door", "state": "open"})]


class MotionSensorState(ElderState):
    """A multi-zone PIR: motion by room while someone is up and at home."""

    OPS: ClassVar[frozenset[str]] = ElderState.OPS | {"inactivity"}

    def begin(self, now: datetime) -> None:
        extra = SECOND_RESIDENT_MOTION * min(1, max(0, self.model.residents - 1))
        self.scale = 1.0 + extra
        self.peak = max(MOTION_PER_HOUR.values()) * self.scale * 24  # candidates a day
        self.agenda.push(self.exp_after(now, self.peak), self._candidate)

    def _candidate(self, now: datetime) -> list[Reading]:
        self.agenda.push(self.exp_after(now, self.peak), self._candidate)
        activity = self.rhythm.activity(now)
        room = ROOMS.get(activity)
        if room is None:
            return []  # asleep, out, or lying still
        rate = MOTION_PER_HOUR[activity] * self.scale * 24
        if self.rng.random() * self.peak > rate:
            return []
        return [event(now, {"type": "motion", "room": room})]

    def apply(self, op: str, params: Mapping[str, Any], now: datetime) -> list[Reading]:
        if op == "inactivity":
            self.rhythm.hold_still(now, now + (params.get("duration") or timedelta(hours=6)))
            return []
        return super().apply(op, params, now)


class WearableState(ElderState):
    """A watch: heart rate and SpO2 while worn, charging (and silent on vitals) at night."""

    OPS: ClassVar[frozenset[str]] = ElderState.OPS | {"vitals"}

    def begin(self, now: datetime) -> None:
        self.override: tuple[float | None, float | None, datetime] = (None, None, now)

    def _drain(self, now: datetime) -> None:
        if self.rhythm.activity(now) != "asleep":
            super()._drain(now)
            return
        hours = (now - self.since).total_seconds() / 3600
        self.since = now
        self.battery = clip(self.battery + CHARGE_PER_HOUR * hours, 0.0, 100.0)

    def values(self, now: datetime) -> dict[str, Any]:
        values = super().values(now)
        activity = self.rhythm.activity(now)
        heart_rate, spo2, until = self.override
        if activity == "asleep" and now >= until:
            return values  # on the charger, not on the wrist
        mean, sd = HEART_RATE[activity]
        values["heart_rate"] = round(self.rng.gauss(mean, sd))
        values["spo2"] = round(clip(self.rng.gauss(97.0, 1.0), 90.0, 100.0))
        if now < until:
            if heart_rate is not None:
                values["heart_rate"] = round(heart_rate + self.rng.gauss(0, 2))
            if spo2 is not None:
                values["spo2"] = round(clip(spo2 + self.rng.gauss(0, 1), 0.0, 100.0))
        return values

    def apply(self, op: str, params: Mapping[str, Any], now: datetime) -> list[Reading]:
        if op == "vitals":
            until = now + (params.get("duration") or timedelta(minutes=30))
            self.override = (params.get("heart_rate"), params.get("spo2"), until)
            return [telemetry(now, self.values(now))]
        return super().apply(op, params, now)


_STATES: dict[str, type[ElderState]] = {
    "sos_pendant": PendantState,
    "fall_detector": FallDetectorState,
    "door_sensor": DoorSensorState,
    "motion_sensor": MotionSensorState,
    "wearable": WearableState,
}
# The care-kit device each flat incident needs.
FLAT_DEVICE_FOR = {
    "sos": "sos_pendant",
    "fall": "fall_detector",
    "inactivity": "motion_sensor",
    "vitals": "wearable",
}
