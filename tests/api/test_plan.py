"""The compound plan in one request: every device of the generated reference compound
(what `dayuan up` plays) at a place of its own, elderly-care devices in their flats'
cells on their building's footprint, alarms and cases hung on their devices, and the
reader's scope applied as in every other list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest

import registry
from tests.api import data
from tests.factories import generated_compound

V1 = "/api/v1"
H = dict[str, dict[str, str]]


@pytest.fixture
def demo(conn: psycopg.Connection[Any]) -> str:
    """The reference compound loaded beside the test compound c1; its id."""
    file = generated_compound()
    registry.load(conn, file, actor="test:setup", now=datetime.now(UTC))
    return file.compounds[0].id


def _plan(client: httpx.Client, compound: str, h: dict[str, str]) -> dict[str, Any]:
    response = client.get(f"{V1}/compounds/{compound}/plan", headers=h)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _inside(p: dict[str, Any], box: dict[str, Any]) -> bool:
    return (
        abs(p["x"] - box["x"]) <= box["width"] / 2 + 1e-6
        and abs(p["y"] - box["y"]) <= box["depth"] / 2 + 1e-6
    )


def test_every_device_of_the_compound_has_a_place_of_its_own(
    client: httpx.Client, headers: H, demo: str, conn: psycopg.Connection[Any]
) -> None:
    plan = _plan(client, demo, headers["property_staff"])
    registered = conn.execute(
        "SELECT id, kind, address FROM devices WHERE compound_id = %s", (demo,)
    ).fetchall()
    assert plan["count"] == len(registered) == len(plan["devices"]) > 600
    assert {d["id"] for d in plan["devices"]} == {r[0] for r in registered}
    assert {r[1] for r in registered} == {"gate", "barrier", "light", "elder"}
    places = {(round(d["x"], 2), round(d["y"], 2)) for d in plan["devices"]}
    assert len(places) == len(plan["devices"])  # no two markers on one point
    assert plan["layout"] == "registry"

    flats = {f["address"]: f for f in plan["flats"]}
    buildings = {b["id"]: b for b in plan["buildings"]}
    elder = [d for d in plan["devices"] if d["kind"] == "elder"]
    assert elder
    assert all(d["placed"] == "flat" and d["flat"] == d["address"] for d in elder)
    for d in elder:  # in its flat's cell, which lies on its building's footprint
        cell = flats[d["flat"]]
        assert _inside(d, cell)
        assert _inside(cell, buildings[cell["building"]])
    # Distinct flats, distinct cells: floors and units no longer stack on the centre.
    cells = {(f["x"], f["y"]) for f in plan["flats"]}
    assert (
        len(cells)
        == len(plan["flats"])
        == conn.execute("SELECT count(*) FROM flats WHERE compound_id = %s", (demo,)).fetchone()[0]
    )  # type: ignore[index]
    elder_flats = {d["flat"] for d in elder}
    assert len({(flats[f]["x"], flats[f]["y"]) for f in elder_flats}) == len(elder_flats) > 50
    # Gates, barriers and lights stay where the registry puts them.
    own = {r[0] for r in registered if r[1] in ("light", "barrier")}
    assert {d["id"] for d in plan["devices"] if d["placed"] == "own"} >= own
    # The households' seven-colour tags and the grids come along, no residents.
    assert any("empty_nest" in f["tags"] for f in plan["flats"])
    assert {g["id"] for g in plan["grids"]} == {f"{demo}-grid{n}" for n in (1, 2, 3)}
    assert "resident" not in str(plan).lower()
    assert "health" not in str(plan).lower()


def test_alarms_and_cases_hang_on_their_devices_and_flats(
    client: httpx.Client, headers: H, conn: psycopg.Connection[Any]
) -> None:
    sos = data.alarm(conn, device="sos-1", flat="3-2-301")
    flat_alarm = data.alarm(conn, rule="inactivity", device=None, flat="3-1-101")
    report = {"compound": "c1", "category": "noise", "description": "d", "reporter": "r-elder"}
    case = client.post(
        f"{V1}/cases", json={**report, "location": "3-1-101"}, headers=headers["admin"]
    ).json()
    plan = _plan(client, "c1", headers["property_staff"])
    devices = {d["id"]: d for d in plan["devices"]}
    assert devices["sos-1"]["state"] == "alarming"
    assert devices["sos-1"]["alarms"] == [sos]
    assert devices["sos-1"]["alarm_severity"] == "critical"
    assert devices["wear-1"]["state"] == "unseen"  # never reported, no alarm
    assert devices["sos-1"]["flat"] == devices["wear-1"]["flat"] == "3-2-301"
    assert (devices["sos-1"]["x"], devices["sos-1"]["y"]) != (
        devices["wear-1"]["x"],
        devices["wear-1"]["y"],
    )
    flats = {f["address"]: f for f in plan["flats"]}
    assert flats["3-1-101"]["alarms"] == [flat_alarm]
    assert flats["3-1-101"]["cases"] == [case["id"]]
    # c1's buildings all sit on the origin in the file: laid out in rows instead.
    assert plan["layout"] == "auto"
    b1, b3 = plan["buildings"]
    assert (b1["x"], b1["y"]) != (b3["x"], b3["y"])
    # No readings on the plan: the alarm's trigger values are not part of it.
    assert all("values" not in a for a in plan["alarms"])

    data.clear_alarm(conn, sos)
    states = client.get(f"{V1}/compounds/c1/plan/states", headers=headers["viewer"])
    assert states.status_code == 200, states.text
    assert {d["id"]: d["state"] for d in states.json()["data"]}["sos-1"] == "unseen"


def test_the_plan_is_scoped_like_every_list(
    client: httpx.Client, headers: H, demo: str, conn: psycopg.Connection[Any]
) -> None:
    grid = headers["grid_worker"]  # c1/g2: building 3 of c1 only
    plan = _plan(client, "c1", grid)
    assert {d["id"] for d in plan["devices"]} == {"sos-1", "wear-1"}
    assert {b["id"] for b in plan["buildings"]} == {"3"}
    assert {f["building"] for f in plan["flats"]} == {"3"}
    assert {g["id"] for g in plan["grids"]} == {"g2"}
    data.alarm(conn, rule="forced_open", device="gate-1", flat=None)
    assert _plan(client, "c1", grid)["alarms"] == []
    # Another compound is not theirs: the same 404 as for one that does not exist.
    for compound in (demo, "nowhere"):
        for path in ("plan", "plan/states"):
            response = client.get(f"{V1}/compounds/{compound}/{path}", headers=grid)
            assert response.status_code == 404, response.text
            assert "not yours" in response.json()["detail"]
    care = _plan(client, demo, headers["care_responder"])
    assert care["devices"]
    assert {d["kind"] for d in care["devices"]} == {"elder"}
    assert client.get(f"{V1}/compounds/{demo}/plan").status_code == 401
    bad = client.get(f"{V1}/compounds/c1;drop/plan", headers=headers["admin"])
    assert bad.status_code == 422
