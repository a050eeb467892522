"""Generated compounds: deterministic, shaped like DOMAIN.md's reference compound."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

import domain
from domain import HouseholdTag, Kind, PartyKind, StaffRole
from registry import CompoundFileError, read_compound_file, write_compound_file
from simulators import (
    CompoundSize,
    Place,
    Shares,
    generate_compound,
)

AS_OF = 2025


@pytest.fixture(scope="module")
def reference() -> domain.Compound:
    return generate_compound(seed=11).compounds[0]


def _share(households: list[domain.Household], tag: HouseholdTag) -> float:
    return sum(tag in h.tags for h in households) / len(households)


def test_same_seed_same_file_other_seed_other_file() -> None:
    assert generate_compound(seed=5) == generate_compound(seed=5)
    assert generate_compound(seed=5) != generate_compound(seed=6)


def test_reference_sizes(reference: domain.Compound) -> None:
    assert reference.parking_spaces == 520
    assert len(reference.buildings) == 16
    assert len(reference.households) == 16 * 3 * 6 * 2
    assert (reference.lat, reference.lon, reference.timezone) == (30.27, 120.16, "Asia/Shanghai")


def test_shares_are_near_the_defaults(reference: domain.Compound) -> None:
    shares = Shares()
    residents = [r for h in reference.households for r in h.residents]
    aged = sum(AS_OF - (r.birth_year or AS_OF) >= 60 for r in residents) / len(residents)
    assert aged == pytest.approx(shares.aged_60_plus, abs=0.005)
    households = reference.households
    assert _share(households, HouseholdTag.RENTED) == pytest.approx(shares.rented, abs=0.005)
    assert _share(households, HouseholdTag.VACANT) == pytest.approx(shares.vacant, abs=0.005)
    empty_nest = _share(households, HouseholdTag.EMPTY_NEST)
    assert empty_nest == pytest.approx(shares.empty_nest, abs=0.005)
    occupied = [h for h in households if h.residents]
    for tag, share in (
        (HouseholdTag.DISABLED, shares.disabled),
        (HouseholdTag.HARDSHIP, shares.hardship),
        (HouseholdTag.PARTY_MEMBER, shares.party_member),
    ):
        assert _share(occupied, tag) == pytest.approx(share, abs=0.005)


def test_tags_agree_with_the_residents(reference: domain.Compound) -> None:
    for household in reference.households:
        ages = [AS_OF - (r.birth_year or AS_OF) for r in household.residents]
        assert (HouseholdTag.VACANT in household.tags) == (not ages)
        if HouseholdTag.EMPTY_NEST in household.tags:
            assert ages
            assert min(ages) >= 60
        assert (HouseholdTag.ELDERLY in household.tags) == any(a >= 80 for a in ages)


def test_addresses_are_standard(reference: domain.Compound) -> None:
    flats = {f"{b.id}-{u.id}-{f}" for b in reference.buildings for u in b.units for f in u.flats}
    assert {h.flat for h in reference.households} == flats
    assert "3-2-301" in flats
    assert all(re.fullmatch(r"\d+-\d+-\d{3,4}", flat) for flat in flats)


def test_every_cared_for_flat_has_a_care_kit(reference: domain.Compound) -> None:
    kits: dict[str, set[str]] = {}
    for device in reference.devices:
        if device.kind is Kind.ELDER:
            assert device.address is not None
            kits.setdefault(device.address, set()).add(device.model)
    cared = {
        h.flat
        for h in reference.households
        if {HouseholdTag.ELDERLY, HouseholdTag.EMPTY_NEST} & set(h.tags)
    }
    assert set(kits) == cared
    base = {"sos_pendant", "fall_detector", "door_sensor", "motion_sensor"}
    assert all(base <= models <= base | {"wearable"} for models in kits.values())
    wearables = sum("wearable" in models for models in kits.values()) / len(kits)
    assert 0.2 < wearables < 0.5
    assert kits["3-2-301"] == base | {"wearable"}  # the example scenario's resident


def test_gates_barriers_and_lights(reference: domain.Compound) -> None:
    by_kind = Counter(d.kind for d in reference.devices)
    assert by_kind[Kind.GATE] == 2 + 16 * 3  # two entrances and every stairwell door
    assert by_kind[Kind.BARRIER] == 2
    assert by_kind[Kind.LIGHT] > 50
    lights = [d for d in reference.devices if d.kind is Kind.LIGHT]
    assert all(d.x is not None and d.y is not None for d in lights)
    assert any(d.id == "C001-L-017" for d in lights)


def test_governance(reference: domain.Compound) -> None:
    kinds = {p.kind for p in reference.parties}
    assert kinds == set(PartyKind)
    staff = {s.id: s for s in reference.staff}
    assert {s.role for s in staff.values()} >= {
        StaffRole.ADMIN,
        StaffRole.PROPERTY_STAFF,
        StaffRole.GRID_WORKER,
        StaffRole.CARE_RESPONDER,
    }
    covered = [b for grid in reference.grids for b in grid.buildings]
    assert sorted(covered, key=int) == [b.id for b in reference.buildings]
    for grid in reference.grids:  # "1 + 1 + N"
        assert grid.team.cadre in staff
        assert grid.team.community_worker in staff
        assert len(grid.team.volunteers) == 3
        assert all(v in staff for v in grid.team.volunteers)


def test_residents_are_pseudonymous_and_placeholders_are_obvious(
    reference: domain.Compound,
) -> None:
    residents = [r for h in reference.households for r in h.residents]
    assert len({r.ref for r in residents}) == len(residents)
    for resident in residents:
        assert re.fullmatch(r"p[0-9a-f]{16}", resident.ref)
        if resident.contact is not None:
            assert "PLACEHOLDER" in resident.contact
            assert "fake" in resident.contact


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    compounds = generate_compound(seed=2, size=CompoundSize(compounds=2, buildings=3))
    path = tmp_path / f"compound{suffix}"
    write_compound_file(path, compounds)
    assert read_compound_file(path) == compounds


def test_bad_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CompoundFileError, match="extension"):
        write_compound_file(tmp_path / "x.txt", generate_compound(size=CompoundSize(buildings=1)))
    broken = tmp_path / "broken.yaml"
    broken.write_text("format: dayuan.compound/1\ncompounds:\n- id: C1\n  name: x\n")
    with pytest.raises(CompoundFileError, match=r"compounds\.0\.lat"):
        read_compound_file(broken)
    with pytest.raises(CompoundFileError, match="cannot read"):
        read_compound_file(tmp_path / "missing.json")


def test_a_district_has_distinct_compounds_in_distinct_places() -> None:
    district = generate_compound(seed=1, size=CompoundSize(compounds=100))
    assert len(district.compounds) == 100
    assert len({c.id for c in district.compounds}) == 100
    assert len({(c.lat, c.lon) for c in district.compounds}) == 100


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="buildings"):
        CompoundSize(buildings=0)
    with pytest.raises(ValueError, match="share"):
        Shares(vacant=1.5)


def test_a_place_must_exist() -> None:
    with pytest.raises(ValueError, match="timezone"):
        Place(timezone="Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="Earth"):
        Place(lat=95.0)
