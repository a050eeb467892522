"""Maintaining the registry between loads: residents moving in and out, their details,
staff; every change logged with the actor and the given time, and the rows written the
way a load writes them (reloading the compound file undoes exactly the maintenance)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

import cases
from domain import HouseholdTag, StaffRole
from tests.cases.conftest import ELDER_FLAT, T0, Conn, registry
from tests.factories import COMPOUND

LATER = T0 + timedelta(days=3)


def _since_setup(conn: Conn) -> list[cases.RegistryChange]:
    row = conn.execute("SELECT max(id) FROM registry_changes WHERE actor = 'test:setup'")
    found = row.fetchone()
    assert found is not None
    return cases.registry_changes(conn, COMPOUND, after_id=int(found[0]))


def test_maintenance_is_logged_and_a_reload_undoes_exactly_it(cc: Conn) -> None:
    tags = cases.set_household_tags(
        cc, COMPOUND, ELDER_FLAT, [HouseholdTag.VACANT, HouseholdTag.VACANT], actor="a", now=LATER
    )
    assert tags == ["vacant"]
    cases.move_in(cc, COMPOUND, "r-new", "2-1-101", birth_year=1950, actor="a", now=LATER)
    details = cases.set_resident_details(
        cc,
        COMPOUND,
        "r-new",
        contact="137-0000-0000",
        health_notes=None,
        actor="a",
        role=StaffRole.CARE_RESPONDER,
        now=LATER,
    )
    assert details == cases.ResidentDetails("r-new", "2-1-101", "137-0000-0000", None)
    assert cases.move_out(cc, COMPOUND, "r-1", actor="a", now=LATER) == "1-1-101"
    assert cases.move_out(cc, COMPOUND, "r-1", actor="a", now=LATER) is None
    assert cases.put_staff(
        cc, COMPOUND, "s-new", name="N", role=StaffRole.VIEWER, grids=["g1"], actor="a", now=LATER
    )
    assert not cases.put_staff(
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

    undone = cases.load_full_registry(cc, registry(), actor="b", now=LATER)
    # Households: 3-2-301 re-tagged, 1-1-101 back (emptied, not removed), 2-1-101 removed.
    assert undone == cases.RegistryLoad(compounds=1, added=1, changed=2, removed=5)
    again = cases.load_full_registry(cc, registry(), actor="b", now=LATER)
    assert again == cases.RegistryLoad(compounds=1, added=0, changed=0, removed=0)


def test_refusals_name_the_field_and_change_nothing(cc: Conn) -> None:
    with pytest.raises(cases.InvalidRequest, match="no flat 9-9-9"):
        cases.move_in(cc, COMPOUND, "r-new", "9-9-9", actor="a", now=LATER)
    with pytest.raises(cases.AlreadyRegistered, match="r-1 is already registered at 1-1-101"):
        cases.move_in(cc, COMPOUND, "r-1", ELDER_FLAT, actor="a", now=LATER)
    with pytest.raises(cases.AccessDenied, match="may not read or write the personal details"):
        cases.set_resident_details(
            cc,
            COMPOUND,
            "r-elder",
            contact=None,
            health_notes=None,
            actor="s-cadre2",
            role=StaffRole.GRID_WORKER,
            now=LATER,
        )
    none = cases.set_resident_details(
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
        with pytest.raises(cases.InvalidRequest, match=match):
            cases.put_staff(
                cc, COMPOUND, "s-x", name="X", role=StaffRole.VIEWER, actor="a", now=LATER, **kwargs
            )
    with pytest.raises(cases.InvalidRequest, match="compound: no compound c9"):
        cases.put_staff(cc, "c9", "s-x", name="X", role=StaffRole.VIEWER, actor="a", now=LATER)
    assert _since_setup(cc) == []
