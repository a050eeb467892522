"""Parking barriers with plate cameras at the car entrances, and the lot behind them.

The lot is shared by a compound's barriers. Each local day it draws a plan for every
resident car (commuters leave ~07:40 and return ~18:20, others run errands, some
stay; weekends are slower) and for visitors during the day. A compound has a few
more resident cars than spaces, as old compounds do, so at night the lot fills and
late cars are turned away: the lot is full at night. A barrier carries out the
movements of its own entrance: a plate read (plate, direction, confidence), the arm
opening and closing, and reports occupancy against capacity as telemetry. An arm
can stick open or fault, on its own (rarely) or from a scenario. Commands: `open`
raises the arm and holds it up (cars pass without a cycle) until `close`; a stuck or
faulted arm carries out neither.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

import domain
from simulators._behaviour import Behaviour, LocalClock, Noted, Reading, clip, event, telemetry
from simulators._errors import CommandFailed

CARS_PER_SPACE = 1.04  # resident cars per space: a few more cars than spaces, so nights fill up
VISITORS_PER_SPACE = 0.25  # visitor cars a weekday per space; half that at weekends
SHARE_COMMUTER = 0.55  # of resident cars on a weekday; at weekends they run errands or stay
SHARE_ERRAND = 0.25
OTHER_ENTRANCE = 0.2  # share of trips through an entrance that is not the car's usual one
LOW_CONFIDENCE = 0.03  # share of plate reads that are poor (rain, dirt, glare)
OPEN_AFTER_S = 1.0
CLOSE_AFTER_S = 7.0
# The lot counts as full with 2 % free or less and as free again under 90 %: a crossing
# is an incident the first barrier notes (one lot, shared by the barriers), as the
# catalogue's lot_full rule (98 %, clear at 90 %) is meant to catch it.
FULL_SHARE, FREE_SHARE = 0.98, 0.90
FAULTS_PER_DAY = {"barrier_stuck": 0.01, "barrier_fault": 0.003}
PROVINCES = ("浙A", "浙A", "浙A", "浙A", "浙B", "浙C", "沪A", "苏E", "皖A")  # mostly local plates
PLATE_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O on Chinese plates


@dataclass(frozen=True, slots=True)
class Movement:
    at: datetime
    plate: str
    direction: str  # "in" or "out"
    barrier: int  # which of the compound's car entrances


@dataclass(frozen=True)
class LotModel:
    """The definition: a compound's car park."""

    compound: str
    capacity: int
    barriers: int
    clock: LocalClock
    seed: int

    def start(self, now: datetime) -> ParkingLot:
        return ParkingLot(self, now)


