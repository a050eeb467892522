"""Resident deliberation through the API on the real app: staff convene a lift matter
for building 3, residents of its households (signed in with the code from their mail,
confirmed by the admin) give opinions and vote once per household, the vote closes with
its tally and the decision reaches the building's households as an announcement, then
the matter is archived and read-only; a case points to it. Every refusal says why."""

# The resident side's fixtures (sign-in by mail, confirmed households) are imported and
# taken as parameters by name: that is what F811 sees as a redefinition.
# ruff: noqa: F811

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest

import registry
from domain import Building, Compound, CompoundFile, Household, Unit
from tests.api.conftest import PASSWORD, bearer, full_registry, login
from tests.residents.conftest import (  # noqa: F401 - the fixtures
    PHONE_A,
    PHONE_B,
    admin,
    app,
    base_url,
    client,
    clock,
    confirmed,
    conn,
    mailbox,
    sign_in,
)

V1 = "/api/v1"
MINE = f"{V1}/residents/me/deliberations"
H = dict[str, str]
PHONE_C = "+8613800000003"
PHONE_D = "+8613800000004"
BUILDING_3 = ("3-1-101", "3-1-301", "3-2-301")


@pytest.fixture
def api_db(db_url: str) -> str:
    """c1 with three households in building 3 and one in building 1; c2 beside it."""
    c1 = full_registry().compounds[0]
    homes = [Household(flat=f) for f in (*BUILDING_3, "1-1-101")]
    c2 = Compound(
        id="c2",
        name="Other compound",
        lat=30.2,
        lon=120.1,
        buildings=[Building(id="3", units=[Unit(id="2", flats=["301"])])],
        households=[Household(flat="3-2-301")],
    )
    both = CompoundFile(compounds=[c1.model_copy(update={"households": homes}), c2])
    with psycopg.connect(db_url, autocommit=True) as c:
        registry.load(c, both, actor="test:setup", now=datetime.now(UTC))
    return db_url


def _matter(client: httpx.Client, staff: H, **changes: Any) -> dict[str, Any]:
    body = {
        "compound": "c1",
        "title": "A lift for building 3",
        "description": "Install a lift in each stairwell; the owners share the cost.",
        "agenda": ["Where the shafts go", "How the cost is shared"],
        "buildings": ["3"],
        "quorum": "1/2",
        "parties": ["p-property"],
        **changes,
    }
    made = client.post(f"{V1}/deliberations", json=body, headers=staff)
    assert made.status_code == 201, made.text
    found: dict[str, Any] = made.json()
    return found


def _step(client: httpx.Client, staff: H, matter_id: int, step: str, **body: Any) -> Any:
    done = client.post(f"{V1}/deliberations/c1/{matter_id}/{step}", json=body, headers=staff)
    assert done.status_code == 200, done.text
    return done.json()


def _mine(client: httpx.Client, me: H) -> list[dict[str, Any]]:
    listed = client.get(MINE, headers=me)
    assert listed.status_code == 200, listed.text
    data: list[dict[str, Any]] = listed.json()["data"]
    return data


