"""Organisations from a compound file: a generated district's property companies, care
centres, committees and subdistrict office, their compounds through the parties, the
subdistrict above its communities; loading the same file twice changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

import registry
from domain import CompoundFile, Organisation
from simulators import CompoundSize, generate_compound

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
Conn = psycopg.Connection[tuple[object, ...]]


@pytest.fixture
def district(conn: Conn) -> CompoundFile:
    made = generate_compound(
        size=CompoundSize(compounds=12, buildings=2, units_per_building=1, floors=2)
    )
    registry.load(conn, made, actor="test:setup", now=T0)
    return made


def test_a_generated_district_is_split_among_its_organisations(
    conn: Conn, district: CompoundFile
) -> None:
    ids = [c.id for c in district.compounds]
    found = {o.id: o for o in registry.organisations(conn)}
    assert found["property-001"].compounds == tuple(ids[:10])
    assert found["property-002"].compounds == tuple(ids[10:])
    assert found["community-002"].parent == "subdistrict-01"
    assert found["care-003"].kind == "elderly_care_centre"
    assert registry.served_compounds(conn, "community-002") == frozenset(ids[5:10])
    assert registry.served_compounds(conn, "subdistrict-01") == frozenset(ids)  # through them
    assert registry.served_compounds(conn, registry.PLATFORM) is None
    assert registry.served_compounds(conn, "nobody") == frozenset()
    parties = conn.execute(
        "SELECT organisation_id FROM parties WHERE compound_id = %s AND kind = 'property_company'",
        (ids[11],),
    ).fetchall()
    assert parties == [("property-002",)]

    before = conn.execute("SELECT count(*) FROM registry_changes").fetchone()
    again = registry.load(conn, district, actor="test", now=T0 + timedelta(days=1))
    assert again == registry.RegistryLoad(compounds=12, added=0, changed=0, removed=0)
    assert conn.execute("SELECT count(*) FROM registry_changes").fetchone() == before


def test_an_organisation_cannot_stand_under_itself_nor_name_an_unknown_parent(
    conn: Conn, district: CompoundFile
) -> None:
    office = Organisation(
        id="subdistrict-01", name="S", kind="subdistrict_office", parent="community-001"
    )
    with pytest.raises(registry.ValueRefused, match="lies under"):
        registry.put_organisation(conn, office, actor="t", now=T0)
    stray = Organisation(id="x", name="X", kind="social_organisation", parent="nowhere")
    with pytest.raises(registry.NotRegistered, match="nowhere"):
        registry.put_organisation(conn, stray, actor="t", now=T0)
    unknown = Organisation(id="y", name="Y", kind="social_organisation", compounds=["C999"])
    with pytest.raises(registry.NotRegistered, match="C999"):
        registry.put_organisation(conn, unknown, actor="t", now=T0)
    assert registry.organisation(conn, "y") is None  # nothing of it stayed
    renamed = Organisation(id="care-001", name="Red stewards", kind="social_organisation")
    found, created = registry.put_organisation(conn, renamed, actor="t", now=T0, compounds=False)
    assert (found.name, found.kind, created) == ("Red stewards", "social_organisation", False)
    assert found.compounds  # its links kept
    log = registry.organisation_changes(conn)
    assert [(c.key, c.change, c.actor) for c in log][-1] == ("care-001", "changed", "t")
