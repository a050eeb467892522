"""Running a simulation against a broker: where wall time meets simulated time.

`run_simulation` is the one entry point (`dayuan simulate`, `dayuan up`, the
benchmark). It drives a `Simulation` instant by instant and paces it with a
`Pacer`: at `speed` (simulated seconds per wall second: 1 is real time, 1440 a day
a minute), or flat-out at `rate` messages a second (simulated time then runs as
fast as the messages go; `math.inf` is no limit at all). Device timestamps always
follow simulated time. Waiting happens only in the transport's `service` (the
sockets' select), so no sleep hides anywhere and stop requests are seen within
IDLE_SLICE_S. Commands the transport received are answered after each `service`, at
the simulated present: where the pacer puts the wall clock, or, flat-out, the last
instant played.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import domain
from simulators._device import Item, Publish
from simulators._engine import Simulation
from simulators._manifest import ManifestWriter
from simulators._mqtt import FleetTransport, MqttTarget, RealisticTransport, Transport
from simulators._progress import Progress
from simulators._scenario import Scenario

log = logging.getLogger(__name__)

IDLE_SLICE_S = 0.2  # longest wait without looking at `stop`
MIN_SLICE_S = 0.001  # shortest wait: finer than select's timer is only spinning
SERVICE_EVERY = 256  # messages between reads of acks (and commands) while flat-out
MAX_OUTSTANDING = 20_000  # unacknowledged messages before we wait for the broker
FINAL_DRAIN_S = 30.0  # how long the end of a run waits for the last acks


@dataclass
class SimulationReport:
    messages: int = 0  # MQTT publishes (a batch array is one)
    objects: int = 0  # JSON objects with a seq they carried
    acknowledged: int = 0
    no_subscribers: int = 0  # acknowledged "no matching subscribers": dropped by the broker
    resent: int = 0  # published again after a "no matching subscribers" PUBACK
    errors: int = 0
    error_samples: tuple[str, ...] = ()
    per_kind: dict[str, int] = field(default_factory=dict)  # publishes per device kind
    per_channel: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)  # publishes per injected fault
    commands: int = 0  # cmd messages received for devices of the run
    wall_seconds: float = 0.0
    simulated_start: datetime | None = None
    simulated_end: datetime | None = None
    stopped: bool = False  # ended by `stop` rather than by `duration`

    @property
    def simulated_span(self) -> timedelta:
        if self.simulated_start is None or self.simulated_end is None:
            return timedelta(0)
        return self.simulated_end - self.simulated_start

    @property
    def rate(self) -> float:
        """Messages per wall second."""
        return self.messages / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "objects": self.objects,
            "acknowledged": self.acknowledged,
            "no_subscribers": self.no_subscribers,
            "resent": self.resent,
            "errors": self.errors,
            "error_samples": list(self.error_samples),
            "per_kind": self.per_kind,
            "per_channel": self.per_channel,
            "faults": self.faults,
            "commands": self.commands,
            "wall_seconds": round(self.wall_seconds, 3),
            "rate": round(self.rate, 1),
            "simulated_start": self.simulated_start,
            "simulated_end": self.simulated_end,
            "stopped": self.stopped,
        }


class Pacer:
    """When, in wall seconds since the start, an instant of simulated time is due."""

    def __init__(
        self,
        start: datetime,
        *,
        speed: float,
        rate: float | None,
        present: datetime | None = None,
    ) -> None:
        if rate is None and not speed > 0:
            raise ValueError("speed must be positive")
        if rate is not None and not rate > 0:
            raise ValueError("rate must be positive (math.inf for no limit)")
        self.start = start
        self.speed = speed
        self.rate = rate
        # With `present`, the past is played at `speed` until the simulated time meets the
        # present (this many wall seconds in), and in real time from then on: one
        # simulation, so a door opened just before that instant still closes after it.
        self.meets: float | None = None
        if present is not None and rate is None and speed > 1:
            self.meets = max(0.0, (present - start).total_seconds() / (speed - 1))

    def due(self, at: datetime, sent: int) -> float:
        if self.rate is None:
            simulated = (at - self.start).total_seconds()
            if self.meets is not None and simulated > self.meets * self.speed:
                return self.meets + simulated - self.meets * self.speed
            return simulated / self.speed
        if math.isinf(self.rate):
            return -math.inf
        return sent / self.rate

    def when(self, wall: float) -> datetime | None:
        """The simulated instant due `wall` seconds after the start; None when paced by
        rate (simulated time is then wherever the messages have got to)."""
        if self.rate is not None:
            return None
        if self.meets is not None and wall > self.meets:
            return self.start + timedelta(seconds=self.meets * self.speed + wall - self.meets)
        return self.start + timedelta(seconds=wall * self.speed)


class _Counter:
    """Tallies what was sent, for the report."""

    def __init__(self) -> None:
        self.messages = 0
        self.objects = 0
        self.kinds: Counter[str] = Counter()
        self.channels: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()

    def count(self, item: Item) -> None:
        if not isinstance(item, Publish):
            return
        self.messages += 1
        self.objects += len(item.seqs)
        self.kinds[item.kind.value] += 1
        self.channels[item.channel.value] += 1
        if item.fault is not None:
            self.faults[item.fault] += 1


def run_simulation(
    compound: domain.CompoundFile,
    *,
    target: MqttTarget,
    start: datetime,
    speed: float = 60.0,
    duration: timedelta | None = None,
    rate: float | None = None,
    seed: int = 0,
    mode: Literal["realistic", "fleet"] = "fleet",
    scenario: Scenario | None = None,
    manifest: Path | None = None,
    stop: threading.Event | None = None,
    progress: bool = False,
    connections: int = 2,
    spontaneous: bool = True,
    seq_start: int | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    transport: Transport | None = None,
    catch_up: datetime | None = None,
) -> SimulationReport:
    """Simulate `compound` from `start` onto the broker at `target`; block until done.

    Done is `duration` of simulated time, or `stop` being set. `rate` (messages a
    second, `math.inf` for no limit) overrides `speed`. With `catch_up` (the present,
    after `start`), the span up to it plays at `speed` and the rest in real time.
    `seq_start` defaults to the epoch milliseconds of `start`, so runs over later spans
    never reuse a seq.
    `transport` replaces the MQTT transport (tests); `monotonic` the wall clock.
    """
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime (UTC, or with its offset)")
    start = start.astimezone(UTC)
    first_seq = seq_start if seq_start is not None else int(start.timestamp() * 1000)
    simulation = Simulation(
        compound,
        start=start,
        seed=seed,
        scenario=scenario,
        spontaneous=spontaneous,
        seq_start=first_seq,
    )
    pacer = Pacer(start, speed=speed, rate=rate, present=catch_up)
    if transport is None:
        transport = _transport(target, mode, connections, seed)
    header = {
        "start": start.isoformat(),
        "seed": seed,
        "mode": mode,
        "speed": speed,
        "rate": rate,
        "seq_start": first_seq,
        "duration_s": _seconds(duration),
        "compounds": [c.id for c in compound.compounds],
        "devices": len(simulation.runtimes),
        "scenario": scenario.name if scenario else None,
    }
    devices = {r.device.id: (r.compound, r.kind) for r in simulation.runtimes}
    writer = ManifestWriter(manifest, header, devices) if manifest else None
    runner = _Runner(
        simulation,
        transport,
        pacer,
        end=start + duration if duration is not None else None,
        stop=stop or threading.Event(),
        writer=writer,
        monotonic=monotonic,
        progress=Progress(enabled=progress, monotonic=monotonic),
    )
    return runner.run()


def _transport(target: MqttTarget, mode: str, connections: int, seed: int) -> Transport:
    if mode == "realistic":
        return RealisticTransport(target)
    if mode == "fleet":
        return FleetTransport(target, connections=connections, name=f"sim-{os.getpid()}-{seed}")
    raise ValueError(f"mode must be 'realistic' or 'fleet', not {mode!r}")


def _seconds(duration: timedelta | None) -> float | None:
    return None if duration is None else duration.total_seconds()


class _Runner:
    """The loop: take the next instant, wait until it is due, send what happens then."""

    def __init__(
        self,
        simulation: Simulation,
        transport: Transport,
        pacer: Pacer,
        *,
        end: datetime | None,
        stop: threading.Event,
        writer: ManifestWriter | None,
        monotonic: Callable[[], float],
        progress: Progress,
    ) -> None:
        self.simulation = simulation
        self.transport = transport
        self.pacer = pacer
        self.end = end
        self.stop = stop
        self.writer = writer
        self.monotonic = monotonic
        self.progress = progress
        self.counter = _Counter()
        self.commands = 0
        self.report = SimulationReport(simulated_start=simulation.start)
        self.clock_at = simulation.start
        self.wall0 = 0.0

    def run(self) -> SimulationReport:
        self.wall0 = self.monotonic()
        try:
            _, first = self.simulation.step()
            self._record(first)
            self.transport.start(first)
            self._loop()
            self._finish()
        except BaseException:
            self._close_manifest(failed=True)
            raise
        finally:
            self.progress.close()
            self.transport.close()
        report = self._report()
        self._close_manifest(failed=False)
        return report

    def _close_manifest(self, *, failed: bool) -> None:
        if self.writer is not None:
            summary = self._report().summary()
            self.writer.close({**summary, "failed": failed})
            self.writer = None

    def _loop(self) -> None:
        since_service = 0
        while not self.stop.is_set():
            at = self.simulation.next_at()
            if self.end is not None and at > self.end:
                if self._wait_until(self.end, self.counter.messages):
                    return
                continue
            if not self._wait_until(at, self.counter.messages):
                continue
            self.clock_at, items = self.simulation.step()
            for item in items:
                self.transport.send(item)
            self._record(items)
            since_service += len(items)
            if since_service >= SERVICE_EVERY:
                since_service = 0
                self._keep_up()

    def _wait_until(self, at: datetime, sent: int) -> bool:
        """True when `at` is due; else waits a slice (serving the sockets) and says False."""
        late = self.monotonic() - self.wall0 - self.pacer.due(at, sent)
        if late >= 0:
            return True
        self._service(max(MIN_SLICE_S, min(-late, IDLE_SLICE_S)))
        self._show()
        return False

    def _keep_up(self) -> None:
        """Read acks; if the broker falls behind, wait for it rather than pile up."""
        self._service(0)
        while self.transport.outstanding() > MAX_OUTSTANDING and not self.stop.is_set():
            self._service(IDLE_SLICE_S)
        self._show()

    def _service(self, timeout: float) -> None:
        """Serve the sockets, then answer the commands they brought."""
        self.transport.service(timeout)
        for received in self.transport.received():
            items = self.simulation.command(received.topic, received.payload, self._present())
            if items is None:
                log.debug("a command on %s: no device of this run; ignored", received.topic)
                continue
            self.commands += 1
            for item in items:
                self.transport.send(item)
            self._record(items)

    def _present(self) -> datetime:
        paced = self.pacer.when(self.monotonic() - self.wall0)
        present = self.simulation.now if paced is None else paced
        return present if self.end is None else min(present, self.end)

    def _show(self) -> None:
        stats = self.transport.stats
        self.progress.update(
            simulated=self.clock_at,
            sent=self.counter.messages,
            acked=stats.acknowledged,
            errors=stats.errors,
        )

    def _record(self, items: list[Item]) -> None:
        for item in items:
            self.counter.count(item)
            if self.writer is not None:
                self.writer.record(item)

    def _finish(self) -> None:
        self.report.stopped = self.stop.is_set()
        end = self.end if self.end is not None and not self.report.stopped else self.clock_at
        self.clock_at = max(self.clock_at, end)
        items = self.simulation.finish(self.clock_at)
        for item in items:
            self.transport.send(item)
        self._record(items)
        if not self.transport.drain(FINAL_DRAIN_S):
            self.transport.stats.error(
                f"{self.transport.outstanding()} messages unacknowledged after {FINAL_DRAIN_S}s"
            )

    def _report(self) -> SimulationReport:
        report, counter, stats = self.report, self.counter, self.transport.stats
        report.messages, report.objects = counter.messages, counter.objects
        report.per_kind, report.per_channel = dict(counter.kinds), dict(counter.channels)
        report.faults, report.commands = dict(counter.faults), self.commands
        report.acknowledged, report.errors = stats.acknowledged, stats.errors
        report.no_subscribers, report.resent = stats.no_subscribers, stats.resent
        report.error_samples = tuple(stats.samples)
        report.wall_seconds = self.monotonic() - self.wall0
        report.simulated_end = self.clock_at
        return report
