"""The registry's structure through the API (issue 20): a new compound by the platform's
administrator, its buildings, units, flats and grids by an administrator of an
organisation serving it, each change in the compound's log; a flat with a household is
not removed, and another organisation's compound is not changed."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import PASSWORD, bearer, login

V1 = "/api/v1"
H = dict[str, str]
NEW = {"name": "Xincun 9", "lat": 30.25, "lon": 120.16, "parking_spaces": 80}
BUILDING = {
    "floors": 5,
    "units": [{"id": "1", "flats": ["101", "102"]}, {"id": "2", "flats": ["101"]}],
}


def _org_admin(client: httpx.Client, admin: H, org: str, compounds: list[str]) -> H:
    body = {"name": org, "kind": "property_company", "compounds": compounds}
    assert client.put(f"{V1}/organisations/{org}", json=body, headers=admin).status_code == 200
    user = {"username": f"{org}-admin", "password": PASSWORD, "role": "admin", "organisation": org}
    assert client.post(f"{V1}/users", json=user, headers=admin).status_code == 201
    return bearer(login(client, f"{org}-admin", PASSWORD))


def _log(client: httpx.Client, h: H, compound: str) -> list[tuple[Any, ...]]:
    found = client.get(
        f"{V1}/registry-changes", params={"compound": compound, "limit": 500}, headers=h
    )
    assert found.status_code == 200, found.text
    return [(c["entity"], c["key"], c["change"], c["actor"]) for c in found.json()["data"]]


def test_a_compound_is_built_up_through_the_api_and_logged(client: httpx.Client, admin: H) -> None:
    made = client.put(f"{V1}/compounds/c9", json=NEW, headers=admin)
    assert made.status_code == 201, made.text
    again = client.put(f"{V1}/compounds/c9", json=NEW, headers=admin)
    assert (again.status_code, again.json()["created"]) == (200, False)
    ours = _org_admin(client, admin, "prop-9", ["c9"])

    building = client.put(f"{V1}/compounds/c9/buildings/1", json=BUILDING, headers=ours)
    assert building.status_code == 201, building.text
    grid = client.put(f"{V1}/compounds/c9/grids/g1", json={"buildings": ["1"]}, headers=ours)
    assert grid.status_code == 201, grid.text
    renamed = client.put(f"{V1}/compounds/c9", json={**NEW, "name": "Xincun Nine"}, headers=ours)
    assert renamed.status_code == 200, renamed.text

    flats = client.get(f"{V1}/flats", params={"compound": "c9"}, headers=ours).json()["data"]
    assert sorted(f["address"] for f in flats) == ["1-1-101", "1-1-102", "1-2-101"]
    grids = client.get(f"{V1}/grids", params={"compound": "c9"}, headers=ours).json()["data"]
    assert [(g["id"], g["buildings"]) for g in grids] == [("g1", ["1"])]
    compound = client.get(f"{V1}/compounds/c9", headers=ours).json()
    assert compound["name"] == "Xincun Nine"
    log = _log(client, admin, "c9")
    assert ("compounds", "c9", "added", "admin") in log
    assert ("compounds", "c9", "changed", "prop-9-admin") in log
    assert ("flats", "1-2-101", "added", "prop-9-admin") in log
    assert ("grid_buildings", "1", "added", "prop-9-admin") in log
    assert ("organisation_compounds", "prop-9", "added", "admin") in log

    # A household at 1-1-102: the flat stays until it moves out.
    resident = {"compound": "c9", "ref": "r-9", "flat": "1-1-102", "birth_year": 1948}
    assert client.post(f"{V1}/residents", json=resident, headers=admin).status_code == 201
    fewer = {**BUILDING, "units": [{"id": "1", "flats": ["101"]}]}
    refused = client.put(f"{V1}/compounds/c9/buildings/1", json=fewer, headers=ours)
    assert refused.status_code == 422
    assert "1-1-102 of building 1 has a household" in refused.json()["detail"]
    still = client.get(f"{V1}/flats", params={"compound": "c9"}, headers=ours).json()["data"]
    assert len(still) == 3  # nothing of the refused change stayed


def test_structure_outside_the_organisation_is_refused(client: httpx.Client, admin: H) -> None:
    assert client.put(f"{V1}/compounds/c9", json=NEW, headers=admin).status_code == 201
    other = _org_admin(client, admin, "prop-1", ["c1"])
    new = client.put(f"{V1}/compounds/c8", json=NEW, headers=other)
    assert new.status_code == 403
    assert "platform" in new.json()["detail"]
    theirs = client.put(f"{V1}/compounds/c9/buildings/1", json=BUILDING, headers=other)
    assert theirs.status_code == 403
    assert "not one your organisation (prop-1) serves" in theirs.json()["detail"]
    unknown = client.put(f"{V1}/compounds/c1/grids/g1", json={"buildings": ["77"]}, headers=other)
    assert unknown.status_code == 422
    assert "no building 77" in unknown.json()["detail"]
    zone = client.put(f"{V1}/compounds/c9", json={**NEW, "timezone": "Mars/Base"}, headers=admin)
    assert zone.status_code == 422
