"""Fixtures of the cases tests: a clock to advance, a recording
publisher, and a database with the full registry loaded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

import cases
import registry
from domain import (
    Severity,
)
from tests.factories import COMPOUND, ELDER_FLAT, compound_file

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
Conn = psycopg.Connection[tuple[object, ...]]


@dataclass
class FakeClock:
    at: datetime = T0

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


@dataclass
class RecordingPublisher:
    sent: list[tuple[str, bytes]] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes) -> None:
        self.sent.append((topic, payload))

    @property
    def topics(self) -> list[str]:
        return [t for t, _ in self.sent]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def workflow(clock: FakeClock, publisher: RecordingPublisher) -> cases.Workflow:
    return cases.Workflow(clock=clock, publisher=publisher)


@pytest.fixture
def cases_db(schema_url: str) -> str:
    """A database with the full registry of the test compound loaded."""
    with psycopg.connect(schema_url, autocommit=True) as conn:
        registry.load(conn, compound_file(), actor="test:setup", now=T0)
    return schema_url


@pytest.fixture
def cc(cases_db: str) -> Iterator[Conn]:
    with psycopg.connect(cases_db, autocommit=True) as conn:
        yield conn


def sos(n: int = 0, *, at: datetime = T0, fingerprint: str = "sos:sos-1") -> cases.AlarmNotice:
    """An SOS alarm of sos-1 (pressed `n` times before)."""
    return cases.AlarmNotice(
        fingerprint=fingerprint,
        rule_id="sos",
        title="SOS button pressed",
        severity=Severity.CRITICAL,
        category="sos",
        compound=COMPOUND,
        device_id="sos-1",
        flat=ELDER_FLAT,
        values={"press": n},
        opened_at=at,
    )


def report(category: str = "repair", location: str | None = "1-1-101") -> cases.Report:
    return cases.Report(
        compound=COMPOUND,
        category=category,
        description="The stairwell light on floor 2 is out",
        reporter="r-1",
        location=location,
    )
