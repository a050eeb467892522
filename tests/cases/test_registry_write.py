"""Maintaining the registry between loads: residents moving in and out, their details,
staff; every change logged with the actor and the given time, and the rows written the
way a load writes them (reloading the compound file undoes exactly the maintenance)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

import registry
from domain import HouseholdTag, StaffRole
from tests.cases.conftest import T0, Conn
from tests.factories import COMPOUND, ELDER_FLAT, compound_file

LATER = T0 + timedelta(days=3)


def _since_setup(conn: Conn) -> list[registry.RegistryChange]:
    row = conn.execute("SELECT max(id) FROM registry_changes WHERE actor = 'test:setup'")
    found = row.fetchone()
    assert found is not None
    return registry.registry_changes(conn, COMPOUND, after_id=int(found[0]))


def test_maintenance_is_logged_and_a_reload_undoes_exactly_it(cc: Conn) -> None:
    tags = registry.set_household_tags(
        cc, COMPOUND, ELDER_FLAT, [HouseholdTag.VACANT, HouseholdTag.VACANT], actor="a", now=LATER
    )
    assert tags == ["vacant"]
    registry.move_in(cc, COMPOUND, "r-new", "2-1-101", birth_year=1950, actor="a", now=LATER)
    details = registry.set_resident_details(
        cc,
        COMPOUND,
        "r-new",
        contact="137-0000-0000",
        health_notes=None,
        actor="a",
        role=StaffRole.CARE_RESPONDER,
        now=LATER,
    )
    assert details == registry.ResidentDetails("r-new", "2-1-101", "137-0000-0000", None)
    assert registry.move_out(cc, COMPOUND, "r-1", actor="a", now=LATER) == "1-1-101"
    assert registry.move_out(cc, COMPOUND, "r-1", actor="a", now=LATER) is None
    assert registry.put_staff(
        cc, COMPOUND, "s-new", name="N", role=StaffRole.VIEWER, grids=["g1"], actor="a", now=LATER
    )
    assert not registry.put_staff(
        cc, COMPOUND, "s-prop", name="Fixer", role=StaffRole.ADMIN, actor="a", now=LATER
    )

    log = _since_setup(cc)
    assert {(c.actor, c.at) for c in log} == {("a", LATER)}
    assert [(c.entity, c.key, c.change) for c in log] == [
        ("households", ELDER_FLAT, "changed"),
        ("households", "2-1-101", "added"),
        ("residents", "r-new", "added"),
        ("resident_details", "r-new", "added"),
        ("residents", "r-1", "removed"),
        ("staff", "s-new", "added"),
        ("staff_grids", "s-new/g1", "added"),
        ("staff", "s-prop", "changed"),
    ]
    assert "137-0000" not in json.dumps([(c.before, c.after) for c in log])
    assert log[3].after == {"changed_fields": ["contact", "ref"]}
    assert log[7].before == {"id": "s-prop", "name": "Fixer", "role": "property_staff",
                             "party_id": "p-property"}  # fmt: skip
    assert log[7].after == {"id": "s-prop", "name": "Fixer", "role": "admin", "party_id": None}

    undone = registry.load(cc, compound_file(), actor="b", now=LATER)
    # Households: 3-2-301 re-tagged, 1-1-101 back (emptied, not removed), 2-1-101 removed.
    assert undone == registry.RegistryLoad(compounds=1, added=1, changed=2, removed=5)
    again = registry.load(cc, compound_file(), actor="b", now=LATER)
    assert again == registry.RegistryLoad(compounds=1, added=0, changed=0, removed=0)


def test_refusals_name_the_field_and_change_nothing(cc: Conn) -> None:
    with pytest.raises(registry.NotRegistered, match="no flat 9-9-9"):
        registry.move_in(cc, COMPOUND, "r-new", "9-9-9", actor="a", now=LATER)
    with pytest.raises(registry.AlreadyRegistered, match="r-1 is already registered at 1-1-101"):
        registry.move_in(cc, COMPOUND, "r-1", ELDER_FLAT, actor="a", now=LATER)
    with pytest.raises(registry.AccessDenied, match="may not read or write the personal details"):
        registry.set_resident_details(
            cc,
            COMPOUND,
            "r-elder",
            contact=None,
            health_notes=None,
            actor="s-cadre2",
            role=StaffRole.GRID_WORKER,
            now=LATER,
        )
    none = registry.set_resident_details(
        cc,
        COMPOUND,
        "r-nobody",
        contact="1",
        health_notes=None,
        actor="a",
        role=StaffRole.ADMIN,
        now=LATER,
    )
    assert none is None
    for kwargs, match in (
        ({"party": "p-nobody"}, "party: no party p-nobody"),
        ({"grids": ["g1", "g9"]}, "grids: no grid g9"),
    ):
        with pytest.raises(registry.NotRegistered, match=match):
            registry.put_staff(
                cc, COMPOUND, "s-x", name="X", role=StaffRole.VIEWER, actor="a", now=LATER, **kwargs
            )
    with pytest.raises(registry.NotRegistered, match="compound: no compound c9"):
        registry.put_staff(cc, "c9", "s-x", name="X", role=StaffRole.VIEWER, actor="a", now=LATER)
    assert _since_setup(cc) == []


def test_what_maintenance_changes_is_the_registry_the_rules_read(cc: Conn) -> None:
    """The rules' picture (`registry.compounds`, refreshed every minute) follows the
    tables: a flat tagged vacant through the API is vacant to the inactivity rule, a
    resident moved in is in their household, without reloading the compound file."""
    registry.set_household_tags(
        cc, COMPOUND, ELDER_FLAT, [HouseholdTag.VACANT], actor="a", now=LATER
    )
    registry.move_in(cc, COMPOUND, "r-new", "2-1-101", birth_year=1950, actor="a", now=LATER)
    (found,) = [c for c in registry.compounds(cc) if c.id == COMPOUND]
    households = {h.flat: h for h in found.households}
    assert households[ELDER_FLAT].tags == [HouseholdTag.VACANT]
    assert [r.ref for r in households["2-1-101"].residents] == ["r-new"]
    assert all(
        r.health_notes is None and r.contact is None for h in found.households for r in h.residents
    )
    assert {g.id: g.buildings for g in found.grids} == {
        g.id: g.buildings for g in compound_file().compounds[0].grids
    }
    assert [b.id for b in found.buildings] == [b.id for b in compound_file().compounds[0].buildings]
