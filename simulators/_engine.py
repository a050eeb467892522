"""The simulation proper: a whole compound file's devices in simulated time.

`Simulation` builds a `DeviceRuntime` per device (its model's frozen definition,
started into running state with its own seeded `random.Random`), resolves the
scenario into timed actions, and then hands out what happens in time order, one
instant at a time (`step`). It does no I/O and reads no clock: the caller decides
how fast simulated time runs (see `_run.py`), and tests drive it directly.
Determinism: the same compound file, start, seed and scenario give the same items;
commands (`command`) are the outside world's, so a run that answers some is the same
run plus what they caused. `incidents` lists what the run made happen so far, the
scenario's entries and the devices' own mishaps alike, for scoring the alarms it raises.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

import domain
from domain import Kind
from simulators._barrier import BarrierModel, LotModel, ParkingLot, resident_plates
from simulators._behaviour import FAR_FUTURE, Behaviour, LocalClock
from simulators._device import TRANSPORT_FAULTS, DeviceRuntime, Item
from simulators._elder import ElderModel, FlatRhythm
from simulators._errors import ScenarioError
from simulators._gate import GateModel
from simulators._light import LightModel
from simulators._scenario import Action, Scenario, resolve


@dataclass(frozen=True, slots=True)
class Incident:
    """Something the run made happen on a device: a scenario entry (`scheduled`), or one
    of the device's own mishaps (a spontaneous fall, a lamp failing, someone slipping in
    behind a resident, a battery running low). Wire faults are scenario entries too."""

    at: datetime
    device: str
    op: str
    params: Mapping[str, Any]
    scheduled: bool


class Simulation:
    """Every device of `compounds`, from `start`, as a time-ordered stream of items."""

    def __init__(
        self,
        compounds: domain.CompoundFile,
        *,
        start: datetime,
        seed: int = 0,
        scenario: Scenario | None = None,
        spontaneous: bool = True,
        seq_start: int = 0,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime (UTC, or with its offset)")
        start = start.astimezone(UTC)
        self.start = start
        self.now = start
        self.runtimes: list[DeviceRuntime] = []
        for compound in compounds.compounds:
            self.runtimes += _Fleet(compound, start, seed, spontaneous, seq_start).runtimes()
        self._index = {r.device.id: i for i, r in enumerate(self.runtimes)}
        self._by_cmd_topic = {r.cmd_topic: i for i, r in enumerate(self.runtimes)}
        self._actions = resolve(scenario, compounds, start) if scenario else []
        self._check(self._actions)
        self._next_action = 0
        # One valid heap entry per device: the one whose time equals its `_due` (lazy deletion).
        self._due: list[datetime | None] = [r.next_at() for r in self.runtimes]
        self._heap = [(at, i) for i, at in enumerate(self._due) if at is not None]
        heapq.heapify(self._heap)
        self._connected = False

    def _check(self, actions: list[Action]) -> None:
        for action in actions:
            runtime = self.runtimes[self._index[action.device]]
            if action.op not in TRANSPORT_FAULTS and action.op not in runtime.ops():
                raise ScenarioError(
                    f"{action.op} does not apply to {action.device} (a {runtime.device.model})",
                    entry=action.entry,
                )

    @property
    def actions(self) -> list[Action]:
        return list(self._actions)

    def incidents(self) -> list[Incident]:
        """What the run has made happen so far, in time order."""
        found = [
            Incident(a.at, a.device, a.op, a.params, scheduled=True)
            for a in self._actions[: self._next_action]
        ]
        for runtime in self.runtimes:
            found += [
                Incident(n.at, runtime.device.id, n.op, n.params, scheduled=False)
                for n in runtime.behaviour.noted
            ]
        return sorted(found, key=lambda i: (i.at, i.device, i.op))

    def next_at(self) -> datetime:
        """When the next thing happens."""
        if not self._connected:
            return self.start
        device_at = self._top()
        if self._next_action < len(self._actions):
            return min(device_at, self._actions[self._next_action].at)
        return device_at

    def _top(self) -> datetime:
        heap, due = self._heap, self._due
        while heap and heap[0][0] != due[heap[0][1]]:
            heapq.heappop(heap)  # stale: an action moved this device's next instant
        return heap[0][0] if heap else FAR_FUTURE

    def step(self) -> tuple[datetime, list[Item]]:
        """Advance to the next instant at which something happens; what happens then."""
        if not self._connected:
            self._connected = True
            return self.start, [i for r in self.runtimes for i in r.connect(self.start)]
        device_at = self._top()
        if self._next_action < len(self._actions):
            action = self._actions[self._next_action]
            if action.at <= device_at:
                return self._act(action)
        _, index = heapq.heappop(self._heap)
        self._due[index] = None
        self.now = device_at
        items = self.runtimes[index].step(device_at)
        self._schedule(index)
        return device_at, items

    def _act(self, action: Action) -> tuple[datetime, list[Item]]:
        self._next_action += 1
        self.now = action.at
        index = self._index[action.device]
        items = self.runtimes[index].apply(action.op, action.params, action.at)
        self._schedule(index)
        return action.at, items

    def command(self, topic: str, payload: bytes, at: datetime) -> list[Item] | None:
        """A message on `topic` reached the devices at simulated `at`: what the device
        whose `cmd` topic it is does and says in answer, at `at` kept between `now` and
        `next_at()` (time never runs back). None when `topic` is no device's of this run."""
        index = self._by_cmd_topic.get(topic)
        if index is None:
            return None
        self.now = max(self.now, min(at, self.next_at()))
        items = self.runtimes[index].command(payload, self.now)
        self._schedule(index)
        return items

    def _schedule(self, index: int) -> None:
        at = self.runtimes[index].next_at()
        if at != self._due[index]:
            self._due[index] = at
            heapq.heappush(self._heap, (at, index))

    def run(self, until: datetime) -> Iterator[Item]:
        """Every item up to and including `until` (for tests and offline use)."""
        while self.next_at() <= until:
            _, items = self.step()
            yield from items

    def finish(self, at: datetime) -> list[Item]:
        """End of the run at `at`: every device releases what it holds and disconnects."""
        return [item for runtime in self.runtimes for item in runtime.finish(at)]


