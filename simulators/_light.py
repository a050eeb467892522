"""Street lights on an astronomical clock at the compound's coordinates.

A light switches on at sunset and off at sunrise (NOAA's times for the compound's
latitude and longitude, plus a few seconds of relay delay), dims to half after
midnight and comes back to full at 05:00 if it is still dark for the early
commute. Its telemetry follows that state: power and current track the dim level,
voltage rises a little at night when the grid is lightly loaded, the ambient-light
sensor reads the sky (from the sun's elevation and the day's cloud), burning hours
accumulate while lit. Faults: a lamp that fails (lit by command, no light, no
power), a light burning in daylight, a power anomaly; dropping off the network is a
transport fault (see the scenario's `disconnect`/`silent`).

Commands override the calendar: `on`, `off` and `dim` hold until its next switch
point (a dim level of 0 is off, any other level lights the lamp at that level, as a
DALI arc-power command does); `schedule` replaces the astronomical calendar with a
fixed daily timetable at one level, until the next `schedule`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

import domain
from domain import solar_elevation, sun_times
from simulators._behaviour import (
    FAR_FUTURE,
    Action,
    Behaviour,
    LocalClock,
    Reading,
    event,
    telemetry,
)
from simulators._errors import CommandFailed

NOMINAL_W = 60.0  # a residential LED lantern on a 6 m pole
STANDBY_W = 0.8  # the controller and its radio, lamp off
FAILED_W = 1.5  # a driver with a dead LED board still draws a little
POWER_FACTOR = 0.95  # an LED driver with power-factor correction
MAINS_V = 220.0
NIGHT_V_RISE = 6.0  # the grid sags less at night
DIM_LEVEL = 50.0  # after midnight: half light on lanes nobody walks
DIM_AT_H = 0.0
UNDIM_AT_H = 5.0  # full light again for the early commute, if still dark
RELAY_DELAY_S = 45.0  # an astro switch acts within a minute of the computed time
BURNING_HOURS = (5_000.0, 30_000.0)  # lamps installed one to seven years ago
FAULTS_PER_DAY = {"light_failure": 1 / 2000, "day_burning": 1 / 5000}  # LED MTBF ~50,000 h


@dataclass(frozen=True)
class LightModel:
    """The definition: a light on a pole at the compound's coordinates."""

    device: domain.Device
    lat: float
    lon: float
    clock: LocalClock

    def start(self, rng: random.Random, now: datetime, *, spontaneous: bool) -> LightState:
        return LightState(self, rng, now, spontaneous=spontaneous)


@dataclass(frozen=True, slots=True)
class Timetable:
    """A commanded daily timetable, in local hours of the compound, at one dim level."""

    on_h: float
    off_h: float
    level: float

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> Timetable:
        """From a `schedule` command's fields (`on_at`/`off_at` "HH:MM", `level`)."""
        on_h, off_h = (_hours(str(params[k])) for k in ("on_at", "off_at"))
        if on_h == off_h:
            raise CommandFailed("on_at and off_at are the same time: no lit period")
        return cls(on_h, off_h, float(params["level"]))

    def lit(self, hour: float) -> bool:
        if self.on_h < self.off_h:
            return self.on_h <= hour < self.off_h
        return hour >= self.on_h or hour < self.off_h  # through midnight


def _hours(hh_mm: str) -> float:
    hours, minutes = hh_mm.split(":")
    return int(hours) + int(minutes) / 60


