"""Case handling through the API: transfer, re-dispatch, a co-handling party, assign,
claim, merge; each refusal a 4xx whose `detail` says why, declared in the route."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

import registry
from domain import CompoundFile, Party, PartyKind
from tests.api.conftest import PASSWORD, Conn, bearer, full_registry, login

H = dict[str, str]
V1 = "/api/v1"
ACTIONS = ("redispatch", "transfer", "add-party", "assign", "claim", "merge")


@pytest.fixture
def staff(client: httpx.Client, admin: H) -> dict[str, H]:
    """Accounts linked to registry staff: a property clerk (p-property), the cadres of
    grids g1 and g2, and the care responder (p-care)."""
    put = client.put(
        f"{V1}/staff/s-prop",
        json={"compound": "c1", "name": "Fixer", "role": "property_staff", "party": "p-property"},
        headers=admin,
    )
    assert put.status_code in (200, 201), put.text
    out = {}
    for name, role, staff_id in (
        ("u-prop", "property_staff", "s-prop"),
        ("u-cadre1", "grid_worker", "s-cadre1"),
        ("u-cadre2", "grid_worker", "s-cadre2"),
        ("u-care", "care_responder", "s-care"),
    ):
        body = {"username": name, "password": PASSWORD, "role": role, "staff_id": staff_id}
        created = client.post(f"{V1}/users", json=body, headers=admin)
        assert created.status_code == 201, created.text
        out[name] = bearer(login(client, name, PASSWORD))
    return out


def _report(client: httpx.Client, h: H, **changes: Any) -> dict[str, Any]:
    body = {
        "compound": "c1",
        "category": "repair",
        "description": "stairwell light out",
        "reporter": "r-1",
        "location": "1-1-101",  # building 1: grid g1
        **changes,
    }
    response = client.post(f"{V1}/cases", json=body, headers=h)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _post(client: httpx.Client, h: H, case: dict[str, Any], action: str, **body: Any) -> Any:
    return client.post(
        f"{V1}/cases/{case['id']}/{action}", json={"version": case["version"], **body}, headers=h
    )


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _refused(response: httpx.Response, code: int, reason: str) -> None:
    assert response.status_code == code, response.text
    assert reason in response.json()["detail"], response.text


def _closed(client: httpx.Client, h: H) -> dict[str, Any]:
    case = _report(client, h)
    for action, body in (("acknowledge", {}), ("start", {}), ("resolve", {"note": "ok"})):
        case = _ok(_post(client, h, case, action, **body))
    return _ok(_post(client, h, case, "close"))


def test_transfer_assign_claim_and_the_first_responsible(
    client: httpx.Client, admin: H, staff: dict[str, H]
) -> None:
    case = _report(client, admin)
    case = _ok(_post(client, staff["u-prop"], case, "acknowledge"))
    detail = client.get(f"{V1}/cases/{case['id']}", headers=admin).json()
    assert detail["first_responsible"] == "s-prop"
    assert set(ACTIONS) <= set(detail["allowed_actions"])

    _refused(
        _post(client, admin, case, "transfer", party="p-nowhere", reason="wrong desk"),
        422,
        "p-nowhere is not a party serving compound c1",
    )
    stale = {**case, "version": case["version"] - 1}
    _refused(_post(client, admin, stale, "transfer", party="p-rc", reason="r"), 409, "version")

    case = _ok(_post(client, admin, case, "add-party", party="p-care", note="an elder lives there"))
    case = _ok(_post(client, admin, case, "assign", staff_id="s-care"))
    _refused(
        _post(client, admin, case, "assign", staff_id="s-cadre2"),
        422,
        "s-cadre2 is of party (none), not of a party case",
    )
    _refused(_post(client, admin, case, "claim"), 422, "not linked to a registry staff member")
    case = _ok(_post(client, staff["u-cadre1"], case, "claim"))
    assert case["claimed_by"] == "s-cadre1"
    _refused(_post(client, staff["u-prop"], case, "claim"), 409, "already claimed by s-cadre1")

    case = _ok(
        _post(
            client,
            staff["u-prop"],
            case,
            "transfer",
            party="p-rc",
            reason="a neighbours' matter",
            from_kind="property_company",
        )
    )
    assert (case["state"], case["claimed_by"], case["first_responsible"]) == (
        "dispatched",
        None,
        "s-prop",
    )
    case = _ok(_post(client, admin, case, "redispatch", parties=["p-property"], reason="back"))
    detail = client.get(f"{V1}/cases/{case['id']}", headers=admin).json()
    assert [a["party_id"] for a in detail["assignments"]] == ["p-property"]
    transitions = [e["transition"] for e in detail["history"]]
    assert transitions[2:] == [
        "acknowledged",
        "party_added",
        "assigned",
        "claimed",
        "transferred",
        "redispatched",
    ]
    redispatched = detail["history"][-1]
    assert (redispatched["actor"], redispatched["detail"]["reason"]) == ("admin", "back")


def test_a_grid_worker_acts_only_within_their_grids(
    client: httpx.Client, admin: H, staff: dict[str, H]
) -> None:
    g1 = _report(client, admin)
    g2 = _report(client, admin, location="3-1-101")
    outside = staff["u-cadre2"]  # grid g2
    for action, body in (
        ("claim", {}),
        ("transfer", {"party": "p-rc", "reason": "r"}),
        ("assign", {"staff_id": "s-cadre2"}),
        ("add-party", {"party": "p-rc"}),
        ("merge", {"into": g2["id"], "note": "n"}),
    ):
        _refused(_post(client, outside, g1, action, **body), 404, "(or not yours)")
    # Merging their own grid's case into another grid's is refused for the other case.
    _refused(
        _post(client, outside, g2, "merge", into=g1["id"], note="same light"),
        404,
        f"case {g1['id']} does not exist (or not yours)",
    )
    claimed = _ok(_post(client, outside, g2, "claim"))
    assert claimed["claimed_by"] == "s-cadre2"


def test_merge_and_its_refusals(
    client: httpx.Client, admin: H, conn: Conn, staff: dict[str, H]
) -> None:
    c2 = (
        full_registry()
        .compounds[0]
        .model_copy(
            update={
                "id": "c2",
                "households": [],
                "grids": [],
                "devices": [],
                "staff": [],
                "parties": [Party(id="p-c2", kind=PartyKind.PROPERTY_COMPANY, name="Next door")],
            }
        )
    )
    registry.load(conn, CompoundFile(compounds=[c2]), actor="test", now=datetime.now(UTC))
    survivor = _report(client, admin)
    duplicate = _report(client, admin, description="the light on floor 2 again")
    elsewhere = _report(client, admin, compound="c2")
    closed = _closed(client, admin)

    _refused(
        _post(client, admin, duplicate, "merge", into=elsewhere["id"], note="n"),
        422,
        "merge only within a compound",
    )
    _refused(
        _post(client, admin, duplicate, "merge", into=closed["id"], note="n"),
        409,
        f"case {closed['id']} is closed: merge into is not allowed",
    )
    _refused(_post(client, staff["u-cadre1"], closed, "claim"), 409, "closed: claim is not allowed")
    _refused(
        _post(client, admin, duplicate, "merge", into=duplicate["id"], note="n"), 422, "itself"
    )

    merged = _ok(_post(client, admin, duplicate, "merge", into=survivor["id"], note="same light"))
    assert (merged["state"], merged["merged_into"]) == ("merged", survivor["id"])
    detail = client.get(f"{V1}/cases/{survivor['id']}", headers=admin).json()
    assert detail["merged_cases"] == [duplicate["id"]]
    assert detail["alarm_count"] == 2
    assert detail["history"][-1]["transition"] == "merged_in"
    listed = client.get(f"{V1}/cases", params={"state": "merged"}, headers=admin).json()
    assert [c["id"] for c in listed["data"]] == [duplicate["id"]]
    gone = client.get(f"{V1}/cases/{duplicate['id']}", headers=admin).json()
    assert gone["allowed_actions"] == ["note"]


def test_the_refusals_are_declared(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for action in ACTIONS:
        responses = paths[f"{V1}/cases/{{case_id}}/{action}"]["post"]["responses"]
        assert {"200", "404", "409", "422"} <= set(responses), action
