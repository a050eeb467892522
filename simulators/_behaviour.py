"""What every device model is made of: readings, an agenda, local time, daily profiles.

A device model comes in two halves, as a bytewax window does: a frozen *definition*
(`GateModel`, `LightModel`, ...: what the device is, built once from the compound
file) and a *running state* (a `Behaviour`: what it is doing now, advanced by the
simulated clock). A behaviour keeps its own small `Agenda` of what is due next; the
engine asks it `next_at()` and calls `step(now)` exactly then. Nothing here reads a
clock: `now` is always passed in, an aware UTC datetime.

A `Reading` is what a device says before it is put on the wire: the channel and the
body without `ts` and `seq` (the transport half of a device adds those).
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import cached_property
from typing import Any, ClassVar, NamedTuple
from zoneinfo import ZoneInfo

from domain import Channel

FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
SECONDS_PER_DAY = 86_400.0


class Reading(NamedTuple):
    at: datetime
    channel: Channel
    body: dict[str, Any]


def event(at: datetime, body: dict[str, Any]) -> Reading:
    return Reading(at, Channel.EVENT, body)


def telemetry(at: datetime, values: dict[str, Any]) -> Reading:
    return Reading(at, Channel.TELEMETRY, {"values": values})


Action = Callable[[datetime], list[Reading]]


class Agenda:
    """A device's own timetable: readings and actions in time order (ties in push order)."""

    __slots__ = ("_counter", "_heap")

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, Reading | Action]] = []
        self._counter = 0

    def push(self, at: datetime, item: Reading | Action) -> None:
        self._counter += 1
        heapq.heappush(self._heap, (at, self._counter, item))

    def emit(self, at: datetime, channel: Channel, body: dict[str, Any]) -> None:
        self.push(at, Reading(at, channel, body))

    def every(self, first: datetime, period: timedelta, action: Action) -> None:
        """Run `action` at `first` and every `period` after it."""

        def repeat(now: datetime) -> list[Reading]:
            self.push(now + period, repeat)
            return action(now)

        self.push(first, repeat)

    def next_at(self) -> datetime:
        return self._heap[0][0] if self._heap else FAR_FUTURE

    def run_due(self, now: datetime) -> list[Reading]:
        """Everything due at or before `now`, including what due actions schedule for `now`."""
        out: list[Reading] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            at, _, item = heapq.heappop(heap)
            if isinstance(item, Reading):
                out.append(item)
            else:
                out.extend(item(at))
        return out


class Noted(NamedTuple):
    """An incident a behaviour brought about on its own (not from a scenario): when, the
    operation (a scenario op's name: `tailgating`, `light_failure`, ...) and its params."""

    at: datetime
    op: str
    params: Mapping[str, Any]


class Behaviour:
    """The running state of one device model. Subclasses fill the agenda and handle `apply`."""

    OPS: ClassVar[frozenset[str]] = frozenset()  # the scenario operations this model understands
    COMMANDS: ClassVar[frozenset[str]] = frozenset()  # the `cmd` actions it carries out

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.agenda = Agenda()
        self.noted: list[Noted] = []  # spontaneous incidents, for whoever scores the alarms

    def mishap(self, op: str, params: Mapping[str, Any], now: datetime) -> list[Reading]:
        """A spontaneous incident: noted (the simulator knows what it injects), then applied
        as a scenario's would be."""
        self.noted.append(Noted(now, op, dict(params)))
        return self.apply(op, params, now)

    def next_at(self) -> datetime:
        return self.agenda.next_at()

    def step(self, now: datetime) -> list[Reading]:
        return self.agenda.run_due(now)

    def apply(self, op: str, params: Mapping[str, Any], now: datetime) -> list[Reading]:
        """Make a scenario incident happen at `now`, or carry out a command (`op` one of
        `COMMANDS`, `params` its fields); returns what the device says at once. A command
        that cannot be carried out now raises `CommandFailed`."""
        raise ValueError(f"{type(self).__name__} does not understand {op!r}")

    def exp_after(self, now: datetime, per_day: float) -> datetime:
        """The next arrival of a Poisson process of `per_day` events a day."""
        if per_day <= 0:
            return FAR_FUTURE
        return now + timedelta(seconds=self.rng.expovariate(per_day / SECONDS_PER_DAY))

    def phase(self, now: datetime, period: timedelta) -> datetime:
        """A random first tick within one period, so devices do not beat in step."""
        return now + period * self.rng.random()


@dataclass(frozen=True, slots=True)
class LocalClock:
    """Local civil time of a compound, for rhythms that follow the clock on the wall."""

    zone: ZoneInfo

    @classmethod
    def of(cls, name: str) -> LocalClock:
        return cls(ZoneInfo(name))

    def local(self, now: datetime) -> datetime:
        return now.astimezone(self.zone)

    def hour(self, now: datetime) -> float:
        local = now.astimezone(self.zone)
        return local.hour + local.minute / 60 + local.second / 3600

    def date(self, now: datetime) -> dt.date:
        return now.astimezone(self.zone).date()

    def at(self, day: dt.date, hours: float) -> datetime:
        """`hours` after local midnight of `day` (may exceed 24), in aware UTC."""
        midnight = datetime.combine(day, time(0), tzinfo=self.zone)
        return (midnight + timedelta(hours=hours)).astimezone(UTC)

    def is_weekend(self, day: dt.date) -> bool:
        return day.weekday() >= 5


@dataclass(frozen=True)
class DailyProfile:
    """How busy a place is over a day: Gaussian peaks (hour, width, weight) on a floor.

    `density(hour)` averages 1.0 over the day, so `daily_count * density / 24` is the
    hourly rate; `peak` is its maximum, for thinning a Poisson process.
    """

    peaks: tuple[tuple[float, float, float], ...]
    floor: float

    def _raw(self, hour: float) -> float:
        total = self.floor
        for centre, width, weight in self.peaks:
            d = (hour - centre + 12) % 24 - 12  # wrap around midnight
            total += weight * math.exp(-0.5 * (d / width) ** 2)
        return total

    @cached_property
    def _norm(self) -> float:
        return sum(self._raw(h / 10) for h in range(240)) / 240

    def density(self, hour: float) -> float:
        return self._raw(hour) / self._norm

    @cached_property
    def peak(self) -> float:
        return max(self.density(h / 10) for h in range(240))


def clip(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value
