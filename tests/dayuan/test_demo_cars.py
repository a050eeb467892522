"""`dayuan up` registers the simulated lot's resident cars with the demo households, so
that the unknown-plate overstay rule (on by default) raises for visitors, not for every
resident's car parked overnight."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

import registry
import simulators
from dayuan._up import SIM_SEED, _register_cars
from domain import parse_plate
from tests.factories import small_generated_compound


def test_the_demo_households_register_the_simulated_cars(
    conn: psycopg.Connection[Any],
) -> None:
    demo = small_generated_compound()
    now = datetime.now(UTC)
    registry.load(conn, demo, actor="test", now=now)
    _register_cars(conn, demo, now=now)
    known = registry.known_plates(conn)
    cars = simulators.resident_cars(demo, seed=SIM_SEED)
    assert cars, "the small compound has a car park"
    assert all(parse_plate(plate) == plate for _, plate in cars)  # the simulator's are valid
    assert all(known.resident(c, plate) for c, plate in cars)
    before = len(registry.vehicles(conn, demo.compounds[0].id))
    _register_cars(conn, demo, now=now)  # a restart adds nothing
    assert len(registry.vehicles(conn, demo.compounds[0].id)) == before
