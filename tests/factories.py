"""The one test compound and the payload builders shared by the tests: `TEST_REGISTRY`
(c1's devices only, what every fresh database holds), `compound(**changes)` (c1 with its
whole registry; variants replace fields) and the MQTT payload helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

import simulators
from domain import (
    Building,
    Compound,
    CompoundFile,
    Device,
    Grid,
    GridTeam,
    Household,
    HouseholdTag,
    Kind,
    Party,
    PartyKind,
    Resident,
    Staff,
    StaffRole,
    Unit,
)

COMPOUND = "c1"
GATE, BARRIER, LIGHT, SOS, WEARABLE = "gate-1", "barrier-1", "light-1", "sos-1", "wear-1"

TEST_REGISTRY = CompoundFile(
    compounds=[
        Compound(
            id=COMPOUND,
            name="Test compound",
            lat=30.27,
            lon=120.16,
            devices=[
                Device(id=GATE, kind=Kind.GATE, model="face_gate", address="1"),
                Device(id=BARRIER, kind=Kind.BARRIER, model="plate_barrier"),
                Device(id=LIGHT, kind=Kind.LIGHT, model="led_light", x=10, y=20),
                Device(id=SOS, kind=Kind.ELDER, model="sos_pendant", address="3-2-301"),
                Device(
                    id=WEARABLE,
                    kind=Kind.ELDER,
                    model="wearable",
                    address="3-2-301",
                    heartbeat_s=60,
                ),
            ]
            + [Device(id=f"bench-{i}", kind=Kind.LIGHT, model="led_light") for i in range(16)],
        )
    ]
)


ELDER_FLAT = "3-2-301"  # where sos-1 and wear-1 hang; building 3 is grid g2
FLATS = ["101", "102", "201", "202", "301", "302"]


def compound(**changes: object) -> Compound:
    """The test compound c1 (the devices of TEST_REGISTRY) with its whole registry:
    buildings, households and residents, grids and their teams, parties, staff;
    `changes` replace fields."""
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


# Generated compounds, for the tests that play a simulator's traffic.
# Four buildings of two stairwells: small enough for a day in a second, big enough to have
# flat 3-2-301 and light L-017.
SMALL = simulators.CompoundSize(
    buildings=4, units_per_building=2, parking_spaces=80, lights=20, car_entrances=1
)


def generated_compound() -> CompoundFile:
    """The reference compound the simulators generate (seed 1): what `dayuan up` plays
    and the flows land."""
    return simulators.generate_compound(seed=1)


def small_generated_compound() -> CompoundFile:
    """A small generated compound (seed 7), for the simulator's own tests."""
    return simulators.generate_compound(seed=7, size=SMALL)


def topic(kind: str, device: str, channel: str, compound: str = COMPOUND) -> str:
    return f"dayuan/v1/{compound}/{kind}/{device}/{channel}"


def ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def now_ms(offset: timedelta = timedelta()) -> int:
    return ms(datetime.now(UTC) + offset)


def dumps(obj: object) -> bytes:
    return orjson.dumps(obj)