class LightState(Behaviour):
    OPS: ClassVar[frozenset[str]] = frozenset({"light_failure", "day_burning", "power_anomaly"})
    COMMANDS: ClassVar[frozenset[str]] = frozenset({"on", "off", "dim", "schedule"})

    def __init__(
        self, model: LightModel, rng: random.Random, now: datetime, *, spontaneous: bool
    ) -> None:
        super().__init__(rng)
        self.model = model
        self.delay = timedelta(seconds=rng.uniform(0, RELAY_DELAY_S))
        self.scheduled_on = self._is_night(now)  # what the astro clock wants
        self.on = self.scheduled_on  # what the lamp does
        hour = model.clock.hour(now)
        self.level = DIM_LEVEL if self.on and DIM_AT_H <= hour < UNDIM_AT_H else 100.0
        self.burning_hours = rng.uniform(*BURNING_HOURS)
        self.since = now
        self.broken_until: datetime | None = None
        self.forced_until = now
        self.anomaly = (1.0, now)
        self.cloud = self._draw_cloud()
        # 0 is the astronomical calendar; each `schedule` command starts the next one, and
        # the switch points of an older calendar then do nothing.
        self.calendar = 0
        self.timetable: Timetable | None = None
        period = timedelta(seconds=model.device.heartbeat())
        self.agenda.every(self.phase(now, period), period, self._telemetry)
        self._start_calendar(now)
        if spontaneous:
            self.agenda.push(self.exp_after(now, sum(FAULTS_PER_DAY.values())), self._mishap)

    # --- the astronomical calendar ------------------------------------------------------

    def _is_night(self, now: datetime) -> bool:
        times = sun_times(self.model.clock.date(now), self.model.lat, self.model.lon)
        if times.sunrise is None or times.sunset is None:
            return solar_elevation(now, self.model.lat, self.model.lon) < 0
        return now < times.sunrise or now >= times.sunset

    def _start_calendar(self, now: datetime) -> None:
        today = self.model.clock.date(now)
        self._schedule_night(today - timedelta(days=1), now)
        noon = self.model.clock.at(today, 12.0)
        if now < noon:
            self.agenda.push(noon, self._plan)
        else:
            self._schedule_night(today, now)
            self.agenda.push(self.model.clock.at(today + timedelta(days=1), 12.0), self._plan)

    def _plan(self, now: datetime) -> list[Reading]:
        """At local noon: lay out tonight, and come back tomorrow noon."""
        today = self.model.clock.date(now)
        if self.timetable is None:
            self._schedule_night(today, now)
        self.agenda.push(self.model.clock.at(today + timedelta(days=1), 12.0), self._plan)
        self.cloud = self._draw_cloud()
        return []

    def _schedule_night(self, evening: date, now: datetime) -> None:
        """Switch on at sunset of `evening`, dim, undim, switch off at the next sunrise."""
        morning = evening + timedelta(days=1)
        dusk = sun_times(evening, self.model.lat, self.model.lon).sunset
        dawn = sun_times(morning, self.model.lat, self.model.lon).sunrise
        plan = []
        if dusk is not None:
            plan.append((dusk + self.delay, self._switch_on))
        plan.append((self.model.clock.at(morning, DIM_AT_H), self._dim))
        undim = self.model.clock.at(morning, UNDIM_AT_H)
        if dawn is not None and dawn > undim + timedelta(minutes=15):
            plan.append((undim, self._undim))
        if dawn is not None:
            plan.append((dawn + self.delay, self._switch_off))
        for at, action in plan:
            if at > now:
                self._push_current(at, action)

    def _push_current(self, at: datetime, action: Action) -> None:
        """A switch point of the calendar in force now: a later calendar cancels it."""
        calendar = self.calendar

        def run(now: datetime) -> list[Reading]:
            return action(now) if self.calendar == calendar else []

        self.agenda.push(at, run)

    # --- switching ----------------------------------------------------------------------

    def _switch_on(self, now: datetime) -> list[Reading]:
        self.scheduled_on, self.level = True, 100.0
        return self._set(now, on=True)

    def _switch_off(self, now: datetime) -> list[Reading]:
        self.scheduled_on = False
        if now < self.forced_until:
            return []  # burning on into the day
        readings = self._set(now, on=False)
        self.level = 100.0  # the controller resets its dimming for the next night
        return readings

    def _dim(self, now: datetime) -> list[Reading]:
        return self._level(now, DIM_LEVEL) if self.scheduled_on else []

    def _undim(self, now: datetime) -> list[Reading]:
        return self._level(now, 100.0) if self.scheduled_on else []

    def _level(self, now: datetime, level: float) -> list[Reading]:
        self._accumulate(now)
        self.level = level
        return [event(now, {"type": "dim", "level": level})] if self.on else []

    def _set(self, now: datetime, *, on: bool) -> list[Reading]:
        if self.on == on:
            return []
        self._accumulate(now)
        self.on = on
        return [event(now, {"type": "switch", "state": "on" if on else "off"})]

    def _accumulate(self, now: datetime) -> None:
        if self.on and not self.broken(now):
            self.burning_hours += (now - self.since).total_seconds() / 3600
        self.since = now

    def broken(self, now: datetime) -> bool:
        return self.broken_until is not None and now < self.broken_until

    # --- commands -----------------------------------------------------------------------

    def _command(self, op: str, params: Mapping[str, Any], now: datetime) -> list[Reading]:
        if op == "on":
            return self._set(now, on=True)
        if op == "off":
            return self._set(now, on=False)
        if op == "dim":
            level = float(params["level"])
            if level == 0:
                return self._set(now, on=False)
            return self._set(now, on=True) + self._level(now, level)
        return self._adopt(Timetable.of(params), now)

    def _adopt(self, timetable: Timetable, now: datetime) -> list[Reading]:
        """Switch by `timetable` from now on, in place of the calendar so far."""
        self.timetable = timetable
        self.calendar += 1
        for hour, on in ((timetable.on_h, True), (timetable.off_h, False)):
            point = self._timetable_point(timetable, hour, on=on)
            self._push_current(self._next_local(now, hour), point)
        return self._timetabled(now, timetable, on=timetable.lit(self.model.clock.hour(now)))

    def _timetable_point(self, timetable: Timetable, hour: float, *, on: bool) -> Action:
        def run(now: datetime) -> list[Reading]:
            self._push_current(self._next_local(now, hour), run)  # the same time tomorrow
            return self._timetabled(now, timetable, on=on)

        return run

    def _next_local(self, now: datetime, hour: float) -> datetime:
        """The first `hour` o'clock (local) after `now`."""
        today = self.model.clock.date(now)
        at = self.model.clock.at(today, hour)
        return at if at > now else self.model.clock.at(today + timedelta(days=1), hour)

    def _timetabled(self, now: datetime, timetable: Timetable, *, on: bool) -> list[Reading]:
        self.scheduled_on, level = on, timetable.level
        if not on:
            return [] if now < self.forced_until else self._set(now, on=False)
        if self.on:
            return self._level(now, level) if self.level != level else []
        self.level = level
        return self._set(now, on=True)

    # --- telemetry ----------------------------------------------------------------------

    def _telemetry(self, now: datetime) -> list[Reading]:
        self._accumulate(now)
        night = self.scheduled_on
        voltage = MAINS_V + (NIGHT_V_RISE if night else 0.0) + self.rng.gauss(0, 1.5)
        power = self._power(now)
        values = {
            "on": self.on,
            "dim_level": self.level if self.on else 0.0,
            "power_w": round(power, 1),
            "voltage_v": round(voltage, 1),
            "current_a": round(power / (voltage * POWER_FACTOR), 3),
            "lux": round(self._ambient_lux(now), 1),
            "burning_hours": round(self.burning_hours, 2),
        }
        return [telemetry(now, values)]

    def _power(self, now: datetime) -> float:
        if not self.on:
            return STANDBY_W
        if self.broken(now):
            return FAILED_W
        factor = self.anomaly[0] if now < self.anomaly[1] else 1.0
        drawn = NOMINAL_W * self.level / 100 * factor * (1 + self.rng.gauss(0, 0.01))
        return STANDBY_W + max(0.0, drawn)

    def _ambient_lux(self, now: datetime) -> float:
        """The sky on the sensor: ~100 klx at a high sun, ~400 lx at sunset, ~3 lx at dusk."""
        elevation = solar_elevation(now, self.model.lat, self.model.lon)
        if elevation > 0:
            sky = 400 + 110_000 * math.sin(math.radians(elevation)) ** 1.15
        else:
            sky = 400 * 10 ** (0.35 * max(elevation, -12))
        return max(0.3, float(sky) * self.cloud)

    def _draw_cloud(self) -> float:
        return self.rng.uniform(0.25, 1.0)

    # --- faults -------------------------------------------------------------------------

    def _mishap(self, now: datetime) -> list[Reading]:
        self.agenda.push(self.exp_after(now, sum(FAULTS_PER_DAY.values())), self._mishap)
        op = self.rng.choices(list(FAULTS_PER_DAY), weights=list(FAULTS_PER_DAY.values()))[0]
        return self.mishap(op, {"duration": timedelta(hours=self.rng.uniform(2, 12))}, now)

    def apply(self, op: str, params: Mapping[str, Any], now: datetime) -> list[Reading]:
        if op in self.COMMANDS:
            return self._command(op, params, now)
        duration: timedelta | None = params.get("duration")
        if op == "light_failure":
            self._accumulate(now)
            self.broken_until = FAR_FUTURE if duration is None else now + duration
            fault = {"type": "fault", "code": "lamp_failure", "detail": "no light output"}
            return [event(now, fault)]
        if op == "day_burning":
            if not self.on:
                self.level = 100.0
            self.forced_until = max(self.forced_until, now + (duration or timedelta(hours=4)))
            self.agenda.push(self.forced_until, self._end_forced)
            return self._set(now, on=True)
        if op == "power_anomaly":
            factor = float(params.get("factor") or 1.8)
            self.anomaly = (factor, now + (duration or timedelta(hours=2)))
            return []
        return super().apply(op, params, now)

    def _end_forced(self, now: datetime) -> list[Reading]:
        if now < self.forced_until or self.scheduled_on:
            return []
        return self._set(now, on=False)
