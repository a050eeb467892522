"""Route x role x scope, from the app's own OpenAPI document: every GET route without
path parameters (and the detail routes of known ids) for every role, over two
compounds that reuse the same grid, building, flat and staff ids.

A grid worker of c1's `g2` must never get an item of c2 (whose `g2` is another grid);
the elderly devices' health readings must never reach property staff, viewers or grid
workers, and must reach care responders with a row of `api_audit` for each read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from fastapi import FastAPI

import care
import registry
from cases import AlarmNotice
from domain import (
    Building,
    Compound,
    CompoundFile,
    Device,
    Grid,
    GridTeam,
    Household,
    Kind,
    Resident,
    Severity,
    Staff,
    StaffRole,
    Unit,
)
from tests.api import data
from tests.api.conftest import PASSWORD, ROLES, bearer, full_registry, login
from tests.factories import now_ms

V1 = "/api/v1"
H = dict[str, dict[str, str]]
Conn = psycopg.Connection[Any]
NOT_HEALTH = ("property_staff", "viewer", "grid_worker", "supervisor")
# Readings distinctive enough to be searched for in any response.
HEART, SPO2, TEMP, CONFIDENCE, ROOM = 61.5, 93.25, 36.65, 0.8125, "bedroom_c1"
HEALTH_TEXT = ("Heart rate", "heart_rate", "spo2", ROOM)
# The readings as JSON numbers (not as digits inside a timestamp such as 14:30:36.659Z).
HEALTH_NUMBERS = re.compile(r"(?<![\d.])(61\.5|93\.25|36\.65|0\.8125)(?![\d])")
PURPOSE = "telecare check-up, ticket 7"


def other_compound() -> Compound:
    """c2: the same grid ids (g1, g2), buildings, flats and staff ids as c1."""
    return Compound(
        id="c2",
        name="Other compound",
        lat=30.2,
        lon=120.1,
        buildings=[
            Building(id=b, units=[Unit(id=u, flats=["101", "301"]) for u in ("1", "2")])
            for b in "13"
        ],
        households=[Household(flat="3-2-301", residents=[Resident(ref="r-c2")])],
        grids=[
            Grid(id="g1", buildings=["1"], team=GridTeam(cadre="s-cadre1")),
            Grid(id="g2", buildings=["3"], team=GridTeam(cadre="s-cadre2")),
        ],
        staff=[
            Staff(id="s-cadre1", name="Other 1", role=StaffRole.GRID_WORKER, grids=["g1"]),
            Staff(id="s-cadre2", name="Other 2", role=StaffRole.GRID_WORKER, grids=["g2"]),
        ],
        devices=[
            Device(id="c2-sos", kind=Kind.ELDER, model="sos_pendant", address="3-2-301"),
            Device(id="c2-light", kind=Kind.LIGHT, model="led_light", address="3"),
        ],
    )


@pytest.fixture
def world(
    api_db: str, conn: Conn, client: httpx.Client, headers: H, app: FastAPI
) -> dict[str, Any]:
    """Both compounds, health readings and events of c1's elders, alarms and cases in
    the two same-named `g2`s."""
    both = CompoundFile(compounds=[*full_registry().compounds, other_compound()])
    registry.load(conn, both, actor="test:setup", now=datetime.now(UTC))
    data.store(
        api_db,
        (
            "dayuan/v1/c1/elder/sos-1/telemetry",
            {"ts": now_ms(), "values": {"heart_rate": HEART, "spo2": SPO2, "battery": 80}},
        ),
        (
            "dayuan/v1/c1/elder/wear-1/telemetry",
            {"ts": now_ms(), "values": {"temperature_c": TEMP}},
        ),
        (
            "dayuan/v1/c1/elder/sos-1/event",
            {"ts": now_ms(), "type": "fall", "confidence": CONFIDENCE},
        ),
        ("dayuan/v1/c1/elder/wear-1/event", {"ts": now_ms(), "type": "motion", "room": ROOM}),
        ("dayuan/v1/c2/elder/c2-sos/event", {"ts": now_ms(), "type": "sos"}),
        ("dayuan/v1/c2/light/c2-light/telemetry", {"ts": now_ms(), "values": {"power_w": 12.0}}),
    )
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    data.rollup(conn, "sos-1", "heart_rate", hour, HEART)
    data.rollup(conn, "c2-light", "power_w", hour, 12.0)
    sos = data.alarm(conn, rule="sos", device="sos-1")
    vital = data.alarm(conn, rule="heart_rate_out_of_range", device="sos-1", flat=None)
    conn.execute(
        "UPDATE alarms SET trigger_values = %s WHERE id = ANY(%s)",
        (orjson.dumps({"heart_rate": HEART}).decode(), [sos, vital]),
    )
    theirs = data.alarm(conn, rule="fall", device="c2-sos")
    conn.execute("UPDATE alarms SET compound_id = 'c2' WHERE id = %s", (theirs,))
    report = {"category": "noise", "description": "d", "reporter": "r", "location": "3-2-301"}
    cases = {}
    for compound in ("c1", "c2"):
        made = client.post(
            f"{V1}/cases", json={**report, "compound": compound}, headers=headers["admin"]
        )
        assert made.status_code == 201, made.text
        cases[compound] = made.json()["id"]
    notice = AlarmNotice(
        fingerprint="heart_rate_out_of_range:sos-1",
        rule_id="heart_rate_out_of_range",
        title="Heart rate out of range",
        severity=Severity.MAJOR,
        category="heart_rate_out_of_range",
        compound="c1",
        device_id="sos-1",
        flat=None,
        values={"heart_rate": HEART},
        opened_at=datetime.now(UTC),
    )
    workflow = app.state.dayuan.workflow
    opened = workflow.intake_alarm(conn, notice)
    workflow.intake_alarm(conn, notice)  # joins: the values are in the case's history
    cases["vital"] = opened.case.id
    return {"alarms": {"sos": sos, "vital": vital, "c2": theirs}, "cases": cases}


def _window() -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "from": (now - timedelta(days=2)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat(),
    }


def _list_routes(client: httpx.Client) -> Iterator[tuple[str, dict[str, str]]]:
    """Every GET under /api/v1 without path parameters, its required query filled in."""
    document = client.get("/openapi.json").json()
    for path, operations in sorted(document["paths"].items()):
        get = operations.get("get")
        if get is None or "{" in path or not path.startswith(V1) or path == f"{V1}/stream":
            continue
        query: dict[str, str] = {}
        for p in get.get("parameters", []):
            if p["in"] == "query" and p.get("required"):
                query[p["name"]] = _window().get(p["name"], "c1")
        if path == f"{V1}/telemetry":
            query["compound"] = "c1"
        yield path, query


def _detail_routes(world: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    alarms, cases = world["alarms"], world["cases"]
    return [
        (f"{V1}/devices/sos-1", {}),
        (f"{V1}/devices/wear-1", {}),
        (f"{V1}/telemetry", {"device": "sos-1", **_window()}),
        (f"{V1}/compounds/c1", {}),
        *[(f"{V1}/alarms/{a}", {}) for a in alarms.values()],
        *[(f"{V1}/cases/{c}", {}) for c in cases.values()],
        (f"{V1}/kpis", {"by": "grid"}),
        (f"{V1}/kpis", {"by": "compound"}),
    ]


def _items(document: Any) -> Iterator[dict[str, Any]]:
    if isinstance(document, dict):
        yield document
        for value in document.values():
            yield from _items(value)
    elif isinstance(document, list):
        for value in document:
            yield from _items(value)


def test_route_role_scope_matrix(
    client: httpx.Client, headers: H, world: dict[str, Any], conn: Conn
) -> None:
    routes = list(_list_routes(client)) + _detail_routes(world)
    assert len(routes) > 20  # the document was read, not an empty walk
    for role in ROLES:
        for path, query in routes:
            response = client.get(path, params=query, headers=headers[role])
            assert response.status_code < 500, (role, path, response.text)
            if response.status_code != 200:
                continue
            kind = response.headers["content-type"]
            if not kind.startswith(("application/json", "text/")):
                continue  # XLSX and PDF: read back in tests/api/test_exports.py
            text = response.text
            if role in NOT_HEALTH:
                leaked = [t for t in HEALTH_TEXT if t in text] + HEALTH_NUMBERS.findall(text)
                assert not leaked, (
                    role,
                    path,
                    leaked,
                    [text[max(0, text.find(t) - 150) : text.find(t) + 60] for t in leaked],
                )
            if role == "grid_worker":
                assert "c2-" not in text, (path, text[:600])
                if not kind.startswith("application/json"):
                    continue  # the CSV export: checked as text above
                for item in _items(response.json()):
                    assert item.get("compound") != "c2", (path, item)
                    assert not str(item.get("key", "")).startswith("c2/"), (path, item)


def test_the_grid_worker_of_c1_g2_is_not_the_grid_worker_of_c2_g2(
    client: httpx.Client, headers: H, world: dict[str, Any]
) -> None:
    grid = headers["grid_worker"]

    def listed(path: str, **query: str) -> list[dict[str, Any]]:
        response = client.get(f"{V1}/{path}", params=query, headers=grid)
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["data"]
        return found

    assert {(g["compound"], g["id"]) for g in listed("grids")} == {("c1", "g2")}
    assert {s["compound"] for s in listed("staff")} == {"c1"}
    assert {c["id"] for c in listed("compounds")} == {"c1"}
    assert {c["id"] for c in listed("cases")} == {world["cases"]["c1"], world["cases"]["vital"]}
    assert world["alarms"]["c2"] not in {a["id"] for a in listed("alarms")}
    assert {k["key"] for k in listed("kpis", by="grid")} == {"c1/g2"}
    theirs = world["cases"]["c2"]
    assert client.get(f"{V1}/cases/{theirs}", headers=grid).status_code == 404
    assert client.get(f"{V1}/compounds/c2", headers=grid).status_code == 404
    changes = client.get(f"{V1}/registry-changes", params={"compound": "c2"}, headers=grid)
    assert changes.status_code == 403
    log = client.get(
        f"{V1}/registry-changes", params={"compound": "c1", "limit": 500}, headers=grid
    ).json()["data"]
    people = {
        (c["entity"], c["key"])
        for c in log
        if c["entity"] in ("households", "flats", "residents", "resident_details")
    }
    assert ("residents", "r-elder") in people  # building 3: g2's
    assert ("resident_details", "r-elder") in people
    assert ("residents", "r-1") not in people  # building 1: g1's
    assert not [k for _, k in people if k.startswith("1-")]
    assert {c["entity"] for c in log} >= {"grids", "staff"}  # the compound's own changes
    report = {"category": "noise", "description": "d", "reporter": "r", "location": "3-2-301"}
    refused = client.post(f"{V1}/cases", json={**report, "compound": "c2"}, headers=grid)
    assert refused.status_code == 403
    assert "outside your grids" in refused.json()["detail"]
    mine = client.post(f"{V1}/cases", json={**report, "compound": "c1"}, headers=grid)
    assert mine.status_code == 201, mine.text


def test_a_staff_link_names_the_compound_when_the_id_repeats(
    client: httpx.Client, headers: H, world: dict[str, Any]
) -> None:
    admin = headers["admin"]
    body = {"username": "u-other", "password": PASSWORD, "role": "grid_worker"}
    ambiguous = client.post(f"{V1}/users", json=body | {"staff_id": "s-cadre2"}, headers=admin)
    assert ambiguous.status_code == 422
    assert "c1, c2" in ambiguous.json()["detail"]
    linked = body | {"staff_id": "s-cadre2", "staff_compound": "c2"}
    created = client.post(f"{V1}/users", json=linked, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["grids"] == ["c2/g2"]
    other = bearer(login(client, "u-other", PASSWORD))
    devices = client.get(f"{V1}/devices", headers=other).json()["data"]
    assert {d["id"] for d in devices} == {"c2-sos", "c2-light"}
    bare = client.post(
        f"{V1}/users", json=body | {"username": "u-bare", "grids": ["g2"]}, headers=admin
    )
    assert bare.status_code == 422


def test_property_staff_see_that_a_flat_needs_help_without_the_readings(
    client: httpx.Client, headers: H, world: dict[str, Any]
) -> None:
    staff = headers["property_staff"]
    alarms = {a["id"]: a for a in client.get(f"{V1}/alarms", headers=staff).json()["data"]}
    sos = alarms[world["alarms"]["sos"]]
    assert (sos["rule_id"], sos["flat"], sos["severity"]) == ("sos", "3-2-301", "critical")
    assert sos["redacted"] is True
    assert sos["values"] == {}
    vital = alarms[world["alarms"]["vital"]]
    assert vital["rule_id"] == "elderly_care"
    assert vital["device_id"] == "sos-1"
    events = client.get(f"{V1}/events", params={"kind": "elder"}, headers=staff).json()["data"]
    assert {(e["device_id"], e["type"], e["redacted"]) for e in events} == {
        ("sos-1", "fall", True),
        ("c2-sos", "sos", True),
    }
    named = client.get(
        f"{V1}/telemetry",
        params={"device": "sos-1", "key": "heart_rate", **_window()},
        headers=staff,
    )
    assert named.status_code == 403
    assert "care responders" in named.json()["detail"]
    case = client.get(f"{V1}/cases/{world['cases']['vital']}", headers=staff).json()
    assert (case["title"], case["category"]) == (
        "Elderly-care alarm: a resident may need help",
        "elderly_care",
    )
    device = client.get(f"{V1}/devices/sos-1", headers=staff).json()
    assert device["redacted"] is True
    assert [v["key"] for v in device["values"]] == ["battery"]


def test_care_responders_read_health_data_and_each_read_is_audited(
    client: httpx.Client, headers: H, world: dict[str, Any], conn: Conn
) -> None:
    care = headers["care_responder"] | {"X-Purpose": PURPOSE}
    device = client.get(f"{V1}/devices/sos-1", headers=care).json()
    assert {v["key"]: v["value"] for v in device["values"]} == {
        "heart_rate": HEART,
        "spo2": SPO2,
        "battery": 80,
    }
    series = client.get(f"{V1}/telemetry", params={"device": "sos-1", **_window()}, headers=care)
    assert "heart_rate" in [s["key"] for s in series.json()["series"]]
    events = client.get(f"{V1}/events", headers=care).json()["data"]
    assert {"confidence": CONFIDENCE} in [e["data"] for e in events if e["type"] == "fall"]
    assert {"room": ROOM} in [e["data"] for e in events if e["type"] == "motion"]
    alarm = client.get(f"{V1}/alarms/{world['alarms']['vital']}", headers=care).json()
    assert alarm["values"] == {"heart_rate": HEART}
    case = client.get(f"{V1}/cases/{world['cases']['vital']}", headers=care).json()
    assert {"heart_rate": HEART} in [e["detail"].get("values") for e in case["history"]]
    audited = conn.execute(
        "SELECT route, reason, detail->'devices' FROM api_audit"
        " WHERE actor = 'u-care_responder' AND action = 'read_health_data' ORDER BY id"
    ).fetchall()
    assert [(r[0], r[1]) for r in audited] == [
        ("GET /api/v1/devices/{device_id}", PURPOSE),
        ("GET /api/v1/telemetry", PURPOSE),
        ("GET /api/v1/events", PURPOSE),
        ("GET /api/v1/alarms/{alarm_id}", PURPOSE),
        ("GET /api/v1/cases/{case_id}", PURPOSE),
    ]
    assert all("sos-1" in r[2] for r in audited)
    staff = conn.execute(
        "SELECT count(*) FROM api_audit WHERE action = 'read_health_data'"
        " AND actor <> 'u-care_responder'"
    ).fetchone()
    assert staff == (0,)


def test_a_rule_filter_cannot_confirm_a_reading_to_roles_without_health_access(
    client: httpx.Client, headers: H, world: dict[str, Any]
) -> None:
    """The property staff know a vital-sign alarm only as `elderly_care`: filtering by
    its real rule finds nothing (a count would confirm the condition), by the neutral
    name finds it. Care responders filter by the real rule."""
    vital = world["alarms"]["vital"]

    def ids(role: str, rule: str) -> set[int]:
        found = client.get(f"{V1}/alarms", params={"rule": rule}, headers=headers[role])
        assert found.status_code == 200, found.text
        return {a["id"] for a in found.json()["data"]}

    assert ids("property_staff", "heart_rate_out_of_range") == set()
    assert vital in ids("property_staff", "elderly_care")
    assert world["alarms"]["sos"] in ids("property_staff", "sos")  # an SOS keeps its name
    assert vital in ids("care_responder", "heart_rate_out_of_range")
    assert vital not in ids("care_responder", "elderly_care")


def test_a_category_filter_cannot_confirm_a_reading_to_roles_without_health_access(
    client: httpx.Client, headers: H, world: dict[str, Any]
) -> None:
    """A vital-sign alarm case's category is its rule id: the property staff find it
    only as `elderly_care`, care responders by its rule."""
    vital = world["cases"]["vital"]

    def ids(role: str, category: str) -> set[int]:
        found = client.get(f"{V1}/cases", params={"category": category}, headers=headers[role])
        assert found.status_code == 200, found.text
        return {c["id"] for c in found.json()["data"]}

    assert ids("property_staff", "heart_rate_out_of_range") == set()
    assert vital in ids("property_staff", "elderly_care")
    assert world["cases"]["c1"] in ids("property_staff", "noise")  # other cases as they are
    assert vital in ids("care_responder", "heart_rate_out_of_range")


def test_care_sweep_cases_reach_the_grid_and_property_staff_without_health_notes(
    client: httpx.Client, headers: H, app: FastAPI, conn: Conn
) -> None:
    """A missed meal or an overdue visit is not a health reading: the grid worker of the
    household's grid (g2) and property staff see the case under its own category and
    title, and find it by category; the deliverer's note (which may say how the elder
    was) is not in the case they read."""
    flat, note = "3-2-301", "found her dizzy, blood pressure 170/105"
    admin = headers["admin"]
    start = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    plan = {"compound": "c1", "flat": flat, "tag": "empty_nest", "visitor": "s-care"}
    made = client.post(
        f"{V1}/care/plans", json=plan | {"interval_days": 7, "starts_at": start}, headers=admin
    )
    assert made.status_code == 201, made.text
    meals = {"compound": "c1", "flat": flat, "meal": "lunch", "weekdays": [1, 2, 3, 4, 5, 6, 7]}
    schedule = client.post(f"{V1}/care/meals", json=meals | {"deliverer": "p-care"}, headers=admin)
    assert schedule.status_code == 201, schedule.text
    missed = {"compound": "c1", "schedule_id": schedule.json()["id"], "done": False, "note": note}
    assert client.post(f"{V1}/care/deliveries", json=missed, headers=admin).status_code == 201
    state = app.state.dayuan
    care.run_once(conn, state.workflow, state.clock.now())

    for role in ("grid_worker", "property_staff", "care_responder"):
        for category in ("meal_missed", "care_visit_overdue"):
            found = client.get(
                f"{V1}/cases", params={"category": category}, headers=headers[role]
            ).json()
            assert found["count"] == 1, (role, category, found)
            [case] = found["data"]
            assert (case["category"], case["flat"]) == (category, flat), role
            assert "Elderly-care alarm" not in case["title"], role
            detail = client.get(f"{V1}/cases/{case['id']}", headers=headers[role])
            assert detail.status_code == 200, detail.text
            assert detail.json()["category"] == category
            if role == "care_responder":
                continue
            assert note not in detail.text, role
            board = client.get(f"{V1}/cases", headers=headers[role]).text
            assert note not in board, role