def test_a_lift_is_deliberated_voted_published_and_archived(
    client: httpx.Client, admin: H, confirmed: Callable[[str, str], H]
) -> None:
    a, b, c = (
        confirmed(p, f) for p, f in zip((PHONE_A, PHONE_B, PHONE_C), BUILDING_3, strict=True)
    )
    outsider = confirmed(PHONE_D, "1-1-101")
    matter = _matter(client, admin)
    m = matter["id"]
    assert (matter["status"], matter["households"], matter["tally"]["electorate"]) == (
        "draft",
        3,
        3,
    )
    assert [p["name"] for p in matter["participants"]] == ["Property company"]
    assert _mine(client, a) == []  # a draft is staff's

    _step(client, admin, m, "open")
    (seen,) = _mine(client, a)
    assert (seen["title"], seen["status"], seen["can_vote"], seen["my_vote"]) == (
        "A lift for building 3",
        "open",
        True,
        None,
    )
    assert _mine(client, outsider) == []
    said = client.post(
        f"{MINE}/{m}/opinions", json={"body": "North side, please.", "agenda_item": 1}, headers=a
    )
    assert said.status_code == 201, said.text
    (opinion,) = said.json()["opinions"]
    assert (opinion["building"], opinion["mine"], opinion["agenda_item"]) == ("3", True, 1)
    assert "flat" not in opinion
    nope = client.post(f"{MINE}/{m}/opinions", json={"body": "Me too"}, headers=outsider)
    assert nope.status_code == 403
    assert "neither affected by nor invited" in nope.json()["detail"]
    party = client.post(
        f"{V1}/deliberations/c1/{m}/opinions",
        json={"party": "p-property", "body": "We can maintain it."},
        headers=admin,
    )
    assert party.status_code == 200, party.text
    early = client.post(f"{MINE}/{m}/vote", json={"choice": "for"}, headers=a)
    assert early.status_code == 409
    assert "while voting is open" in early.json()["detail"]

    _step(client, admin, m, "voting")
    cast = client.post(f"{MINE}/{m}/vote", json={"choice": "for"}, headers=a)
    assert cast.status_code == 200, cast.text
    assert cast.json()["first"] is True
    assert cast.json()["deliberation"]["my_vote"] == "for"
    assert cast.json()["deliberation"]["tally"] is None  # hidden until the vote closes
    again = client.post(f"{MINE}/{m}/vote", json={"choice": "against"}, headers=a)
    assert again.status_code == 409
    assert "cannot be changed" in again.json()["detail"]
    refused = client.post(f"{MINE}/{m}/vote", json={"choice": "for"}, headers=outsider)
    assert refused.status_code == 403
    assert "1-1-101: not among the households" in refused.json()["detail"]
    for me, choice in ((b, "for"), (c, "against")):
        done = client.post(f"{MINE}/{m}/vote", json={"choice": choice}, headers=me)
        assert done.status_code == 200, done.text
    running = client.get(f"{V1}/deliberations/c1/{m}", headers=admin).json()["tally"]
    assert (running["votes_for"], running["votes_against"], running["outcome"]) == (
        2,
        1,
        "passed",
    )

    decided = _step(client, admin, m, "close", decision="The lift is installed in 2027.")
    assert (decided["status"], decided["outcome"]) == ("decided", "passed")
    assert decided["tally"] | {"quorum": "1/2"} == {
        "electorate": 3,
        "votes_for": 2,
        "votes_against": 1,
        "abstentions": 0,
        "cast": 3,
        "quorum": "1/2",
        "quorate": True,
        "outcome": "passed",
    }
    early_archive = client.post(f"{V1}/deliberations/c1/{m}/archive", headers=admin)
    assert early_archive.status_code == 409
    assert "publish the decision" in early_archive.json()["detail"]
    published = _step(client, admin, m, "publish")
    assert published["announcement_id"] is not None
    notices = client.get(f"{V1}/residents/me/announcements", headers=b).json()["data"]
    assert [n["title"] for n in notices] == ["A lift for building 3"]
    assert notices[0]["body"].startswith("The lift is installed in 2027.")
    assert client.get(f"{V1}/residents/me/announcements", headers=outsider).json()["data"] == []

    _step(client, admin, m, "archive")
    (shown,) = _mine(client, c)
    assert (shown["status"], shown["my_vote"], shown["tally"]["votes_for"]) == (
        "archived",
        "against",
        2,
    )
    late = client.post(f"{MINE}/{m}/opinions", json={"body": "Too late"}, headers=a)
    assert late.status_code == 409
    assert "read-only" in late.json()["detail"]
    listed = client.get(
        f"{V1}/deliberations", params={"compound": "c1", "status": "archived"}, headers=admin
    ).json()
    assert [x["id"] for x in listed["data"]] == [m]
    assert [o["author_name"] for o in listed["data"][0]["opinions"]] == [
        "3-1-101",
        "Property company",
    ]


