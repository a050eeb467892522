"""What each role sees: a grid worker their grids, a care responder elderly care."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg

from tests.api import data

V1 = "/api/v1"
H = dict[str, dict[str, str]]


def _ids(client: httpx.Client, path: str, h: dict[str, str], key: str = "id") -> set[Any]:
    response = client.get(f"{V1}/{path}", headers=h)
    assert response.status_code == 200, response.text
    return {item[key] for item in response.json()["data"]}


def test_grid_worker_sees_only_their_grids(
    client: httpx.Client, headers: H, conn: psycopg.Connection[Any]
) -> None:
    grid = headers["grid_worker"]  # g2: building 3
    assert _ids(client, "devices", grid) == {"sos-1", "wear-1"}
    assert client.get(f"{V1}/devices/gate-1", headers=grid).status_code == 404
    sos = data.alarm(conn)
    data.alarm(conn, rule="forced_open", device="gate-1", flat=None)
    assert _ids(client, "alarms", grid) == {sos}
    mine = {"compound": "c1", "category": "noise", "description": "d", "reporter": "r-elder"}
    theirs = {**mine, "location": "1-1-101"}
    case = client.post(f"{V1}/cases", json={**mine, "location": "3-2-301"}, headers=grid).json()
    other = client.post(f"{V1}/cases", json=theirs, headers=headers["admin"]).json()
    assert _ids(client, "cases", grid) == {case["id"]}
    assert client.get(f"{V1}/cases/{other['id']}", headers=grid).status_code == 404
    stranger = client.post(
        f"{V1}/cases/{other['id']}/acknowledge", json={"version": other["version"]}, headers=grid
    )
    assert stranger.status_code == 404
    assert _ids(client, "buildings", grid) == {"3"}
    assert _ids(client, "households", grid, "flat") == {"3-2-301"}
    assert _ids(client, "grids", grid) == {"g2"}


def test_care_responder_sees_elderly_care(
    client: httpx.Client, headers: H, conn: psycopg.Connection[Any]
) -> None:
    care = headers["care_responder"]
    assert _ids(client, "devices", care) == {"sos-1", "wear-1"}
    sos = data.alarm(conn)
    data.alarm(conn, rule="lamp_failure_night", device="light-1", flat=None)
    assert _ids(client, "alarms", care) == {sos}
    report = {"compound": "c1", "description": "d", "reporter": "r-elder", "location": "3-2-301"}
    elderly = client.post(
        f"{V1}/cases", json={**report, "category": "elderly_care"}, headers=headers["admin"]
    ).json()
    client.post(f"{V1}/cases", json={**report, "category": "repair"}, headers=headers["admin"])
    assert _ids(client, "cases", care) == {elderly["id"]}


def test_viewer_and_property_staff_see_everything_but_personal_data(
    client: httpx.Client, headers: H
) -> None:
    for role in ("viewer", "property_staff"):
        assert len(_ids(client, "devices", headers[role])) == 21
        assert client.get(f"{V1}/residents", headers=headers[role]).status_code == 403
