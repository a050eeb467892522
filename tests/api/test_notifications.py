"""A case's notifications at GET /api/v1/cases/{id}/notifications and their gauges at
/metrics: the channel shows scheme and host, never the contact URL's secrets."""

from __future__ import annotations

import httpx
from psycopg_pool import ConnectionPool

import cases
import notify
from domain import SystemClock
from tests.api.conftest import Conn
from tests.cases.conftest import sos


def test_notifications_of_a_case_and_their_gauges(
    client: httpx.Client, headers: dict[str, dict[str, str]], conn: Conn, api_db: str
) -> None:
    case = cases.Workflow(clock=SystemClock()).intake_alarm(conn, sos()).case
    with ConnectionPool(api_db, min_size=1, max_size=2) as pool:
        planner = notify.Notifier(pool, clock=SystemClock(), deliver=notify.Channels())
        assert planner.plan() > 0  # the test registry's staff have no contact points
    got = client.get(f"/api/v1/cases/{case.id}/notifications", headers=headers["admin"])
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["count"] == len(body["data"]) > 0
    assert {n["state"] for n in body["data"]} == {"failed"}
    assert {n["last_error"] for n in body["data"]} == {"the recipient has no contact points"}
    assert (
        client.get("/api/v1/cases/999999/notifications", headers=headers["admin"]).status_code
        == 404
    )
    metrics = client.get("/metrics").text
    assert f'dayuan_notifications{{state="failed"}} {body["count"]}' in metrics
    assert "dayuan_notify_outbox_unplanned 0" in metrics
