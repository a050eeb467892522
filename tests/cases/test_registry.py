"""The full registry: loaded from a compound file, diffed, logged, and read with care."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

import cases
import registry
from domain import Household, HouseholdTag, Resident, StaffRole
from tests.cases.conftest import T0, Conn, sos
from tests.factories import COMPOUND, ELDER_FLAT, compound, compound_file


def counts(conn: Conn) -> dict[str, int]:
    tables = [
        "buildings",
        "units",
        "flats",
        "households",
        "residents",
        "resident_details",
        "parties",
        "grids",
        "grid_buildings",
        "staff",
        "staff_grids",
        "grid_members",
    ]
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # type: ignore[index]


def test_a_compound_file_fills_every_table_and_reloading_changes_nothing(cc: Conn) -> None:
    assert counts(cc) == {
        "buildings": 3,
        "units": 6,
        "flats": 36,
        "households": 2,
        "residents": 2,
        "resident_details": 1,
        "parties": 5,
        "grids": 2,
        "grid_buildings": 3,
        "staff": 8,
        "staff_grids": 5,
        "grid_members": 5,
    }
    first = cc.execute("SELECT count(*), min(actor), min(at) FROM registry_changes").fetchone()
    devices = cc.execute("SELECT count(*) FROM devices").fetchone()
    assert devices is not None
    assert first == (sum(counts(cc).values()) + devices[0], "test:setup", T0)
    again = registry.load(cc, compound_file(), actor="s-admin", now=T0 + timedelta(days=1))
    assert again == registry.RegistryLoad(compounds=1, added=0, changed=0, removed=0)
    assert registry.grid_of(cc, COMPOUND, ELDER_FLAT) == "g2"
    assert registry.grid_of(cc, COMPOUND, "north gate") is None


def test_changes_are_logged_with_who_and_when_and_no_personal_data(cc: Conn) -> None:
    later = T0 + timedelta(days=1)
    households = [
        Household(
            flat=ELDER_FLAT,
            tags=[HouseholdTag.EMPTY_NEST, HouseholdTag.ELDERLY, HouseholdTag.DISABLED],
            residents=[
                Resident(
                    ref="r-elder",
                    birth_year=1938,
                    lives_alone=True,
                    contact="139-1111-1111",
                    health_notes="hypertension",
                )
            ],
        ),
    ]
    result = registry.load(cc, compound_file(households=households), actor="s-admin", now=later)
    assert result == registry.RegistryLoad(compounds=1, added=0, changed=2, removed=2)
    log = registry.registry_changes(cc, COMPOUND, after_id=_last_setup_id(cc))
    assert {(c.entity, c.key, c.change) for c in log} == {
        ("households", ELDER_FLAT, "changed"),
        ("resident_details", "r-elder", "changed"),
        ("residents", "r-1", "removed"),
        ("households", "1-1-101", "removed"),
    }
    assert {(c.actor, c.at) for c in log} == {("s-admin", later)}
    details = next(c for c in log if c.entity == "resident_details")
    assert details.before == details.after == {"changed_fields": ["contact"]}
    tags = next(c for c in log if c.key == ELDER_FLAT)
    assert tags.after == {"flat": ELDER_FLAT, "tags": ["disabled", "elderly", "empty_nest"]}


def _last_setup_id(conn: Conn) -> int:
    row = conn.execute("SELECT max(id) FROM registry_changes WHERE actor = 'test:setup'")
    return int(row.fetchone()[0])  # type: ignore[index]


def test_household_tags_are_maintained_with_a_log_entry(cc: Conn) -> None:
    registry.set_household_tags(
        cc, COMPOUND, "1-1-101", [HouseholdTag.VACANT], actor="s-worker1", now=T0
    )
    (entry,) = registry.registry_changes(cc, COMPOUND, after_id=_last_setup_id(cc))
    assert (entry.actor, entry.before, entry.after) == (
        "s-worker1",
        {"flat": "1-1-101", "tags": ["rented"]},
        {"flat": "1-1-101", "tags": ["vacant"]},
    )
    with pytest.raises(registry.NotRegistered, match="no household at 9-9-9"):
        registry.set_household_tags(cc, COMPOUND, "9-9-9", [], actor="s-worker1", now=T0)


def test_personal_details_are_for_care_roles_only_and_every_read_is_audited(cc: Conn) -> None:
    with pytest.raises(registry.AccessDenied, match="s-prop"):
        registry.read_resident_details(
            cc,
            COMPOUND,
            "r-elder",
            actor="s-prop",
            role=StaffRole.PROPERTY_STAFF,
            purpose="curious",
            now=T0,
        )
    details = registry.read_resident_details(
        cc,
        COMPOUND,
        "r-elder",
        actor="s-care",
        role=StaffRole.CARE_RESPONDER,
        purpose="SOS case 1",
        now=T0,
    )
    assert details == registry.ResidentDetails(
        "r-elder", ELDER_FLAT, "138-0000-0000", "hypertension"
    )
    reads = cc.execute("SELECT actor, role, ref, purpose FROM personal_data_reads").fetchall()
    assert reads == [("s-care", "care_responder", "r-elder", "SOS case 1")]


def test_a_dangling_reference_is_named(cc: Conn) -> None:
    stray = [Household(flat="9-9-999")]
    with pytest.raises(registry.RegistryLoadError, match="unregistered flat: 9-9-999"):
        registry.load(cc, compound_file(households=stray), actor="s-admin", now=T0)
    assert counts(cc)["households"] == 2  # nothing of the failed load remains


@pytest.mark.parametrize("storage_mode", ["timescaledb"], indirect=True)
def test_the_schema_and_the_loop_work_on_timescaledb(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        mode = conn.execute("SELECT DISTINCT mode FROM schema_versions").fetchone()
        assert mode == ("timescaledb",)
        registry.load(conn, compound_file(), actor="test", now=T0)
        workflow = cases.Workflow(clock=_Fixed())
        case = workflow.intake_alarm(conn, sos()).case
        assert case.grid_id == "g2"
        rows = cases.kpis(
            conn, since=T0, until=T0 + timedelta(days=1), by=cases.KpiDimension.COMPOUND
        )
        assert [(r.key, r.received) for r in rows] == [("c1", 1)]


class _Fixed:
    def now(self):  # type: ignore[no-untyped-def]
        return T0


def test_compound_fixture_is_consistent() -> None:
    assert compound().id == COMPOUND


def test_an_accounts_staff_member_is_read_by_compound_and_id(cc: Conn) -> None:
    """What the API's linked accounts take from the registry: a member's grids (none for
    a member without any), nobody for an id the compound does not list."""
    asked = {(COMPOUND, "s-cadre1"), (COMPOUND, "s-admin"), (COMPOUND, "s-gone")}
    found = registry.staff_grids_of(cc, asked | {("elsewhere", "s-cadre1")})
    assert found == {(COMPOUND, "s-cadre1"): ["g1"], (COMPOUND, "s-admin"): []}
    assert registry.staff_compounds(cc, "s-cadre1") == [COMPOUND]
    assert registry.staff_compounds(cc, "s-gone") == []
    grids = [(COMPOUND, "g1"), (COMPOUND, "g9"), ("elsewhere", "g1")]
    assert registry.existing_grids(cc, grids) == {(COMPOUND, "g1")}
