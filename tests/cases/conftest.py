"""Fixtures of the cases tests: a fuller compound, a clock to advance, a recording
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
    Building,
    Compound,
    CompoundFile,
    Grid,
    GridTeam,
    Household,
    HouseholdTag,
    Party,
    PartyKind,
    Resident,
    Severity,
    Staff,
    StaffRole,
    Unit,
)
from tests.factories import COMPOUND, TEST_REGISTRY

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
ELDER_FLAT = "3-2-301"  # where sos-1 and wear-1 hang (tests.factories)
FLATS = ["101", "102", "201", "202", "301", "302"]

Conn = psycopg.Connection[tuple[object, ...]]


def compound(**changes: object) -> Compound:
    """The test compound c1 with its whole registry; `changes` replace fields."""
    base = Compound(
        id=COMPOUND,
        name="Test compound",
        lat=30.27,
        lon=120.16,
        buildings=[
            Building(id=b, units=[Unit(id=u, flats=FLATS) for u in ("1", "2")])
            for b in ("1", "2", "3")
        ],
        households=[
            Household(
                flat=ELDER_FLAT,
                tags=[HouseholdTag.EMPTY_NEST, HouseholdTag.ELDERLY],
                residents=[
                    Resident(
                        ref="r-elder",
                        birth_year=1938,
                        lives_alone=True,
                        contact="138-0000-0000",
                        health_notes="hypertension",
                    )
                ],
            ),
            Household(flat="1-1-101", tags=[HouseholdTag.RENTED], residents=[Resident(ref="r-1")]),
        ],
        grids=[
            Grid(
                id="g1",
                buildings=["1", "2"],
                team=GridTeam(
                    cadre="s-cadre1", community_worker="s-worker1", volunteers=["s-vol1"]
                ),
            ),
            Grid(
                id="g2",
                buildings=["3"],
                team=GridTeam(cadre="s-cadre2", community_worker="s-worker2"),
            ),
        ],
        parties=[
            Party(id="p-property", kind=PartyKind.PROPERTY_COMPANY, name="Property company"),
            Party(id="p-rc", kind=PartyKind.RESIDENTS_COMMITTEE, name="Residents' committee"),
            Party(id="p-owners", kind=PartyKind.OWNERS_COMMITTEE, name="Owners' committee"),
            Party(id="p-care", kind=PartyKind.ELDERLY_CARE_CENTRE, name="Care centre"),
            Party(id="p-police", kind=PartyKind.COMMUNITY_POLICE, name="Community police"),
        ],
        staff=[
            Staff(id="s-admin", name="Admin", role=StaffRole.ADMIN, party="p-rc"),
            Staff(id="s-prop", name="Fixer", role=StaffRole.PROPERTY_STAFF, party="p-property"),
            Staff(id="s-care", name="Responder", role=StaffRole.CARE_RESPONDER, party="p-care"),
            *(
                Staff(id=s, name=s, role=StaffRole.GRID_WORKER, party="p-rc", grids=[g])
                for s, g in (
                    ("s-cadre1", "g1"),
                    ("s-worker1", "g1"),
                    ("s-vol1", "g1"),
                    ("s-cadre2", "g2"),
                    ("s-worker2", "g2"),
                )
            ),
        ],
        devices=TEST_REGISTRY.compounds[0].devices,
    )
    return base.model_copy(update=changes)


def compound_file(**changes: object) -> CompoundFile:
    return CompoundFile(compounds=[compound(**changes)])


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
