"""Maintaining the registry through the API: household tags, residents moving in and out,
their contact and health details, staff; each change in `registry_changes` with the
acting user and the time of the app's clock (the role matrix is in test_authorization)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.api.conftest import PASSWORD, Conn, FakeClock, bearer, login

H = dict[str, str]
V1 = "/api/v1"
AHEAD = timedelta(hours=2)  # the app's clock runs ahead: `at` must come from it


def _changes(conn: Conn, entity: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT actor, key, change, before, after, at FROM registry_changes"
        " WHERE entity = %s AND actor <> 'test:setup' ORDER BY id",
        (entity,),
    ).fetchall()


def _ahead(clock: FakeClock) -> datetime:
    clock.advance(seconds=AHEAD.total_seconds())
    return datetime.now(UTC) + AHEAD - timedelta(minutes=1)


def test_household_tags_by_admin_anywhere_and_by_grid_workers_in_their_grids(
    client: httpx.Client, headers: dict[str, H], conn: Conn, clock: FakeClock
) -> None:
    after = _ahead(clock)
    worker, admin = headers["grid_worker"], headers["admin"]
    set_tags = f"{V1}/households/c1/3-2-301"
    done = client.patch(set_tags, json={"tags": ["vacant", "elderly", "vacant"]}, headers=worker)
    assert done.status_code == 200, done.text
    assert done.json() == {"compound": "c1", "flat": "3-2-301", "tags": ["elderly", "vacant"]}
    again = client.patch(set_tags, json={"tags": ["elderly", "vacant"]}, headers=worker)
    assert again.status_code == 200  # the same tags: nothing changes, nothing is logged
    outside = client.patch(f"{V1}/households/c1/1-1-101", json={"tags": []}, headers=worker)
    assert outside.status_code == 403
    assert "outside your grids" in outside.json()["detail"]
    assert client.patch(f"{V1}/households/c1/1-1-101", json={"tags": []}, headers=admin).is_success
    nobody = client.patch(f"{V1}/households/c1/1-2-101", json={"tags": []}, headers=admin)
    assert nobody.status_code == 404
    assert "no household at 1-2-101" in nobody.json()["detail"]
    for bad in ({"tags": ["purple"]}, {"tags": []} | {"extra": 1}, {}, {"tags": ["vacant"] * 8}):
        refused = client.patch(set_tags, json=bad, headers=admin)
        assert refused.status_code == 422, bad
    not_a_flat = client.patch(f"{V1}/households/c1/3-2", json={"tags": []}, headers=admin)
    assert not_a_flat.status_code == 422  # a unit, not a building-unit-flat address

    logged = _changes(conn, "households")
    assert [(a, k, c, b, af) for a, k, c, b, af, _ in logged] == [
        (
            "u-grid_worker",
            "3-2-301",
            "changed",
            {"flat": "3-2-301", "tags": ["elderly", "empty_nest"]},
            {"flat": "3-2-301", "tags": ["elderly", "vacant"]},
        ),
        (
            "admin",
            "1-1-101",
            "changed",
            {"flat": "1-1-101", "tags": ["rented"]},
            {"flat": "1-1-101", "tags": []},
        ),
    ]
    assert all(at >= after for *_, at in logged)
    listed = client.get(f"{V1}/households", params={"tag": "vacant"}, headers=admin).json()
    assert [h["flat"] for h in listed["data"]] == ["3-2-301"]


def test_resident_details_are_written_by_care_roles_audited_and_logged_without_values(
    client: httpx.Client, headers: dict[str, H], conn: Conn, clock: FakeClock
) -> None:
    after = _ahead(clock)
    care = {**headers["care_responder"], "X-Purpose": "new phone after SOS case 7"}
    url = f"{V1}/residents/c1/r-elder/details"
    written = client.put(url, json={"contact": "139-1111-2222"}, headers=care)
    assert written.status_code == 200, written.text
    assert written.json() == {
        "compound": "c1",
        "ref": "r-elder",
        "flat": "3-2-301",
        "birth_year": 1938,
        "lives_alone": True,
        "contact": "139-1111-2222",
        "health_notes": None,  # left out: cleared
    }
    read = client.get(url, headers=headers["admin"]).json()
    assert (read["contact"], read["health_notes"]) == ("139-1111-2222", None)
    # r-1 had no details: a row is added; both None removes it again.
    first = client.put(
        f"{V1}/residents/c1/r-1/details", json={"health_notes": "asthma"}, headers=care
    )
    assert first.status_code == 200
    cleared = client.put(f"{V1}/residents/c1/r-1/details", json={}, headers=headers["admin"])
    assert cleared.status_code == 200
    assert conn.execute("SELECT count(*) FROM resident_details WHERE ref = 'r-1'").fetchone() == (
        0,
    )

    logged = _changes(conn, "resident_details")
    assert [(a, k, c, b, af) for a, k, c, b, af, _ in logged] == [
        (
            "u-care_responder",
            "r-elder",
            "changed",
            {"changed_fields": ["contact", "health_notes"]},
            {"changed_fields": ["contact", "health_notes"]},
        ),
        ("u-care_responder", "r-1", "added", None, {"changed_fields": ["health_notes", "ref"]}),
        ("admin", "r-1", "removed", {"changed_fields": ["health_notes", "ref"]}, None),
    ]
    assert all(at >= after for *_, at in logged)
    everything = json.dumps([list(r[:5]) for r in _changes(conn, "resident_details")])
    assert "139-1111" not in everything
    assert "asthma" not in everything

    audit = conn.execute(
        "SELECT actor, subject, reason, detail, at FROM api_audit"
        " WHERE action = 'write_resident_details' ORDER BY id"
    ).fetchall()
    assert [a[:4] for a in audit] == [
        ("u-care_responder", "c1/r-elder", "new phone after SOS case 7", {"fields": ["contact"]}),
        ("u-care_responder", "c1/r-1", "new phone after SOS case 7", {"fields": ["health_notes"]}),
        ("admin", "c1/r-1", None, {"fields": []}),
    ]
    assert all(a[4] >= after for a in audit)

    for who in ("grid_worker", "property_staff", "viewer"):
        assert client.put(url, json={}, headers=headers[who]).status_code == 403
    missing = client.put(f"{V1}/residents/c1/r-nobody/details", json={}, headers=care)
    assert missing.status_code == 404
    for bad in (
        {"contact": ""},
        {"contact": "x" * 201},
        {"health_notes": "x" * 2001},
        {"phone": "1"},
        {"health_notes": "nul\x00byte"},
    ):
        refused = client.put(url, json=bad, headers=care)
        assert 400 <= refused.status_code < 500, (bad, refused.status_code)
    read = client.get(url, headers=headers["admin"]).json()
    assert read["contact"] == "139-1111-2222"  # nothing of a refused write remains


def test_residents_move_in_and_out_within_the_grid_workers_grids(
    client: httpx.Client, headers: dict[str, H], conn: Conn, clock: FakeClock
) -> None:
    after = _ahead(clock)
    worker, admin = headers["grid_worker"], headers["admin"]
    newcomer = {"compound": "c1", "ref": "r-new", "flat": "3-1-101", "birth_year": 1950}
    moved_in = client.post(f"{V1}/residents", json=newcomer, headers=worker)
    assert moved_in.status_code == 201, moved_in.text
    assert moved_in.json() == {**newcomer, "lives_alone": False}
    twice = client.post(f"{V1}/residents", json={**newcomer, "flat": "3-2-301"}, headers=worker)
    assert twice.status_code == 409
    assert "already registered at 3-1-101" in twice.json()["detail"]
    elsewhere = client.post(f"{V1}/residents", json={**newcomer, "flat": "1-1-101"}, headers=worker)
    assert elsewhere.status_code == 403
    nowhere = client.post(f"{V1}/residents", json={**newcomer, "flat": "3-9-999"}, headers=worker)
    assert nowhere.status_code == 422
    assert "no flat 3-9-999" in nowhere.json()["detail"]
    for bad in (
        {**newcomer, "flat": "3-1"},
        {**newcomer, "birth_year": 1800},
        {**newcomer, "ref": "a b"},
        {**newcomer, "contact": "138"},  # details go through PUT .../details only
        {"compound": "c1", "ref": "r-x"},
    ):
        assert client.post(f"{V1}/residents", json=bad, headers=admin).status_code == 422, bad
    households = client.get(f"{V1}/households", headers=admin).json()["data"]
    assert {"compound": "c1", "flat": "3-1-101", "tags": []} in households
    in_flat = client.get(f"{V1}/residents", params={"flat": "3-1-101"}, headers=worker).json()
    assert [r["ref"] for r in in_flat["data"]] == ["r-new"]

    assert client.delete(f"{V1}/residents/c1/r-1", headers=worker).status_code == 404  # grid g1
    assert client.delete(f"{V1}/residents/c1/r-new", headers=worker).status_code == 204
    assert client.delete(f"{V1}/residents/c1/r-new", headers=worker).status_code == 404
    assert client.delete(f"{V1}/residents/c1/r-elder", headers=admin).status_code == 204
    gone = client.get(f"{V1}/residents/c1/r-elder/details", headers=admin)
    assert gone.status_code == 404
    assert conn.execute("SELECT count(*) FROM resident_details").fetchone() == (0,)

    residents = [(a, k, c) for a, k, c, *_ in _changes(conn, "residents")]
    assert residents == [
        ("u-grid_worker", "r-new", "added"),
        ("u-grid_worker", "r-new", "removed"),
        ("admin", "r-elder", "removed"),
    ]
    households_log = [(a, k, c, af) for a, k, c, _, af, _ in _changes(conn, "households")]
    assert households_log == [
        ("u-grid_worker", "3-1-101", "added", {"flat": "3-1-101", "tags": []})
    ]
    details = _changes(conn, "resident_details")
    assert [(a, k, c, b, af) for a, k, c, b, af, _ in details] == [
        (
            "admin",
            "r-elder",
            "removed",
            {"changed_fields": ["contact", "health_notes", "ref"]},
            None,
        )
    ]
    everything = conn.execute(
        "SELECT min(at) FROM registry_changes WHERE actor <> 'test:setup'"
    ).fetchone()
    assert everything is not None
    assert everything[0] >= after


def test_staff_are_created_and_updated_by_administrators(
    client: httpx.Client, headers: dict[str, H], conn: Conn, clock: FakeClock
) -> None:
    after = _ahead(clock)
    admin = headers["admin"]
    body = {"compound": "c1", "name": "Newcomer", "role": "grid_worker", "grids": ["g2", "g1"]}
    created = client.put(f"{V1}/staff/s-new", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json() == {
        "compound": "c1",
        "id": "s-new",
        "name": "Newcomer",
        "role": "grid_worker",
        "party": None,
        "grids": ["g1", "g2"],
    }
    changed = {**body, "role": "care_responder", "party": "p-care", "grids": ["g2"]}
    updated = client.put(f"{V1}/staff/s-new", json=changed, headers=admin)
    assert updated.status_code == 200, updated.text
    assert client.put(f"{V1}/staff/s-new", json=changed, headers=admin).status_code == 200
    listed = client.get(f"{V1}/staff", params={"role": "care_responder"}, headers=admin).json()
    assert {"compound": "c1", "id": "s-new", "name": "Newcomer", "role": "care_responder",
            "party": "p-care", "grids": ["g2"]} in listed["data"]  # fmt: skip

    for bad, detail in (
        ({**body, "party": "p-nobody"}, "no party p-nobody"),
        ({**body, "grids": ["g9"]}, "no grid g9"),
        ({**body, "compound": "c9"}, "no compound c9"),
        ({**body, "role": "mayor"}, None),
        ({**body, "name": ""}, None),
        ({**body, "name": "nul\x00byte"}, None),
        ({"name": "x", "role": "viewer"}, None),
    ):
        refused = client.put(f"{V1}/staff/s-new", json=bad, headers=admin)
        assert 400 <= refused.status_code < 500, (bad, refused.status_code)
        if detail:
            assert detail in refused.json()["detail"]
    for who in ("grid_worker", "care_responder", "property_staff", "viewer"):
        assert client.put(f"{V1}/staff/s-x", json=body, headers=headers[who]).status_code == 403

    staff = [(a, k, c, b, af) for a, k, c, b, af, _ in _changes(conn, "staff")]
    assert staff == [
        (
            "admin",
            "s-new",
            "added",
            None,
            {"id": "s-new", "name": "Newcomer", "role": "grid_worker", "party_id": None},
        ),
        (
            "admin",
            "s-new",
            "changed",
            {"id": "s-new", "name": "Newcomer", "role": "grid_worker", "party_id": None},
            {"id": "s-new", "name": "Newcomer", "role": "care_responder", "party_id": "p-care"},
        ),
    ]
    grids = [(k, c) for _, k, c, *_ in _changes(conn, "staff_grids")]
    assert grids == [("s-new/g1", "added"), ("s-new/g2", "added"), ("s-new/g1", "removed")]
    assert all(r[-1] >= after for r in _changes(conn, "staff") + _changes(conn, "staff_grids"))


def test_the_change_log_pages_and_is_scoped_and_audited(
    client: httpx.Client, headers: dict[str, H], conn: Conn
) -> None:
    admin, worker = headers["admin"], headers["grid_worker"]
    total = conn.execute("SELECT count(*) FROM registry_changes").fetchone()
    assert total is not None
    assert total[0] > 10
    url = f"{V1}/registry-changes"
    first = client.get(url, params={"compound": "c1", "limit": 10}, headers=admin).json()
    assert len(first["data"]) == 10
    assert first["data"][0]["actor"] == "test:setup"
    ids = [c["id"] for c in first["data"]]
    assert ids == sorted(ids)
    assert first["next_after_id"] == ids[-1]
    rest = client.get(
        url, params={"compound": "c1", "after_id": ids[-1], "limit": 500}, headers=admin
    ).json()
    assert len(rest["data"]) == total[0] - 10
    assert rest["data"][0]["id"] > ids[-1]
    # The grid worker (g2: building 3) gets the same log but the people of building 1.
    theirs = client.get(
        url, params={"compound": "c1", "after_id": ids[-1], "limit": 500}, headers=worker
    ).json()["data"]
    people = ("households", "flats", "residents", "resident_details")
    hidden = [c for c in rest["data"] if c not in theirs]
    assert hidden
    assert all(c["entity"] in people for c in hidden)
    assert all(c in rest["data"] for c in theirs)
    end = client.get(
        url, params={"compound": "c1", "after_id": rest["next_after_id"]}, headers=admin
    ).json()
    assert end == {"data": [], "next_after_id": rest["next_after_id"]}

    details = [c for c in first["data"] + rest["data"] if c["entity"] == "resident_details"]
    assert details
    assert all(
        c["after"] == {"changed_fields": ["contact", "health_notes", "ref"]} for c in details
    )
    assert client.get(url, params={"compound": "c9"}, headers=worker).status_code == 403
    assert client.get(url, params={"compound": "c9"}, headers=admin).json()["data"] == []
    for bad in ({}, {"compound": "c1", "limit": 0}, {"compound": "c1", "after_id": -1}):
        assert client.get(url, params=bad, headers=admin).status_code == 422, bad
    for who in ("care_responder", "property_staff", "viewer"):
        assert client.get(url, params={"compound": "c1"}, headers=headers[who]).status_code == 403
    audited = conn.execute(
        "SELECT actor FROM api_audit WHERE action = 'read_registry_changes' ORDER BY id"
    ).fetchall()
    assert audited == [("admin",), ("admin",), ("u-grid_worker",), ("admin",), ("admin",)]


def _user(client: httpx.Client, admin: H, username: str) -> dict[str, Any]:
    users = client.get(f"{V1}/users", headers=admin).json()["data"]
    [found] = [u for u in users if u["username"] == username]
    return dict(found)


def test_a_user_linked_to_a_staff_member_sees_what_the_registry_gives_them(
    client: httpx.Client, headers: dict[str, H], conn: Conn
) -> None:
    admin = headers["admin"]
    member = {"compound": "c1", "name": "Mover", "role": "grid_worker", "grids": ["g2"]}
    assert client.put(f"{V1}/staff/s-mover", json=member, headers=admin).status_code == 201
    user = {"username": "u-mover", "password": PASSWORD, "role": "grid_worker"}
    linked = client.post(f"{V1}/users", json=user | {"staff_id": "s-mover"}, headers=admin)
    assert linked.status_code == 201, linked.text
    assert linked.json()["grids"] == ["c1/g2"]
    assert linked.json()["staff_compound"] == "c1"
    mover = bearer(login(client, "u-mover", PASSWORD))

    def flats() -> list[str]:
        return [h["flat"] for h in client.get(f"{V1}/households", headers=mover).json()["data"]]

    assert flats() == ["3-2-301"]  # g2 is building 3
    moved = client.put(f"{V1}/staff/s-mover", json=member | {"grids": ["g1"]}, headers=admin)
    assert moved.status_code == 200
    assert flats() == ["1-1-101"]  # the same token, the registry's grid at once
    assert _user(client, admin, "u-mover")["grids"] == ["c1/g1"]

    for body, detail in (
        (user | {"username": "u-ghost", "staff_id": "s-nobody"}, "no staff member 's-nobody'"),
        (user | {"username": "u-both", "staff_id": "s-mover", "grids": ["c1/g2"]}, "registry"),
    ):
        refused = client.post(f"{V1}/users", json=body, headers=admin)
        assert refused.status_code == 422
        assert detail in refused.json()["detail"]
    edit = client.patch(f"{V1}/users/u-mover", json={"grids": ["c1/g2"]}, headers=admin)
    assert edit.status_code == 422

    conn.execute("DELETE FROM staff WHERE id = 's-mover'")  # gone from the registry
    assert client.get(f"{V1}/households", headers=mover).status_code == 401
    form = {"username": "u-mover", "password": PASSWORD}
    assert client.post(f"{V1}/auth/token", data=form).status_code == 401
    assert _user(client, admin, "u-mover")["active"] is False