@dataclass
class ParkingLot:
    """The running lot: which plates are inside, shared by the compound's barriers."""

    model: LotModel
    now: datetime
    inside: set[str] = field(default_factory=set)
    phantom: int = 0  # cars a scenario parks to fill the lot
    residents: tuple[str, ...] = ()
    _plans: dict[date, list[Movement]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.residents = resident_plates(self.model.compound, self.model.capacity, self.model.seed)
        self.inside = set(self.residents[: self.model.capacity])
        for movement in self.plan(self.model.clock.date(self.now)):
            if movement.at >= self.now:
                break
            self.move(movement)  # replay the morning so far, silently

    @property
    def occupancy(self) -> int:
        return min(self.model.capacity, len(self.inside) + self.phantom)

    def move(self, movement: Movement) -> bool:
        """Apply a movement; False if it cannot happen (already in or out, or the lot is full)."""
        if movement.direction == "out":
            if movement.plate not in self.inside:
                return False
            self.inside.remove(movement.plate)
            return True
        if movement.plate in self.inside or self.occupancy >= self.model.capacity:
            return False
        self.inside.add(movement.plate)
        return True

    def plan(self, day: date) -> list[Movement]:
        if day not in self._plans:
            self._plans = {d: p for d, p in self._plans.items() if d >= day - timedelta(days=1)}
            self._plans[day] = self._draw(day)
        return self._plans[day]

    def _draw(self, day: date) -> list[Movement]:
        rng = random.Random(f"dayuan-lot:{self.model.seed}:{self.model.compound}:{day}")
        weekend = self.model.clock.is_weekend(day)
        movements: list[Movement] = []
        for k, plate in enumerate(self.residents):
            home = k % max(1, self.model.barriers)
            for out_h, in_h in _resident_trips(rng, weekend):
                movements += self._trip(rng, day, plate, home, out_h, in_h)
        visitors = self.model.capacity * VISITORS_PER_SPACE * (0.5 if weekend else 1.0)
        for _ in range(round(visitors)):
            arrive = clip(rng.gauss(14.0, 3.0), 7.0, 21.5)
            leave = min(23.9, arrive + rng.uniform(0.25, 3.0))
            plate = _plate(rng, visitor=True)
            home = rng.randrange(max(1, self.model.barriers))
            movements += self._trip(rng, day, plate, home, leave, arrive)
        movements.sort(key=lambda m: m.at)
        return movements

    def _trip(
        self, rng: random.Random, day: date, plate: str, home: int, out_h: float, in_h: float
    ) -> list[Movement]:
        def gate() -> int:
            if self.model.barriers > 1 and rng.random() < OTHER_ENTRANCE:
                return rng.randrange(self.model.barriers)
            return home

        at = self.model.clock.at
        return [
            Movement(at(day, out_h), plate, "out", gate()),
            Movement(at(day, in_h), plate, "in", gate()),
        ]


def _resident_trips(rng: random.Random, weekend: bool) -> list[tuple[float, float]]:
    """(leave, return) local hours of one resident car's trips on one day."""
    roll = rng.random()
    commuter = SHARE_COMMUTER * (0.2 if weekend else 1.0)
    if roll < commuter:
        leave = clip(rng.gauss(7.65, 0.6), 5.5, 10.0)
        return [(leave, clip(rng.gauss(18.3, 0.9), max(leave + 1, 15.5), 23.8))]
    if roll < commuter + SHARE_ERRAND * (1.8 if weekend else 1.0):
        leave = rng.uniform(8.5, 16.5)
        return [(leave, min(23.8, leave + rng.uniform(0.5, 4.0)))]
    return []


def resident_plates(compound: str, capacity: int, seed: int) -> tuple[str, ...]:
    """The resident cars of a compound's lot (what its households would register)."""
    rng = random.Random(f"dayuan-lot:{seed}:{compound}")
    cars = round(capacity * CARS_PER_SPACE)
    return tuple(sorted({_plate(rng, visitor=False) for _ in range(cars)}))


def _plate(rng: random.Random, *, visitor: bool) -> str:
    province = rng.choice(PROVINCES) if visitor else "浙A"
    if rng.random() < 0.1:  # green new-energy plates: D (electric) or F (hybrid), then 5
        return province + rng.choice("DF") + "".join(rng.choice(PLATE_CHARS) for _ in range(5))
    return province + "".join(rng.choice(PLATE_CHARS) for _ in range(5))


@dataclass(frozen=True)
class BarrierModel:
    """The definition: one car entrance of a compound's lot."""

    device: domain.Device
    index: int  # which of the compound's car entrances this is
    lot: LotModel

    def start(
        self, rng: random.Random, now: datetime, lot: ParkingLot, *, spontaneous: bool
    ) -> BarrierState:
        return BarrierState(self, rng, now, lot, spontaneous=spontaneous)


class BarrierState(Behaviour):
    OPS: ClassVar[frozenset[str]] = frozenset({"barrier_stuck", "barrier_fault", "lot_full"})
    COMMANDS: ClassVar[frozenset[str]] = frozenset({"open", "close"})

    def __init__(
        self,
        model: BarrierModel,
        rng: random.Random,
        now: datetime,
        lot: ParkingLot,
        *,
        spontaneous: bool,
    ) -> None:
        super().__init__(rng)
        self.model = model
        self.lot = lot
        self.started = now
        self.arm: str = "closed"  # closed, stuck (open and will not close) or fault
        self.arm_until = now
        self.held_open = False  # raised by an `open` command, until `close`
        self.full: Noted | None = None  # the lot's filling up, noted and not yet over
        period = timedelta(seconds=model.device.heartbeat())
        self.agenda.every(self.phase(now, period), period, self._heartbeat)
        self._schedule_day(now, self.model.lot.clock.date(now))
        if spontaneous:
            self.agenda.push(self.exp_after(now, sum(FAULTS_PER_DAY.values())), self._mishap)

    def _schedule_day(self, now: datetime, day: date) -> None:
        for movement in self.lot.plan(day):
            if movement.barrier == self.model.index and movement.at >= now:
                self.agenda.push(movement.at, _Move(self, movement))
        self.agenda.push(self.model.lot.clock.at(day + timedelta(days=1), 0.0), self._next_day)

    def _next_day(self, now: datetime) -> list[Reading]:
        self._schedule_day(now, self.model.lot.clock.date(now))
        return []

    def _heartbeat(self, now: datetime) -> list[Reading]:
        if self.model.index == 0 and not self.lot.phantom:
            self._watch_lot(now)
        values = {
            "occupancy": self.lot.occupancy,
            "capacity": self.model.lot.capacity,
            "uptime_s": round((now - self.started).total_seconds(), 1),
        }
        return [telemetry(now, values)]

    def _watch_lot(self, now: datetime) -> None:
        """Note the lot filling up of itself (a scenario's `lot_full` is noted as one)."""
        share = self.lot.occupancy / self.model.lot.capacity if self.model.lot.capacity else 0.0
        if self.full is None and share >= FULL_SHARE:
            self.full = Noted(now, "lot_full", {"occupancy": self.lot.occupancy})
            self.noted.append(self.full)
        elif self.full is not None and share < FREE_SHARE:
            self.noted.remove(self.full)  # noted again with how long it lasted
            self.noted.append(self.full._replace(params={"duration": now - self.full.at}))
            self.full = None

    def _mishap(self, now: datetime) -> list[Reading]:
        self.agenda.push(self.exp_after(now, sum(FAULTS_PER_DAY.values())), self._mishap)
        op = self.rng.choices(list(FAULTS_PER_DAY), weights=list(FAULTS_PER_DAY.values()))[0]
        return self.mishap(op, {"duration": timedelta(minutes=self.rng.uniform(10, 60))}, now)

    def move(self, movement: Movement, now: datetime) -> list[Reading]:
        if movement.direction == "out" and movement.plate not in self.lot.inside:
            return []  # that car never made it in
        if movement.direction == "in" and movement.plate in self.lot.inside:
            return []
        read = event(now, self._plate_read(movement))
        if not self.lot.move(movement):
            return [read]  # the lot is full: the arm stays down
        return [read, *self._cycle(now)]

    def _plate_read(self, movement: Movement) -> dict[str, Any]:
        if self.rng.random() < LOW_CONFIDENCE:
            confidence = self.rng.uniform(0.55, 0.8)
        else:
            confidence = clip(self.rng.gauss(0.95, 0.02), 0.8, 0.999)
        return {
            "type": "plate",
            "plate": movement.plate,
            "direction": movement.direction,
            "confidence": round(confidence, 3),
            "lane": "1" if movement.direction == "in" else "2",
        }

    def _cycle(self, now: datetime) -> list[Reading]:
        if now < self.arm_until or self.held_open:
            return []  # stuck, faulted or held up: cars pass, the arm says nothing
        self.agenda.push(now + timedelta(seconds=OPEN_AFTER_S), _ArmEvent(self, "open"))
        self.agenda.push(now + timedelta(seconds=CLOSE_AFTER_S), _ArmEvent(self, "closed"))
        return []

    def _command(self, op: str, now: datetime) -> list[Reading]:
        if now < self.arm_until:
            raise CommandFailed(f"the arm is out of order ({self.arm})")
        if (op == "open") == self.held_open:
            return []  # held up already, or not held up: nothing moves
        self.held_open = op == "open"
        state, detail = (
            ("open", "held open by command") if self.held_open else ("closed", "closed by command")
        )
        return [event(now, {"type": "barrier", "state": state, "detail": detail})]

    def apply(self, op: str, params: Mapping[str, Any], now: datetime) -> list[Reading]:
        if op in self.COMMANDS:
            return self._command(op, now)
        duration: timedelta = params.get("duration") or timedelta(minutes=30)
        if op == "lot_full":
            self.lot.phantom = self.model.lot.capacity
            self.agenda.push(now + duration, self._empty_phantom)
            return []
        if op in ("barrier_stuck", "barrier_fault"):
            state, detail = (
                ("stuck", "arm did not close")
                if op == "barrier_stuck"
                else ("fault", "loop detector fault")
            )
            self.arm, self.arm_until = state, max(self.arm_until, now + duration)
            self.agenda.push(self.arm_until, self._recover)
            return [event(now, {"type": "barrier", "state": state, "detail": detail})]
        return super().apply(op, params, now)

    def _recover(self, now: datetime) -> list[Reading]:
        if now < self.arm_until:
            return []
        self.arm, self.held_open = "closed", False
        return [event(now, {"type": "barrier", "state": "closed", "detail": "recovered"})]

    def _empty_phantom(self, now: datetime) -> list[Reading]:
        self.lot.phantom = 0
        return []


@dataclass(frozen=True, slots=True)
class _Move:
    """An agenda action: carry out one movement of the lot's plan."""

    barrier: BarrierState
    movement: Movement

    def __call__(self, now: datetime) -> list[Reading]:
        return self.barrier.move(self.movement, now)


@dataclass(frozen=True, slots=True)
class _ArmEvent:
    """An agenda action: the arm reports its state (unless a command holds it up)."""

    barrier: BarrierState
    state: str

    def __call__(self, now: datetime) -> list[Reading]:
        if self.barrier.held_open:
            return []
        return [event(now, {"type": "barrier", "state": self.state})]