def test_who_may_not_speak_or_vote_is_told_why(
    client: httpx.Client, admin: H, confirmed: Callable[[str, str], H], sign_in: Any
) -> None:
    unconfirmed = sign_in(PHONE_B)
    mine = confirmed(PHONE_A, "3-2-301")
    theirs = _matter(client, admin, compound="c2", parties=[])
    _step_c2 = client.post(f"{V1}/deliberations/c2/{theirs['id']}/open", headers=admin)
    assert _step_c2.status_code == 200
    assert _mine(client, mine) == []
    other = client.post(f"{MINE}/{theirs['id']}/opinions", json={"body": "x"}, headers=mine)
    assert other.status_code == 404  # another compound's matter is none of theirs
    assert client.get(f"{V1}/deliberations/c1/{theirs['id']}", headers=admin).status_code == 404

    ours = _matter(client, admin, votes_changeable=True)
    _step(client, admin, ours["id"], "open")
    _step(client, admin, ours["id"], "voting")
    listed = client.get(MINE, headers=unconfirmed).json()
    assert listed["data"] == []
    assert listed["note"].startswith("your household link is not confirmed")
    refused = client.post(f"{MINE}/{ours['id']}/vote", json={"choice": "for"}, headers=unconfirmed)
    assert refused.status_code == 403
    assert "not confirmed" in refused.json()["detail"]
    # Changeable: the second vote replaces the first.
    client.post(f"{MINE}/{ours['id']}/vote", json={"choice": "for"}, headers=mine)
    second = client.post(f"{MINE}/{ours['id']}/vote", json={"choice": "abstain"}, headers=mine)
    assert second.status_code == 200, second.text
    assert (second.json()["first"], second.json()["deliberation"]["my_vote"]) == (False, "abstain")
    party = client.post(
        f"{V1}/deliberations/c1/{ours['id']}/votes",
        json={"party": "p-property", "choice": "for"},
        headers=admin,
    )
    assert party.status_code == 403
    assert "only the affected households vote" in party.json()["detail"]

    for body, why in (
        ({"quorum": "3/2"}, "between 0 and 1"),
        ({"parties": ["p-nobody"]}, "no party 'p-nobody'"),
        ({"buildings": ["9"]}, "not in c1: 9"),
    ):
        bad = client.post(
            f"{V1}/deliberations",
            json={"compound": "c1", "title": "t", "description": "d", **body},
            headers=admin,
        )
        assert bad.status_code == 422, bad.text
        assert why in bad.json()["detail"]
    nul = {"compound": "c1", "title": "a\x00b", "description": "d"}
    assert client.post(f"{V1}/deliberations", json=nul, headers=admin).status_code == 422
    kept = client.get(f"{V1}/deliberations", params={"compound": "c1"}, headers=admin).json()
    assert [x["id"] for x in kept["data"]] == [ours["id"]]  # nothing refused was stored

    made = client.post(
        f"{V1}/users",
        json={
            "username": "u-grid",
            "password": PASSWORD,
            "role": "grid_worker",
            "grids": ["c1/g2"],
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    grid = bearer(login(client, "u-grid", PASSWORD))
    whole = {"compound": "c1", "title": "Parking plan", "description": "Who parks where."}
    for body, why in (({}, "whole compound is an admin's"), ({"buildings": ["1"]}, "outside")):
        refused = client.post(f"{V1}/deliberations", json=whole | body, headers=grid)
        assert refused.status_code == 403
        assert why in refused.json()["detail"]
    assert (
        client.post(
            f"{V1}/deliberations", json=whole | {"buildings": ["3"]}, headers=grid
        ).status_code
        == 201
    )
    staff = client.post(
        f"{V1}/users",
        json={"username": "u-prop", "password": PASSWORD, "role": "property_staff"},
        headers=admin,
    )
    assert staff.status_code == 201
    prop = bearer(login(client, "u-prop", PASSWORD))
    assert (
        client.post(
            f"{V1}/deliberations/c1/{ours['id']}/close", json={"decision": "x"}, headers=prop
        ).status_code
        == 403
    )


def test_a_case_points_to_the_matter(client: httpx.Client, admin: H) -> None:
    matter = _matter(client, admin)
    report = {"category": "noise", "description": "d", "reporter": "r", "location": "3-2-301"}
    ids = {}
    for compound in ("c1", "c2"):
        made = client.post(f"{V1}/cases", json={**report, "compound": compound}, headers=admin)
        assert made.status_code == 201, made.text
        ids[compound] = made.json()["id"]
    linked = client.put(f"{V1}/deliberations/c1/{matter['id']}/cases/{ids['c1']}", headers=admin)
    assert linked.status_code == 200, linked.text
    assert linked.json()["cases"] == [ids["c1"]]
    found = client.get(
        f"{V1}/deliberations", params={"compound": "c1", "case_id": ids["c1"]}, headers=admin
    ).json()
    assert [x["id"] for x in found["data"]] == [matter["id"]]
    none = client.get(
        f"{V1}/deliberations", params={"compound": "c1", "case_id": ids["c2"]}, headers=admin
    ).json()
    assert none["count"] == 0
    wrong = client.put(f"{V1}/deliberations/c1/{matter['id']}/cases/{ids['c2']}", headers=admin)
    assert wrong.status_code == 422
    assert "not a case of c1" in wrong.json()["detail"]
    missing = client.put(f"{V1}/deliberations/c1/{matter['id']}/cases/999999", headers=admin)
    assert missing.status_code == 404


def test_a_grid_worker_sees_other_grids_opinions_by_building_only(
    client: httpx.Client, admin: H, confirmed: Callable[[str, str], H]
) -> None:
    neighbour = confirmed(PHONE_A, "1-1-101")  # building 1: grid g1
    matter = _matter(client, admin, buildings=[], title="A parking plan", parties=[])
    _step(client, admin, matter["id"], "open")
    said = client.post(f"{MINE}/{matter['id']}/opinions", json={"body": "Bikes"}, headers=neighbour)
    assert said.status_code == 201, said.text
    body = {"username": "u-g2", "password": PASSWORD, "role": "grid_worker", "grids": ["c1/g2"]}
    assert client.post(f"{V1}/users", json=body, headers=admin).status_code == 201
    grid = bearer(login(client, "u-g2", PASSWORD))
    path = f"{V1}/deliberations/c1/{matter['id']}"
    (theirs,) = client.get(path, headers=grid).json()["opinions"]
    assert (theirs["author"], theirs["author_name"], theirs["building"]) == (None, None, "1")
    (full,) = client.get(path, headers=admin).json()["opinions"]
    assert (full["author"], full["building"], full["body"]) == ("1-1-101", "1", "Bikes")


def test_staff_record_a_households_opinion_given_to_them(client: httpx.Client, admin: H) -> None:
    matter = _matter(client, admin, buildings=[], title="A parking plan", parties=["p-rc"])
    m = matter["id"]
    _step(client, admin, m, "open")
    path = f"{V1}/deliberations/c1/{m}/opinions"
    said = client.post(path, json={"household": "3-2-301", "body": "By phone: yes"}, headers=admin)
    assert said.status_code == 200, said.text
    assert (said.json()["author_kind"], said.json()["author"]) == ("household", "3-2-301")
    both = {"household": "3-2-301", "party": "p-rc", "body": "x"}
    assert client.post(path, json=both, headers=admin).status_code == 422
    assert client.post(path, json={"body": "nobody's"}, headers=admin).status_code == 422
    body = {"username": "u-g2", "password": PASSWORD, "role": "grid_worker", "grids": ["c1/g2"]}
    assert client.post(f"{V1}/users", json=body, headers=admin).status_code == 201
    grid = bearer(login(client, "u-g2", PASSWORD))
    ours = _matter(client, grid, title="Bike shed", parties=[])
    _step(client, grid, ours["id"], "open")
    gpath = f"{V1}/deliberations/c1/{ours['id']}/opinions"
    mine = client.post(gpath, json={"household": "3-1-101", "body": "Yes"}, headers=grid)
    assert mine.status_code == 200, mine.text
    theirs = client.post(gpath, json={"household": "1-1-101", "body": "x"}, headers=grid)
    assert theirs.status_code == 403
    assert "outside your grids: 1-1-101" in theirs.json()["detail"]
