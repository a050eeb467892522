"""The unknown-plate overstay rule knows the compound's plates: a resident's car is
never an unknown vehicle, a pre-registered visitor overstays only past its window, and
the registry's vehicles reach the rules through `World.from_database`.

    t(h)        0          4        6
    stranger    in --------+ raise
    resident    in ---------------------- (never)
    visitor     in (pass until 6) ......... raise at 6, not at 4
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

import registry
from domain import CompoundFile, KnownPlates
from rules import World, load_rules
from tests.rules.harness import DAY, FLAT, WORLD, Harness, compound

RULE = "unknown_plate_overstay"
STRANGER, RESIDENT, VISITOR = "浙B11111", "浙A22222", "沪AD33333"


def _world(*, visitor_until: datetime) -> World:
    plates = KnownPlates.build(
        [("c1", RESIDENT)], [("c1", VISITOR, DAY - timedelta(hours=1), visitor_until)]
    )
    return WORLD.with_plates(plates)


def _in(h: Harness, plate: str) -> None:
    h.event("barrier-1", "plate", plate=plate, direction="in", confidence=0.95)


def test_the_rule_is_on_by_default_and_knows_the_registry() -> None:
    rule = next(r for r in load_rules().rules if r.id == RULE)
    assert rule.enabled
    assert getattr(rule, "exempt_known", False)


def test_only_the_stranger_overstays() -> None:
    h = Harness.of(RULE, world=_world(visitor_until=DAY + timedelta(hours=6)))
    for plate in (STRANGER, RESIDENT, VISITOR):
        _in(h, plate)
    h.tick(hours=4)
    assert [c.values["plate"] for c in h.opened(RULE)] == [STRANGER]
    h.tick(hours=1, minutes=59)
    assert len(h.opened(RULE)) == 1  # the visitor's pass still runs
    h.tick(minutes=1)
    assert [c.values["plate"] for c in h.opened(RULE)] == [STRANGER, VISITOR]


def test_a_car_registered_after_it_came_in_does_not_raise() -> None:
    h = Harness.of(RULE)
    _in(h, RESIDENT)
    h.tick(hours=1)
    h.evaluator.set_world(_world(visitor_until=DAY))
    h.tick(hours=4)
    assert h.opened(RULE) == []


def test_the_registry_vehicles_reach_the_world(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    now = datetime.now(UTC)
    registry.load(conn, CompoundFile(compounds=[compound()]), actor="test", now=now)
    registry.add_vehicle(conn, "c1", FLAT, "浙a·22222", actor="test", now=now)
    registry.register_visitor(
        conn,
        "c1",
        VISITOR,
        valid_from=now,
        valid_to=now + timedelta(hours=2),
        flat=None,
        actor="test",
        now=now,
    )
    plates = World.from_database(conn).plates
    assert plates.resident("c1", RESIDENT)
    assert plates.known("c1", VISITOR, now + timedelta(hours=1))
    assert not plates.known("c1", VISITOR, now + timedelta(hours=3))
    assert not plates.known("c1", STRANGER, now)
