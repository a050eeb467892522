"""Care programmes through the API on the real app: a coordinator's plan, its visit and
the plan no longer overdue; refusals with their reasons (a flat not in the compound, a
negative interval, a household out of the caller's grids); visit notes only for the
roles that read health data, each read audited; viewers read the KPIs' counts and
nothing else; a case closed in the follow-up mode lists its follow-up at once; a missed
meal becomes a case on the board, once, and the running API's own sweep opens it."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import psycopg
from fastapi import FastAPI

import care
from api import create_app
from tests.api.conftest import ADMIN_PASSWORD, FakeClock, bearer, config_for, login, serve
from tests.fix_mqtt import Broker

V1 = "/api/v1/care"
H = dict[str, dict[str, str]]
ELDER = "3-2-301"  # elderly and empty-nest, building 3: the grid worker's grid g2
NOTE = "blood pressure 160/100, dizzy in the mornings"
WAIT_S = 10.0  # a few sweeps of 0.2 s, far above what one takes


def make_plan(client: httpx.Client, headers: dict[str, str], **changes: Any) -> httpx.Response:
    body = {
        "compound": "c1",
        "flat": ELDER,
        "tag": "empty_nest",
        "visitor": "s-care",
        "interval_days": 7,
    }
    body.update(changes)
    return client.post(f"{V1}/plans", json=body, headers=headers)


def test_a_visit_takes_a_plan_off_the_overdue_list(
    client: httpx.Client, headers: H, clock: FakeClock
) -> None:
    start = (clock.now() - timedelta(days=10)).isoformat()
    made = make_plan(client, headers["care_responder"], starts_at=start)
    assert made.status_code == 201, made.text
    plan = made.json()
    assert (plan["status"], plan["grid"], plan["visits"]) == ("overdue", "g2", 0)
    kpis = client.get(f"{V1}/kpis", params={"compound": "c1"}, headers=headers["viewer"]).json()
    assert (kpis["plans_active"], kpis["visits_overdue"]) == (1, 1)
    visit = {"compound": "c1", "plan_id": plan["id"], "outcome": "well", "note": NOTE}
    done = client.post(f"{V1}/visits", json=visit, headers=headers["care_responder"])
    assert done.status_code == 201, done.text
    assert (done.json()["visitor"], done.json()["on_time"]) == ("s-care", False)
    [after] = client.get(
        f"{V1}/plans", params={"compound": "c1", "grid": "g2"}, headers=headers["grid_worker"]
    ).json()["data"]
    assert after["status"] == "scheduled"
    assert after["visits"] == 1
    kpis = client.get(f"{V1}/kpis", params={"compound": "c1"}, headers=headers["viewer"]).json()
    assert (kpis["visits_overdue"], kpis["visits_recorded"], kpis["on_time_rate"]) == (0, 1, 0.0)


def test_refusals_say_why(client: httpx.Client, headers: H, conn: psycopg.Connection[Any]) -> None:
    worker = headers["grid_worker"]
    nowhere = make_plan(client, worker, flat="3-1-999")
    assert nowhere.status_code == 422
    assert nowhere.json()["detail"] == "flat: c1 has no household at 3-1-999"
    negative = make_plan(client, worker, interval_days=-7)
    assert negative.status_code == 422
    assert negative.json()["detail"] == "interval_days: must be 1 to 365 days, not -7"
    untagged = make_plan(client, worker, tag="disabled")
    assert untagged.json()["detail"] == "tag: household 3-2-301 is not tagged disabled"
    # A household of grid g1 (building 1): not the grid worker's.
    conn.execute("UPDATE households SET tags = '{elderly}' WHERE flat = '1-1-101'")
    outside = make_plan(client, worker, flat="1-1-101", tag="elderly")
    assert outside.status_code == 403
    assert outside.json()["detail"] == "1-1-101 is outside your grids"
    theirs = make_plan(client, headers["admin"], flat="1-1-101", tag="elderly")
    assert theirs.status_code == 201, theirs.text
    visit = {"compound": "c1", "plan_id": theirs.json()["id"], "outcome": "not_home"}
    refused = client.post(f"{V1}/visits", json=visit, headers=worker)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "1-1-101 is outside your grids"
    unknown = client.post(
        f"{V1}/visits", json={**visit, "visitor": "s-stranger"}, headers=headers["admin"]
    )
    assert unknown.json()["detail"] == "visitor: no staff member or party 's-stranger' serves c1"
    meals = {
        "compound": "c1",
        "flat": "3-2-101",
        "meal": "lunch",
        "weekdays": [1, 3, 5],
        "deliverer": "p-care",
    }
    not_elderly = client.post(f"{V1}/meals", json=meals, headers=worker)
    assert not_elderly.json()["detail"] == "flat: c1 has no household at 3-2-101"


def test_visit_notes_reach_only_health_readers_and_each_read_is_audited(
    client: httpx.Client, headers: H, conn: psycopg.Connection[Any]
) -> None:
    plan = make_plan(client, headers["admin"]).json()
    visit = {"compound": "c1", "plan_id": plan["id"], "outcome": "needs_help", "note": NOTE}
    assert client.post(f"{V1}/visits", json=visit, headers=headers["admin"]).status_code == 201
    seen = {}
    for role in ("care_responder", "property_staff", "grid_worker"):
        got = client.get(f"{V1}/visits", params={"compound": "c1"}, headers=headers[role])
        assert got.status_code == 200, got.text
        seen[role] = got.json()["data"][0]
    assert seen["care_responder"]["note"] == NOTE
    for role in ("property_staff", "grid_worker"):
        assert seen[role]["note"] is None
        assert seen[role]["note_withheld"] is True
        assert seen[role]["outcome"] == "needs_help"
    audited = conn.execute(
        "SELECT actor, route, detail->'flats' FROM api_audit WHERE action = 'read_health_data'"
    ).fetchall()
    assert audited == [("u-care_responder", "/api/v1/care/visits", [ELDER])]
    for path in ("plans", "visits", "follow-ups", "meals", "deliveries"):
        viewer = client.get(f"{V1}/{path}", params={"compound": "c1"}, headers=headers["viewer"])
        assert viewer.status_code == 403, path
    kpis = client.get(f"{V1}/kpis", params={"compound": "c1"}, headers=headers["viewer"])
    assert kpis.status_code == 200
    assert kpis.json()["visits_recorded"] == 1


def test_closing_in_the_follow_up_mode_lists_the_follow_up_at_once(
    client: httpx.Client, headers: H
) -> None:
    h = headers["care_responder"]
    report = {
        "compound": "c1",
        "category": "elderly_care",
        "description": "needs grab rails in the bathroom",
        "reporter": "r-elder",
        "location": ELDER,
    }
    case = client.post("/api/v1/cases", json=report, headers=headers["admin"]).json()
    for action, extra in (
        ("acknowledge", {}),
        ("start", {}),
        ("resolve", {"note": "rails fitted"}),
        ("close", {"follow_up": True}),
    ):
        done = client.post(
            f"/api/v1/cases/{case['id']}/{action}",
            json={"version": case["version"], **extra},
            headers=h,
        )
        assert done.status_code == 200, (action, done.text)
        case = done.json()
    listed = client.get(f"{V1}/follow-ups", params={"compound": "c1"}, headers=h).json()
    [follow] = listed["data"]
    assert (follow["case_id"], follow["flat"], follow["overdue"]) == (case["id"], ELDER, False)
    visit = {"compound": "c1", "follow_up_id": follow["id"], "outcome": "well"}
    nobody = client.post(f"{V1}/visits", json=visit, headers=h)  # an account of no staff member
    assert nobody.json()["detail"] == "visitor: name who went (a staff member or a party)"
    visit["visitor"] = "s-care"
    assert client.post(f"{V1}/visits", json=visit, headers=h).status_code == 201
    again = client.get(f"{V1}/follow-ups", params={"compound": "c1"}, headers=h).json()
    assert again["count"] == 0


def test_a_missed_meal_becomes_a_case_on_the_board(
    client: httpx.Client, headers: H, app: FastAPI, conn: psycopg.Connection[Any]
) -> None:
    h = headers["grid_worker"]
    meals = {
        "compound": "c1",
        "flat": ELDER,
        "meal": "lunch",
        "weekdays": [1, 2, 3, 4, 5, 6, 7],
        "deliverer": "p-care",
    }
    schedule = client.post(f"{V1}/meals", json=meals, headers=h)
    assert schedule.status_code == 201, schedule.text
    missed = {"compound": "c1", "schedule_id": schedule.json()["id"], "done": False}
    recorded = client.post(f"{V1}/deliveries", json=missed, headers=h)
    assert recorded.status_code == 201, recorded.text
    twice = client.post(f"{V1}/deliveries", json=missed, headers=h)
    assert twice.status_code == 422
    assert "recorded already" in twice.json()["detail"]
    state = app.state.dayuan
    care.run_once(conn, state.workflow, state.clock.now())
    care.run_once(conn, state.workflow, state.clock.now())
    board = client.get(
        "/api/v1/cases", params={"category": "meal_missed"}, headers=headers["care_responder"]
    ).json()
    assert board["count"] == 1
    assert board["data"][0]["flat"] == ELDER
    kpis = client.get(f"{V1}/kpis", params={"compound": "c1", "grid": "g2"}, headers=h).json()
    assert (kpis["deliveries_done"], kpis["deliveries_missed"]) == (0, 1)


def test_the_running_api_sweeps_by_itself(
    api_db: str, broker: Broker, clock: FakeClock, conn: psycopg.Connection[Any]
) -> None:
    """The lifespan's sweep, as `dayuan up` runs it: a missed meal recorded through the
    API becomes a case with nobody running `dayuan care sweep`."""
    app = create_app(config_for(api_db, broker, care_sweep_s=0.2), clock=clock)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as c:
        admin = bearer(login(c, "admin", ADMIN_PASSWORD))
        meals = {
            "compound": "c1",
            "flat": ELDER,
            "meal": "dinner",
            "weekdays": [1, 2, 3, 4, 5, 6, 7],
            "deliverer": "p-care",
        }
        schedule = c.post(f"{V1}/meals", json=meals, headers=admin).json()
        missed = {"compound": "c1", "schedule_id": schedule["id"], "done": False}
        assert c.post(f"{V1}/deliveries", json=missed, headers=admin).status_code == 201
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            found = conn.execute("SELECT category FROM cases").fetchall()
            if found:
                break
            time.sleep(0.05)
        assert found == [("meal_missed",)]


def test_the_main_kpis_carry_each_grids_care_figures_in_scope(
    client: httpx.Client, headers: H, clock: FakeClock, conn: psycopg.Connection[Any]
) -> None:
    """`GET /kpis` answers the care programmes per grid beside the cases' figures: what
    `GET /care/kpis` says of one grid, for every grid the caller sees (a grid worker of
    g2: g2 only)."""
    conn.execute("UPDATE households SET tags = '{elderly}' WHERE flat = '1-1-101'")
    admin = headers["admin"]
    start = (clock.now() - timedelta(days=10)).isoformat()
    assert make_plan(client, admin, starts_at=start).status_code == 201  # g2, overdue
    other = make_plan(client, admin, flat="1-1-101", tag="elderly")  # g1, due in a week
    assert other.status_code == 201, other.text
    meals = {"compound": "c1", "flat": ELDER, "meal": "lunch", "weekdays": [1, 2, 3, 4, 5, 6, 7]}
    schedule = client.post(f"{V1}/meals", json=meals | {"deliverer": "p-care"}, headers=admin)
    missed = {"compound": "c1", "schedule_id": schedule.json()["id"], "done": False}
    assert client.post(f"{V1}/deliveries", json=missed, headers=admin).status_code == 201

    answer = client.get("/api/v1/kpis", params={"by": "grid"}, headers=headers["viewer"])
    assert answer.status_code == 200, answer.text
    by_grid = {k["key"]: k for k in answer.json()["care"]}
    assert set(by_grid) == {"c1/g1", "c1/g2"}
    g2 = by_grid["c1/g2"]
    assert (g2["plans_active"], g2["visits_overdue"]) == (1, 1)
    assert (g2["deliveries_done"], g2["deliveries_missed"], g2["deliveries_unrecorded"]) == (
        0,
        1,
        0,
    )
    assert (by_grid["c1/g1"]["plans_active"], by_grid["c1/g1"]["visits_overdue"]) == (1, 0)
    one = client.get(
        f"{V1}/kpis", params={"compound": "c1", "grid": "g2"}, headers=headers["viewer"]
    ).json()
    assert {k: g2[k] for k in one if k in g2} == {k: one[k] for k in one if k in g2}

    worker = client.get("/api/v1/kpis", headers=headers["grid_worker"]).json()
    assert [k["key"] for k in worker["care"]] == ["c1/g2"]
