"""The run loop with a fake transport and a fake wall clock: pacing, rates, stopping."""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import domain
from broker import MqttEndpoint
from simulators import (
    MqttTarget,
    Pacer,
    Progress,
    Publish,
    SimulationReport,
    read_manifest,
    run_simulation,
)
from tests.simulators.fakes import FakeClock, FakeTransport

TARGET = MqttTarget(MqttEndpoint("127.0.0.1", 1))  # never dialled: the transport is a fake
Run = Callable[..., SimulationReport]


@pytest.fixture
def run(
    small: domain.CompoundFile,
    midnight: datetime,
    fake_clock: FakeClock,
    fake_transport: FakeTransport,
) -> Run:
    """`run_simulation` of the small compound from midnight, on the fakes."""

    def go(**options: Any) -> SimulationReport:
        return run_simulation(
            small,
            target=TARGET,
            start=midnight,
            transport=fake_transport,
            monotonic=fake_clock,
            **options,
        )

    return go


def test_accelerated_time_is_paced_by_the_wall(run: Run, fake_transport: FakeTransport) -> None:
    report = run(speed=60.0, duration=timedelta(hours=1), seq_start=0)
    assert report.wall_seconds == pytest.approx(60.0, abs=0.25)  # an hour at 60x
    assert report.simulated_span == timedelta(hours=1)
    assert all(w <= 0.2 for w in fake_transport.waits)  # never deaf to `stop` for long
    sent = [i for i in fake_transport.sent if isinstance(i, Publish)]
    assert report.messages == len(sent)
    assert report.acknowledged == len(sent)
    assert report.per_kind.keys() == {"gate", "barrier", "light", "elder"}
    assert fake_transport.closed


def test_device_timestamps_follow_simulated_time(
    run: Run, midnight: datetime, fake_transport: FakeTransport
) -> None:
    run(speed=3600.0, duration=timedelta(hours=2))
    lights = [
        i
        for i in fake_transport.sent
        if isinstance(i, Publish)
        and i.device.endswith("L-001")
        and i.channel is domain.Channel.TELEMETRY
    ]
    (body,) = domain.decode(domain.Topic.parse(lights[-1].topic), lights[-1].payload)
    assert isinstance(body, domain.LightTelemetry)
    assert midnight + timedelta(hours=1, minutes=54) < body.ts <= midnight + timedelta(hours=2)


def test_a_rate_limits_messages_per_second(run: Run) -> None:
    report = run(rate=500.0, duration=timedelta(hours=1))
    assert report.wall_seconds == pytest.approx(report.messages / 500.0, rel=0.05)


def test_flat_out_never_waits(run: Run) -> None:
    report = run(rate=math.inf, duration=timedelta(hours=6))
    assert report.wall_seconds == 0.0
    assert report.messages > 1000


def test_stop_ends_the_run_cleanly(
    run: Run, fake_clock: FakeClock, fake_transport: FakeTransport, tmp_path: Path
) -> None:
    stop = threading.Event()
    original = fake_transport.service

    def service(timeout: float) -> None:
        original(timeout)
        if fake_clock.now > 1030:
            stop.set()

    fake_transport.service = service  # type: ignore[method-assign]
    report = run(speed=60.0, stop=stop, manifest=tmp_path / "m.jsonl")
    assert report.stopped
    assert timedelta(minutes=29) < report.simulated_span < timedelta(minutes=31)
    manifest = read_manifest(tmp_path / "m.jsonl")
    assert manifest.summary is not None
    assert manifest.summary["stopped"] is True
    assert sum(r.messages for r in manifest.devices.values()) == report.messages


def test_pacer_refuses_nonsense() -> None:
    start = datetime.fromisoformat("2024-05-06T00:00:00+00:00")
    with pytest.raises(ValueError, match="speed"):
        Pacer(start, speed=0, rate=None)
    with pytest.raises(ValueError, match="rate"):
        Pacer(start, speed=1, rate=-1)


def test_a_catch_up_plays_the_past_fast_and_the_present_in_real_time() -> None:
    """Six hours at 601x meet the present 36 s in (the simulated clock gains 600 s a
    second on the wall's 6 h head start), then simulated time runs at the wall's pace:

        wall (s)        0      18        36       46
        simulated       00:00  03:00:18  06:00:36 06:00:46
    """
    start = datetime.fromisoformat("2024-05-06T00:00:00+00:00")
    present = start + timedelta(hours=6)
    pacer = Pacer(start, speed=601, rate=None, present=present)
    assert pacer.meets == pytest.approx(36.0)
    assert pacer.due(start + timedelta(hours=3, seconds=18), 0) == pytest.approx(18.0)
    met = present + timedelta(seconds=36)
    assert pacer.due(met, 0) == pytest.approx(36.0)
    assert pacer.due(met + timedelta(seconds=10), 0) == pytest.approx(46.0)
    assert pacer.when(46.0) == met + timedelta(seconds=10)
    assert pacer.when(18.0) == start + timedelta(hours=3, seconds=18)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_only(fake_clock: FakeClock) -> None:
    when = datetime.fromisoformat("2024-05-06T07:42:00+00:00")
    quiet = io.StringIO()
    Progress(stream=quiet, monotonic=fake_clock).update(simulated=when, sent=1, acked=1, errors=0)
    assert quiet.getvalue() == ""
    tty = _Tty()
    progress = Progress(stream=tty, monotonic=fake_clock)
    fake_clock.now += 2
    progress.update(simulated=when, sent=2000, acked=1990, errors=3)
    progress.update(simulated=when, sent=2001, acked=1990, errors=3)  # too soon: not drawn
    progress.close()
    assert tty.getvalue().count("\r") == 1
    assert "sent 2,000 (1,000/s) acked 1,990 errors 3" in tty.getvalue()
    assert tty.getvalue().endswith("\n")
