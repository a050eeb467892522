"""Face access gates at the compound entrances and the stairwell doors.

People arrive as a Poisson process whose rate follows the commute (peaks ~07:45
and ~18:15 local time, a lunchtime bump, a quiet night). An arrival is an episode
of a few events seconds apart: the access check (face, card or QR, with the
resident's pseudonymous `person_ref` and a match score, never an image), the door
opening, the passage counted by the door's sensor, the door closing. Residents
are sometimes refused once and retry; visitors come with a QR pass; an unknown face
is denied and tries again; once in a while someone tailgates. Mishaps (a propped
door, a forced door, a tampered reader) are rare on their own and on demand from a
scenario. The `unlock` command is a remote grant from the monitoring room: the door
opens and swings shut as after any grant (nobody is counted through it).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

import domain
from domain import Channel
from simulators._behaviour import (
    Behaviour,
    DailyProfile,
    LocalClock,
    Noted,
    Reading,
    event,
    telemetry,
)

COMMUTE = DailyProfile(
    peaks=(
        (7.75, 0.7, 1.0),  # leaving for work and school
        (9.5, 1.2, 0.3),  # the retired go to the morning market
        (12.0, 1.2, 0.25),  # lunch, the midday shop
        (15.5, 1.8, 0.25),  # afternoon errands, school run
        (18.25, 0.9, 0.9),  # coming home
        (20.5, 1.0, 0.2),  # the evening walk
    ),
    floor=0.015,  # night-shift workers and deliveries
)
TRIPS_PER_RESIDENT = 2.4  # passes through a door per resident per day (out and back, plus)
ENTRANCE_FLOOR = 40.0  # a compound entrance sees couriers and visitors however few live there
DOOR_FLOOR = 4.0  # a stairwell door with nobody home still sees a neighbour or the cleaner
# Shares of arrivals; the rest are residents who pass at the first try.
SHARE_VISITOR = 0.07
SHARE_REMOTE = 0.02  # the monitoring room opens the door from afar
SHARE_STRANGER = 0.015  # an unknown face, denied, who tries again
SHARE_RETRY = 0.03  # a resident refused once (glasses, a mask) who passes on the second try
SHARE_TAILGATE = 0.01  # someone slips in behind a resident
METHODS = (("face", 0.82), ("card", 0.10), ("qr", 0.08))
DOOR_OPEN_S = 1.0  # from a grant to the lock releasing
PASSAGE_S = 3.0
DOOR_CLOSE_S = 8.0
FORCED_CLOSE_S = 20.0  # a forced door swings shut on its closer
MISHAPS_PER_DAY = {"door_held": 0.05, "forced_open": 0.004, "tamper": 0.001}
FULL_HEARTBEAT_EVERY = 10  # one heartbeat in ten adds temperature and the door's state


@dataclass(frozen=True)
class GateModel:
    """The definition: a gate, who lives behind it and how busy it is."""

    device: domain.Device
    entrance: bool  # a compound entrance (checks both ways) or a stairwell door (exit button)
    people: tuple[str, ...]  # pseudonymous refs of the residents who use it
    clock: LocalClock

    @property
    def daily_passages(self) -> float:
        floor = ENTRANCE_FLOOR if self.entrance else DOOR_FLOOR
        return max(floor, TRIPS_PER_RESIDENT * len(self.people))

    def start(self, rng: random.Random, now: datetime, *, spontaneous: bool) -> GateState:
        return GateState(self, rng, now, spontaneous=spontaneous)


class GateState(Behaviour):
    OPS: ClassVar[frozenset[str]] = frozenset(
        {"forced_open", "tamper", "door_held", "stranger", "tailgating"}
    )
    COMMANDS: ClassVar[frozenset[str]] = frozenset({"unlock"})

    def __init__(
        self, model: GateModel, rng: random.Random, now: datetime, *, spontaneous: bool
    ) -> None:
        super().__init__(rng)
        self.model = model
        self.started = now
        self.beats = 0
        self.door_open = False
        self.held_until = now
        self.close_at = now
        self._rate_peak = model.daily_passages * COMMUTE.peak
        period = timedelta(seconds=model.device.heartbeat())
        self.agenda.every(self.phase(now, period), period, self._heartbeat)
        self.agenda.push(self.exp_after(now, self._rate_peak), self._arrival)
        if spontaneous:
            self.agenda.push(self.exp_after(now, sum(MISHAPS_PER_DAY.values())), self._mishap)

    # --- processes ----------------------------------------------------------------------

    def _heartbeat(self, now: datetime) -> list[Reading]:
        """Uptime only, mostly. Never `{}`: storage keeps a row per value, and an empty
        heartbeat would leave no row to account for its seq."""
        self.beats += 1
        values: dict[str, Any] = {"uptime_s": round((now - self.started).total_seconds(), 1)}
        if self.beats % FULL_HEARTBEAT_EVERY == 0:
            hour = self.model.clock.hour(now)
            values["temperature_c"] = round(20 + 4 * math.sin((hour - 9) / 24 * math.tau), 1)
            values["door_open"] = self.door_open
        return [telemetry(now, values)]

    def _arrival(self, now: datetime) -> list[Reading]:
        """Thinning: candidates at the peak rate, kept in proportion to the hour's rate."""
        self.agenda.push(self.exp_after(now, self._rate_peak), self._arrival)
        if self.rng.random() * COMMUTE.peak > COMMUTE.density(self.model.clock.hour(now)):
            return []
        return self._episode(now)

    def _mishap(self, now: datetime) -> list[Reading]:
        self.agenda.push(self.exp_after(now, sum(MISHAPS_PER_DAY.values())), self._mishap)
        op = self.rng.choices(list(MISHAPS_PER_DAY), weights=list(MISHAPS_PER_DAY.values()))[0]
        return self.mishap(op, {}, now)

    # --- episodes -----------------------------------------------------------------------

    def _episode(self, now: datetime) -> list[Reading]:
        direction = "out" if self.rng.random() < _share_out(self.model.clock.hour(now)) else "in"
        if direction == "out" and not self.model.entrance:
            return self._pass(now, direction)  # the exit button: no credential checked
        roll = self.rng.random()
        for share, episode in (
            (SHARE_VISITOR, self._visitor),
            (SHARE_REMOTE, self._remote),
            (SHARE_STRANGER, self._stranger),
            (SHARE_RETRY, self._retry),
            (SHARE_TAILGATE, self._slip_through),
        ):
            if roll < share:
                return episode(now, direction)
            roll -= share
        return self._resident(now, direction)

    def _resident(self, now: datetime, direction: str, *, count: int = 1) -> list[Reading]:
        method = self.rng.choices([m for m, _ in METHODS], weights=[w for _, w in METHODS])[0]
        body = _access("granted", method, direction, ref=self._someone())
        if method == "face":
            body["score"] = round(self.rng.uniform(0.86, 0.995), 3)
        return [event(now, body), *self._pass(now, direction, count=count)]

    def _visitor(self, now: datetime, direction: str) -> list[Reading]:
        body = _access("granted", "qr", direction, ref=f"v{self.rng.getrandbits(48):012x}")
        return [event(now, body), *self._pass(now, direction)]

    def _remote(self, now: datetime, direction: str) -> list[Reading]:
        return [event(now, _access("granted", "remote", direction)), *self._pass(now, direction)]

    def _retry(self, now: datetime, direction: str) -> list[Reading]:
        ref = self._someone()
        body = _access("denied", "face", direction, ref=ref)
        body["score"] = round(self.rng.uniform(0.45, 0.7), 3)
        later = now + timedelta(seconds=self.rng.uniform(3, 8))
        granted = _access("granted", "face", direction, ref=ref)
        granted["score"] = round(self.rng.uniform(0.86, 0.96), 3)
        self.agenda.emit(later, Channel.EVENT, granted)
        for reading in self._pass(later, direction):
            self.agenda.push(reading.at, reading)
        return [event(now, body)]

    def _stranger(self, now: datetime, direction: str, attempts: int = 0) -> list[Reading]:
        attempts = attempts or self.rng.randint(2, 4)
        ref = f"s{self.rng.getrandbits(48):012x}"  # the reader's temporary id of an unknown face
        at = now
        for _ in range(attempts):
            body = _access("denied", "face", direction, ref=ref)
            body["score"] = round(self.rng.uniform(0.05, 0.5), 3)
            self.agenda.emit(at, Channel.EVENT, body)
            at += timedelta(seconds=self.rng.uniform(8, 25))
        return []

    def _slip_through(self, now: datetime, direction: str) -> list[Reading]:
        """Someone follows a resident through on the resident's one grant. Inwards that
        is tailgating, an incident the simulator notes; outwards it is two people leaving
        together, which no one needs to hear of."""
        if direction == "in":
            self.noted.append(Noted(now, "tailgating", {"people": 2}))
        return self._tailgate(now, direction)

    def _tailgate(self, now: datetime, direction: str, people: int = 2) -> list[Reading]:
        return self._resident(now, direction, count=people)

    def _pass(self, now: datetime, direction: str, *, count: int = 1) -> list[Reading]:
        """The door opens, people pass, the door closes (unless someone holds it)."""
        passage = {"type": "passage", "direction": direction, "count": count}
        self.agenda.emit(now + timedelta(seconds=PASSAGE_S), Channel.EVENT, passage)
        self._open_door(now)
        return []

    def _open_door(self, now: datetime) -> None:
        """After a grant: the door opens and, unless something keeps it open, closes."""
        if not self.door_open:
            self.door_open = True
            self.agenda.emit(now + timedelta(seconds=DOOR_OPEN_S), Channel.EVENT, _door("open"))
        self.close_at = max(self.close_at, now + timedelta(seconds=DOOR_CLOSE_S))
        self.agenda.push(self.close_at, self._close)

    def _close(self, now: datetime) -> list[Reading]:
        """Close the door unless a later passer or a held door keeps it open."""
        if now < self.close_at or now < self.held_until or not self.door_open:
            return []
        self.door_open = False
        return [event(now, _door("closed"))]

    def _someone(self) -> str | None:
        return self.rng.choice(self.model.people) if self.model.people else None

    # --- scenario incidents and commands ------------------------------------------------

    def apply(self, op: str, params: Mapping[str, Any], now: datetime) -> list[Reading]:
        if op == "unlock":
            grant: dict[str, Any] = {"type": "access", "result": "granted", "method": "remote"}
            if params.get("door") is not None:
                grant["door"] = params["door"]
            self._open_door(now)
            return [event(now, grant)]
        if op == "forced_open":
            self.door_open = True
            self.close_at = max(self.close_at, now + timedelta(seconds=FORCED_CLOSE_S))
            self.agenda.push(self.close_at, self._close)
            return [event(now, {"type": "forced_open"}), event(now, _door("open"))]
        if op == "tamper":
            return [event(now, {"type": "tamper", "detail": "reader enclosure opened"})]
        if op == "door_held":
            return self._hold(now, params.get("duration") or timedelta(minutes=5))
        if op == "stranger":
            return self._stranger(now, "in", int(params.get("attempts") or 5))
        if op == "tailgating":
            return self._tailgate(now, "in", int(params.get("people") or 3))
        return super().apply(op, params, now)

    def _hold(self, now: datetime, duration: timedelta) -> list[Reading]:
        was_open, self.door_open = self.door_open, True
        self.held_until = max(self.held_until, now + duration)
        self.close_at = max(self.close_at, self.held_until)
        self.agenda.push(self.held_until, self._close)
        return [] if was_open else [event(now, _door("open"))]


def _share_out(hour: float) -> float:
    """Share of passers going out: mornings leave, evenings come home."""
    if 5 <= hour < 11:
        return 0.75
    if 15 <= hour < 22:
        return 0.25
    return 0.5


def _access(result: str, method: str, direction: str, *, ref: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "access", "result": result, "method": method}
    if ref is not None:
        body["person_ref"] = ref
    body["direction"] = direction
    return body


def _door(state: str) -> dict[str, Any]:
    return {"type": "door", "state": state}
