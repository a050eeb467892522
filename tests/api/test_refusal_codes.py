"""The refusals of case transitions and care routes carry a stable machine `code` and
its `params` beside `detail` (unchanged), so that the dashboard can say them in the
reader's language; the OpenAPI document's `Error` says so."""

from __future__ import annotations

import httpx

V1 = "/api/v1"
H = dict[str, dict[str, str]]
REPAIR = {
    "compound": "c1",
    "category": "repair",
    "description": "Broken stairwell door",
    "reporter": "r-1",
    "location": "1-1-101",
}


def test_a_refused_transition_names_its_code(client: httpx.Client, headers: H) -> None:
    admin = headers["admin"]
    case = client.post(f"{V1}/cases", json=REPAIR, headers=admin).json()
    closed = client.post(
        f"{V1}/cases/{case['id']}/close", json={"version": case["version"]}, headers=admin
    )
    assert closed.status_code == 409, closed.text
    assert closed.json() == {
        "detail": f"case {case['id']} is dispatched: close is not allowed in that state",
        "code": "case.illegal_transition",
        "params": {"case_id": case["id"], "state": "dispatched", "transition": "closed"},
    }
    body = {"version": case["version"], "party": "p-property", "reason": "wrong party"}
    moved = client.post(f"{V1}/cases/{case['id']}/transfer", json=body, headers=admin)
    assert moved.status_code == 422, moved.text
    assert moved.json()["detail"] == f"party: case {case['id']} is with p-property already"
    assert moved.json()["code"] == "case.party_already"
    assert moved.json()["params"] == {
        "field": "party",
        "case_id": case["id"],
        "party": "p-property",
    }
    hidden = client.get(f"{V1}/cases/{case['id']}", headers=headers["grid_worker"])  # g1's
    assert hidden.status_code == 404, hidden.text
    assert (hidden.json()["code"], hidden.json()["params"]) == (
        "case.not_found",
        {"case_id": case["id"]},
    )
    stale = client.post(
        f"{V1}/cases/{case['id']}/acknowledge", json={"version": case["version"] + 5}, headers=admin
    ).json()
    assert (stale["code"], stale["current_version"]) == ("case.version_conflict", case["version"])


def test_care_refusals_name_their_code(client: httpx.Client, headers: H) -> None:
    plan = {"compound": "c1", "tag": "empty_nest", "visitor": "s-care", "interval_days": 7}
    nowhere = client.post(
        f"{V1}/care/plans", json=plan | {"flat": "3-1-999"}, headers=headers["admin"]
    )
    assert nowhere.status_code == 422
    assert nowhere.json() == {
        "detail": "flat: c1 has no household at 3-1-999",
        "code": "care.no_household",
        "params": {"field": "flat", "compound": "c1", "flat": "3-1-999"},
    }
    outside = client.post(
        f"{V1}/care/plans", json=plan | {"flat": "1-1-101"}, headers=headers["grid_worker"]
    )
    assert outside.status_code == 403
    assert outside.json() == {
        "detail": "1-1-101 is outside your grids",
        "code": "care.outside_grids",
        "params": {"where": "1-1-101"},
    }
    missing = client.post(f"{V1}/care/plans/c1/999/end", headers=headers["admin"])
    assert missing.status_code == 404, missing.text
    assert (missing.json()["code"], missing.json()["params"]) == (
        "care.not_found",
        {"what": "plan", "item_id": 999},
    )


def test_the_error_schema_documents_the_code(client: httpx.Client) -> None:
    error = client.get("/openapi.json").json()["components"]["schemas"]["Error"]
    assert error["required"] == ["detail"]
    assert {"detail", "code", "params"} <= set(error["properties"])
