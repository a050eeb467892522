"""The upper rungs' accounts (issue 20): a subdistrict office's supervisor lists the cases
of its compounds that climbed to it, takes one over (the case is then the office's party's,
claimed by the supervisor, the reason on the timeline), re-dispatches and closes; a
take-over of a case outside its compounds, or by an organisation with no party in the
compound, is refused with the reason.

    sub-1 (subdistrict_office)  <- parent of  comm-a (residents_committee, serves c1)
    sub-2 (subdistrict_office, serves c2)      sub-3 (subdistrict_office, serves c1, no party)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

import cases
import registry
from domain import CompoundFile, Organisation, Party, PartyKind, Staff, StaffRole
from tests.api.conftest import PASSWORD, Conn, bearer, full_registry, login
from tests.api.test_privacy import other_compound

H = dict[str, str]
V1 = "/api/v1"


def the_registry() -> CompoundFile:
    c1 = full_registry().compounds[0]
    parties = [
        p.model_copy(update={"organisation": "comm-a"}) if p.id == "p-rc" else p for p in c1.parties
    ]
    parties.append(
        Party(
            id="p-sub",
            kind=PartyKind.SUBDISTRICT_OFFICE,
            name="Subdistrict office",
            organisation="sub-1",
        )
    )
    staff = [*c1.staff, Staff(id="s-sub", name="Office", role=StaffRole.SUPERVISOR, party="p-sub")]
    return CompoundFile(
        compounds=[c1.model_copy(update={"parties": parties, "staff": staff}), other_compound()],
        organisations=[
            Organisation(id="sub-1", name="Office 1", kind="subdistrict_office"),
            Organisation(
                id="comm-a",
                name="Committee A",
                kind="residents_committee",
                parent="sub-1",
                compounds=["c1"],
            ),
            Organisation(id="sub-2", name="Office 2", kind="subdistrict_office", compounds=["c2"]),
            Organisation(id="sub-3", name="Office 3", kind="subdistrict_office", compounds=["c1"]),
        ],
    )


@pytest.fixture
def offices(client: httpx.Client, admin: H, conn: Conn) -> dict[str, H]:
    registry.load(conn, the_registry(), actor="test:setup", now=datetime.now(UTC))
    out = {}
    for name, org, staff_id in (
        ("u-sub1", "sub-1", "s-sub"),
        ("u-sub2", "sub-2", None),
        ("u-sub3", "sub-3", None),
    ):
        body = {
            "username": name,
            "password": PASSWORD,
            "role": "supervisor",
            "organisation": org,
            "staff_id": staff_id,
        }
        created = client.post(f"{V1}/users", json=body, headers=admin)
        assert created.status_code == 201, created.text
        out[name] = bearer(login(client, name, PASSWORD))
    return out


def _report(client: httpx.Client, h: H) -> dict[str, Any]:
    body = {
        "compound": "c1",
        "category": "repair",
        "description": "stairwell light out",
        "reporter": "r-1",
        "location": "1-1-101",
    }
    response = client.post(f"{V1}/cases", json=body, headers=h)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _climb(conn: Conn, case_id: int, rungs: int) -> None:
    """The supervisor's escalations, each once its deadline has passed."""

    class Later:
        def now(self) -> datetime:
            return datetime.now(UTC)

    workflow = cases.Workflow(clock=Later())
    for _ in range(rungs):
        due = cases.get_case(conn, case_id).supervise_at
        assert due is not None
        assert workflow.escalate_if_due(conn, case_id, due + timedelta(seconds=1))


def _post(client: httpx.Client, h: H, case: dict[str, Any], action: str, **body: Any) -> Any:
    return client.post(
        f"{V1}/cases/{case['id']}/{action}", json={"version": case["version"], **body}, headers=h
    )


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_the_office_lists_its_escalated_cases_takes_one_over_and_closes_it(
    client: httpx.Client, admin: H, conn: Conn, offices: dict[str, H]
) -> None:
    office = offices["u-sub1"]
    climbing, quiet = _report(client, admin), _report(client, admin)
    _climb(conn, climbing["id"], 3)
    _climb(conn, quiet["id"], 1)

    def listed(**query: Any) -> list[int]:
        found = client.get(f"{V1}/cases", params=query, headers=office)
        assert found.status_code == 200, found.text
        return [c["id"] for c in found.json()["data"]]

    assert listed(rung="subdistrict") == [climbing["id"]]
    assert sorted(listed(escalated="true")) == sorted([climbing["id"], quiet["id"]])
    assert listed(rung="grid_lead") == [quiet["id"]]
    case = client.get(f"{V1}/cases/{climbing['id']}", headers=office).json()
    assert case["rung"] == "subdistrict"

    taken = _ok(_post(client, office, case, "take-over", reason="三次督办未办结由街道接管"))
    assert taken["claimed_by"] == "s-sub"
    detail = client.get(f"{V1}/cases/{case['id']}", headers=office).json()
    assert [(a["party_id"], a["staff_id"]) for a in detail["assignments"]] == [("p-sub", "s-sub")]
    redispatched, claimed = detail["history"][-2:]
    assert (redispatched["transition"], redispatched["actor"]) == ("redispatched", "u-sub1")
    assert redispatched["detail"]["reason"] == "三次督办未办结由街道接管"
    assert redispatched["detail"]["take_over"] is True
    assert redispatched["detail"]["rung"] == "subdistrict"
    assert [p["party"] for p in redispatched["detail"]["from"]] == ["p-property"]
    assert (claimed["transition"], claimed["detail"]["staff"]) == ("claimed", "s-sub")

    # The office works it to the end like any party.
    for action, body in (("acknowledge", {}), ("start", {}), ("resolve", {"note": "修好了"})):
        taken = _ok(_post(client, office, taken, action, **body))
    closed = _ok(_post(client, office, taken, "close"))
    assert closed["state"] == "closed"


def test_the_office_re_dispatches_a_case_to_another_party(
    client: httpx.Client, admin: H, conn: Conn, offices: dict[str, H]
) -> None:
    case = _report(client, admin)
    _climb(conn, case["id"], 3)
    case = client.get(f"{V1}/cases/{case['id']}", headers=offices["u-sub1"]).json()
    moved = _ok(
        _post(client, offices["u-sub1"], case, "redispatch", parties=["p-rc"], reason="居委会的事")
    )
    assert moved["state"] == "dispatched"
    assert moved["rung"] == "subdistrict"  # the rung reached stays: the ladder's top


def test_a_take_over_outside_the_organisations_compounds_or_without_a_party_is_refused(
    client: httpx.Client, admin: H, conn: Conn, offices: dict[str, H]
) -> None:
    case = _report(client, admin)
    outside = _post(client, offices["u-sub2"], case, "take-over", reason="r")
    assert outside.status_code == 403, outside.text
    assert "not in a compound your organisation (sub-2) serves" in outside.json()["detail"]
    no_party = _post(client, offices["u-sub3"], case, "take-over", reason="r")
    assert no_party.status_code == 422, no_party.text
    assert "(sub-3) has no party in compound c1" in no_party.json()["detail"]
    viewer = client.post(
        f"{V1}/users",
        json={"username": "u-v", "password": PASSWORD, "role": "viewer", "organisation": "sub-1"},
        headers=admin,
    )
    assert viewer.status_code == 201, viewer.text
    refused = _post(client, bearer(login(client, "u-v", PASSWORD)), case, "take-over", reason="r")
    assert refused.status_code == 403
    after = client.get(f"{V1}/cases/{case['id']}", headers=admin).json()
    assert after["version"] == case["version"]  # nothing happened
