"""Fixtures of the simulator tests: small compounds, a seeded day, a fake wall clock and
transport, and a private Mosquitto (plain, anonymous) for the one integration test."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import domain
from simulators import Publish, Simulation
from tests.factories import small_generated_compound
from tests.simulators.fakes import FakeClock, FakeTransport

MOSQUITTO = Path("/usr/sbin/mosquitto")
# Monday 6 May 2024, 00:00 in Hangzhou.
MIDNIGHT = datetime(2024, 5, 5, 16, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def midnight() -> datetime:
    return MIDNIGHT


@pytest.fixture(scope="session")
def small() -> domain.CompoundFile:
    return small_generated_compound()


@pytest.fixture(scope="session")
def small_day(small: domain.CompoundFile) -> list[Publish]:
    """Every publish of one seeded local day of the small compound."""
    simulation = Simulation(small, start=MIDNIGHT, seed=3)
    return [i for i in simulation.run(MIDNIGHT + timedelta(days=1)) if isinstance(i, Publish)]


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_transport(fake_clock: FakeClock) -> FakeTransport:
    return FakeTransport(fake_clock)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A private Mosquitto on a free port, stopped at the end of the session."""
    if not MOSQUITTO.exists() and shutil.which("mosquitto") is None:
        pytest.fail("mosquitto is not installed (.ci/run installs it)")
    executable = str(MOSQUITTO) if MOSQUITTO.exists() else "mosquitto"
    port = _free_port()
    directory = tmp_path_factory.mktemp("mosquitto")
    config = directory / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    log = (directory / "mosquitto.log").open("w")
    process = subprocess.Popen([executable, "-c", str(config)], stdout=log, stderr=log)
    try:
        _await_port(process, port)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _await_port(process: subprocess.Popen[bytes], port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            try:  # waiting on the process both paces the retry and notices a crash
                process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"mosquitto exited with {process.returncode}") from None
    raise RuntimeError(f"mosquitto did not listen on port {port}")
