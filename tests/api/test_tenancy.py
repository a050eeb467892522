"""Two organisations side by side in one database (issue 20): every account of the
property company of c1, whatever its role, walks every GET route of the OpenAPI document
(and the detail routes of c2's own ids) and gets nothing of c2, whose grid, building,
flat and staff ids repeat c1's; its administrator manages only its own accounts and
cannot write into c2; a subdistrict office sees the compounds of the committees under
it; unlinking a compound takes it from the organisation's accounts at once.
"""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest

from tests.api.conftest import PASSWORD, ROLES, bearer, login
from tests.api.test_privacy import _detail_routes, _items, _list_routes, world

__all__ = ["world"]  # the fixture, from the privacy matrix: c1 and c2 with alarms and cases

V1 = "/api/v1"
H = dict[str, str]
Conn = psycopg.Connection[Any]
# What only c2 has: its devices' ids and its name.
C2_MARKS = ("c2-sos", "c2-light", "Other compound")


def _org(client: httpx.Client, admin: H, org: str, kind: str, **body: Any) -> None:
    put = client.put(
        f"{V1}/organisations/{org}", json={"name": org.upper(), "kind": kind, **body}, headers=admin
    )
    assert put.status_code == 200, put.text


def _account(client: httpx.Client, admin: H, name: str, role: str, org: str, **body: Any) -> H:
    made = client.post(
        f"{V1}/users",
        json={"username": name, "password": PASSWORD, "role": role, "organisation": org, **body},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    assert made.json()["organisation"] == org
    return bearer(login(client, name, PASSWORD))


@pytest.fixture
def tenants(client: httpx.Client, admin: H, world: dict[str, Any]) -> dict[str, H]:
    """prop-a serves c1, prop-b c2; care-a is c1's care centre; the subdistrict office
    stands above the committees of both. An account per role of prop-a (its care
    responder in care-a), and one of each other organisation."""
    _org(client, admin, "prop-a", "property_company", compounds=["c1"])
    _org(client, admin, "prop-b", "property_company", compounds=["c2"])
    _org(client, admin, "care-a", "elderly_care_centre", compounds=["c1"])
    _org(client, admin, "sub-1", "subdistrict_office")
    _org(client, admin, "comm-a", "residents_committee", parent="sub-1", compounds=["c1"])
    _org(client, admin, "comm-b", "residents_committee", parent="sub-1", compounds=["c2"])
    out: dict[str, H] = {}
    for role in ROLES:
        org = "care-a" if role == "care_responder" else "prop-a"
        grids = ["c1/g2"] if role == "grid_worker" else []
        out[role] = _account(client, admin, f"a-{role}", role, org, grids=grids)
    out["b-admin"] = _account(client, admin, "b-admin", "admin", "prop-b")
    out["sub-viewer"] = _account(client, admin, "sub-viewer", "viewer", "sub-1")
    out["comm-viewer"] = _account(client, admin, "comm-viewer", "viewer", "comm-a")
    return out


def _c2_routes(world: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """c2's own ids and c2 as every compound filter."""
    return [
        (f"{V1}/devices/c2-sos", {}),
        (f"{V1}/devices/c2-light", {}),
        (f"{V1}/compounds/c2", {}),
        (f"{V1}/compounds/c2/plan", {}),
        (f"{V1}/alarms/{world['alarms']['c2']}", {}),
        (f"{V1}/cases/{world['cases']['c2']}", {}),
    ]


def _leaks(response: httpx.Response) -> list[Any]:
    text = response.text
    found: list[Any] = [m for m in C2_MARKS if m in text]
    if response.headers["content-type"].startswith("application/json"):
        for item in _items(response.json()):
            if item.get("compound") == "c2" or item.get("compound_id") == "c2":
                found.append(item)
            if str(item.get("key", "")).startswith("c2/") or item.get("id") == "c2":
                found.append(item)
    return found


def test_no_route_shows_another_organisations_compound_to_any_role(
    client: httpx.Client, admin: H, world: dict[str, Any], tenants: dict[str, H]
) -> None:
    routes = list(_list_routes(client)) + _detail_routes(world)
    assert len(routes) > 20
    # The same walk as the platform's administrator does see c2: the marks are findable.
    seen = [p for p, q in routes if _leaks(client.get(p, params=q, headers=admin))]
    assert len(seen) >= 5, seen
    for role in ROLES:
        for path, query in [*routes, *[(p, {**q, "compound": "c2"}) for p, q in routes]]:
            response = client.get(path, params=query, headers=tenants[role])
            assert response.status_code < 500, (role, path, response.text)
            if response.status_code != 200:
                continue
            if not response.headers["content-type"].startswith(("application/json", "text/")):
                continue  # XLSX and PDF: their scope is the same reads' (test_exports)
            assert not _leaks(response), (role, path, query, response.text[:800])
        for path, query in _c2_routes(world):
            response = client.get(path, params=query, headers=tenants[role])
            assert response.status_code in (403, 404), (role, path, response.text[:300])


def test_an_organisations_administrator_manages_only_its_own_accounts(
    client: httpx.Client, admin: H, tenants: dict[str, H]
) -> None:
    a_admin = tenants["admin"]
    listed = client.get(f"{V1}/users", headers=a_admin).json()["data"]
    assert {u["organisation"] for u in listed} == {"prop-a"}
    assert "b-admin" not in {u["username"] for u in listed}
    everyone = client.get(f"{V1}/users", params={"limit": 500}, headers=admin).json()["data"]
    assert {"prop-a", "prop-b", "care-a", "platform"} <= {u["organisation"] for u in everyone}

    body = {"username": "a-new", "password": PASSWORD, "role": "viewer"}
    other = client.post(f"{V1}/users", json={**body, "organisation": "prop-b"}, headers=a_admin)
    assert other.status_code == 403
    assert "prop-b" in other.json()["detail"]
    grids = client.post(f"{V1}/users", json={**body, "grids": ["c2/g1"]}, headers=a_admin)
    assert grids.status_code == 403
    assert "does not serve c2" in grids.json()["detail"]
    mine = client.post(f"{V1}/users", json=body, headers=a_admin)
    assert mine.status_code == 201, mine.text
    assert mine.json()["organisation"] == "prop-a"  # the creator's own by default

    hidden = client.patch(f"{V1}/users/b-admin", json={"active": False}, headers=a_admin)
    assert hidden.status_code == 404
    assert client.get(f"{V1}/users/me", headers=tenants["b-admin"]).status_code == 200


def test_an_organisations_accounts_cannot_write_into_another_compound(
    client: httpx.Client, admin: H, world: dict[str, Any], tenants: dict[str, H]
) -> None:
    report = {"category": "noise", "description": "d", "reporter": "r", "location": "3-2-301"}
    for role in ("admin", "property_staff"):
        refused = client.post(
            f"{V1}/cases", json={**report, "compound": "c2"}, headers=tenants[role]
        )
        assert refused.status_code == 403, (role, refused.text)
        assert "c2" in refused.json()["detail"]
        acted = client.post(
            f"{V1}/cases/{world['cases']['c2']}/acknowledge",
            json={"version": 1},
            headers=tenants[role],
        )
        assert acted.status_code == 404, (role, acted.text)
    device = {"compound": "c2", "device": {"id": "x-new", "kind": "light", "model": "led"}}
    provisioned = client.post(f"{V1}/devices", json=device, headers=tenants["admin"])
    assert provisioned.status_code == 403, provisioned.text
    retired = client.delete(f"{V1}/devices/c2-light", headers=tenants["admin"])
    assert retired.status_code in (403, 404), retired.text
    org = client.put(
        f"{V1}/organisations/prop-a",
        json={"name": "A", "kind": "property_company", "compounds": ["c1", "c2"]},
        headers=tenants["admin"],
    )
    assert org.status_code == 403
    # Its own compound it writes into as before.
    mine = client.post(f"{V1}/cases", json={**report, "compound": "c1"}, headers=tenants["admin"])
    assert mine.status_code == 201, mine.text


def test_a_subdistrict_office_sees_the_compounds_of_the_committees_under_it(
    client: httpx.Client, admin: H, tenants: dict[str, H]
) -> None:
    def compounds(h: H) -> set[str]:
        return {c["id"] for c in client.get(f"{V1}/compounds", headers=h).json()["data"]}

    assert compounds(tenants["sub-viewer"]) == {"c1", "c2"}
    assert compounds(tenants["comm-viewer"]) == {"c1"}
    assert compounds(tenants["viewer"]) == {"c1"}
    orgs = client.get(f"{V1}/organisations", headers=tenants["sub-viewer"]).json()["data"]
    assert {o["id"] for o in orgs} == {"sub-1", "comm-a", "comm-b"}
    assert client.get(f"{V1}/organisations/prop-b", headers=tenants["viewer"]).status_code == 404

    cycle = client.put(
        f"{V1}/organisations/sub-1",
        json={"name": "S", "kind": "subdistrict_office", "parent": "comm-a"},
        headers=admin,
    )
    assert cycle.status_code == 422
    assert "lies under" in cycle.json()["detail"]


def test_unlinking_a_compound_takes_it_from_the_organisations_accounts_at_once(
    client: httpx.Client, admin: H, world: dict[str, Any], tenants: dict[str, H]
) -> None:
    viewer = tenants["viewer"]
    case = world["cases"]["c1"]
    assert client.get(f"{V1}/cases/{case}", headers=viewer).status_code == 200
    gone = client.delete(f"{V1}/organisations/prop-a/compounds/c1", headers=admin)
    assert gone.status_code == 200, gone.text
    assert gone.json()["compounds"] == []
    assert client.get(f"{V1}/cases/{case}", headers=viewer).status_code == 404
    assert client.get(f"{V1}/compounds", headers=viewer).json()["data"] == []
    log = client.get(
        f"{V1}/registry-changes", params={"compound": "c1", "limit": 500}, headers=admin
    ).json()
    links = [c for c in log["data"] if c["entity"] == "organisation_compounds"]
    assert [(c["key"], c["change"]) for c in links][-1] == ("prop-a", "removed")
    changes = client.get(f"{V1}/organisations/changes", headers=admin).json()["data"]
    assert {c["key"] for c in changes} >= {"prop-a", "prop-b", "sub-1"}


def _to_c2(text: str, world: dict[str, Any]) -> str:
    """A request of the authorization matrix (made for c1) aimed at c2 and its ids."""
    for a, b in (
        ('"c1"', '"c2"'),
        ("/c1/", "/c2/"),
        ("/c1?", "/c2?"),
        ("=c1", "=c2"),
        ('"c1/', '"c2/'),
        ("/light-1/", "/c2-light/"),
        ("/sos-1", "/c2-sos"),
        ("/cases/1/", f"/cases/{world['cases']['c2']}/"),
        ("/alarms/1", f"/alarms/{world['alarms']['c2']}"),
    ):
        text = text.replace(a, b)
    return text.removesuffix("/c1")


def test_no_write_of_the_authorization_matrix_reaches_another_organisations_compound(
    client: httpx.Client, admin: H, world: dict[str, Any], tenants: dict[str, H]
) -> None:
    """Every write route (made for c1 in test_authorization) aimed at c2, as each worker
    role of prop-a: refused, whatever it is (403, 404 or 422, never done)."""
    import json

    from tests.api.test_authorization import MATRIX

    # Not c2's: the organisations' own routes, creating an account of prop-a, c1's gate and
    # barrier (c2 has none).
    mine = ("/organisations", "/api/v1/users", "/barrier-1/", "/gate-1/")
    writes = [(m, p, b) for m, p, b, _ in MATRIX if m != "GET" and not any(x in p for x in mine)]
    assert len(writes) > 40
    done = []
    for role in ("admin", "property_staff", "grid_worker", "care_responder"):
        for method, path, body in writes:
            target = _to_c2(path, world)
            sent = None if body is None else json.loads(_to_c2(json.dumps(body), world))
            response = client.request(method, target, json=sent, headers=tenants[role])
            assert response.status_code < 500, (role, method, target, response.text)
            if response.status_code < 300:
                done.append((role, method, target, response.text[:200]))
    assert not done, "\n".join(f"{r} {m} {t}" for r, m, t, _ in done)
    # The same creations by the platform's administrator go through: c2 is a real target.
    for method, path, body in writes:
        if method == "POST" and path in ("/api/v1/cases", "/api/v1/announcements"):
            sent = json.loads(_to_c2(json.dumps(body), world))
            made = client.request(method, path, json=sent, headers=admin)
            assert made.status_code == 201, (path, made.text)