class _Fleet:
    """Builds the runtimes of one compound: its models, their shared state, their rngs."""

    def __init__(
        self,
        compound: domain.Compound,
        start: datetime,
        seed: int,
        spontaneous: bool,
        seq_start: int,
    ) -> None:
        self.compound = compound
        self.start = start
        self.seed = seed
        self.spontaneous = spontaneous
        self.seq_start = seq_start
        try:
            self.clock = LocalClock.of(compound.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"compound {compound.id}: unknown timezone {compound.timezone!r}"
            ) from exc
        self.people = tuple(r.ref for h in compound.households for r in h.residents)
        self.by_unit: dict[str, list[str]] = {}
        for household in compound.households:
            unit = "-".join(household.flat.split("-")[:2])
            self.by_unit.setdefault(unit, []).extend(r.ref for r in household.residents)
        self.sizes = {h.flat: len(h.residents) for h in compound.households}
        barriers = [d for d in compound.devices if d.kind is Kind.BARRIER]
        self.lot_model = LotModel(
            compound.id, compound.parking_spaces, len(barriers), self.clock, seed
        )
        self.lot: ParkingLot | None = None
        self.barrier_index = {d.id: i for i, d in enumerate(barriers)}
        self.rhythms: dict[str, FlatRhythm] = {}

    def runtimes(self) -> list[DeviceRuntime]:
        return [
            DeviceRuntime(
                d, self.compound.id, self._behaviour(d), clock=self.clock, seq_start=self.seq_start
            )
            for d in self.compound.devices
        ]

    def _behaviour(self, device: domain.Device) -> Behaviour:
        rng = random.Random(f"dayuan-device:{self.seed}:{device.id}")
        now, spontaneous = self.start, self.spontaneous
        if device.kind is Kind.GATE:
            unit = device.address
            people = self.people if unit is None else tuple(self.by_unit.get(unit, ()))
            gate = GateModel(device, entrance=unit is None, people=people, clock=self.clock)
            return gate.start(rng, now, spontaneous=spontaneous)
        if device.kind is Kind.BARRIER:
            if self.lot is None:
                self.lot = self.lot_model.start(now)
            barrier = BarrierModel(device, self.barrier_index[device.id], self.lot_model)
            return barrier.start(rng, now, self.lot, spontaneous=spontaneous)
        if device.kind is Kind.LIGHT:
            light = LightModel(device, self.compound.lat, self.compound.lon, self.clock)
            return light.start(rng, now, spontaneous=spontaneous)
        return self._elder(device, rng)

    def _elder(self, device: domain.Device, rng: random.Random) -> Behaviour:
        flat = device.address or device.id
        residents = max(1, self.sizes.get(flat, 1))
        key = f"{self.compound.id}:{flat}"
        if key not in self.rhythms:
            self.rhythms[key] = FlatRhythm(key, residents, self.clock, self.seed)
        model = ElderModel(device, key, residents, self.clock)
        return model.start(rng, self.start, self.rhythms[key], spontaneous=self.spontaneous)


def resident_cars(compounds: domain.CompoundFile, *, seed: int = 0) -> list[tuple[str, str]]:
    """(compound, plate) of every resident car a `Simulation` of `compounds` with `seed`
    drives: what the households would register in the vehicle registry."""
    return [
        (c.id, plate)
        for c in compounds.compounds
        if any(d.kind is Kind.BARRIER for d in c.devices)
        for plate in resident_plates(c.id, c.parking_spaces, seed)
    ]
