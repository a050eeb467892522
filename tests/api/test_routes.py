"""Each route, as an administrator (scoping by role is in test_scope.py, the matrix in
test_authorization.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

from tests.api import data
from tests.factories import GATE, dumps, now_ms, topic
from tests.fix_gateway import GatewayFactory, wait_for
from tests.fix_mqtt import Publisher

H = dict[str, str]
V1 = "/api/v1"


def test_devices_list_filters_and_detail_with_last_values(
    client: httpx.Client, admin: H, api_db: str
) -> None:
    data.store(
        api_db,
        (
            "dayuan/v1/c1/light/light-1/telemetry",
            {"ts": now_ms(timedelta(seconds=-5)), "values": {"power_w": 40.0}},
        ),
        ("dayuan/v1/c1/light/light-1/telemetry", {"ts": now_ms(), "values": {"lux": 3.0}}),
    )
    everything = client.get(f"{V1}/devices", headers=admin).json()
    assert everything["count"] == 21
    lights = client.get(f"{V1}/devices", params={"kind": "light", "limit": 5}, headers=admin).json()
    assert lights["count"] == 17
    assert len(lights["data"]) == 5
    online = client.get(f"{V1}/devices", params={"status": "online"}, headers=admin).json()
    assert [d["id"] for d in online["data"]] == ["light-1"]
    in_g2 = client.get(f"{V1}/devices", params={"grid": "g2"}, headers=admin).json()
    assert {d["id"] for d in in_g2["data"]} == {"sos-1", "wear-1"}
    detail = client.get(f"{V1}/devices/light-1", headers=admin).json()
    assert detail["online"] is True
    assert [v["key"] for v in detail["values"]] == ["lux", "power_w"]  # newest ts first
    missing = client.get(f"{V1}/devices/nope", headers=admin)
    assert missing.status_code == 404
    assert "nope" in missing.json()["detail"]
    bad = client.get(f"{V1}/devices", params={"kind": "toaster"}, headers=admin)
    assert bad.status_code == 422


def test_telemetry_series_from_the_rollup_and_bounded_ranges(
    client: httpx.Client, admin: H, conn: psycopg.Connection[Any]
) -> None:
    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    for h in range(4):
        data.rollup(conn, "light-1", "power_w", t0 + timedelta(hours=h), 10.0 * (h + 1))
        data.rollup(conn, "bench-1", "power_w", t0 + timedelta(hours=h), 30.0)
    params = {"from": t0.isoformat(), "to": (t0 + timedelta(days=1)).isoformat()}
    one = client.get(f"{V1}/telemetry", params={**params, "device": "light-1"}, headers=admin)
    assert one.status_code == 200, one.text
    (series,) = one.json()["series"]
    assert [p["avg"] for p in series["points"]] == [10.0, 20.0, 30.0, 40.0]
    group = client.get(
        f"{V1}/telemetry",
        params={**params, "compound": "c1", "kind": "light", "bucket": "6h"},
        headers=admin,
    ).json()
    (point,) = group["series"][0]["points"]
    assert point["avg"] == 27.5
    assert point["samples"] == 480
    assert group["devices"] == 17
    unbounded = client.get(
        f"{V1}/telemetry",
        params={"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z", "device": "light-1"},
        headers=admin,
    )
    assert unbounded.status_code == 422
    assert "400 days" in unbounded.json()["detail"]
    no_to = client.get(f"{V1}/telemetry", params={"from": params["from"]}, headers=admin)
    assert no_to.status_code == 422
    naive = client.get(
        f"{V1}/telemetry",
        params={"from": "2026-01-05T00:00:00", "to": params["to"], "device": "light-1"},
        headers=admin,
    )
    assert naive.status_code == 422


def test_events_and_access_events_are_apart_and_access_reads_are_audited(
    client: httpx.Client, admin: H, api_db: str, conn: psycopg.Connection[Any]
) -> None:
    data.store(
        api_db,
        ("dayuan/v1/c1/light/light-1/event", {"ts": now_ms(), "type": "switch", "state": "on"}),
        (
            "dayuan/v1/c1/gate/gate-1/event",
            {
                "ts": now_ms(),
                "type": "access",
                "result": "granted",
                "method": "face",
                "person_ref": "p-1",
                "score": 0.9,
            },
        ),
    )
    events = client.get(f"{V1}/events", headers=admin).json()
    assert [e["type"] for e in events["data"]] == ["switch"]
    access = client.get(f"{V1}/events/access", headers={**admin, "X-Purpose": "incident 42"}).json()
    assert access["data"][0]["data"]["person_ref"] == "p-1"
    row = conn.execute(
        "SELECT actor, action, route, reason FROM api_audit WHERE action = 'read_access_events'"
    ).fetchone()
    assert row == ("admin", "read_access_events", "GET /api/v1/events/access", "incident 42")
    too_long = client.get(
        f"{V1}/events",
        params={"from": "2025-01-01T00:00:00Z", "to": "2025-03-01T00:00:00Z"},
        headers=admin,
    )
    assert too_long.status_code == 422
    assert "31 days" in too_long.json()["detail"]


def test_alarms_list_filters_and_detail(
    client: httpx.Client, admin: H, conn: psycopg.Connection[Any]
) -> None:
    sos = data.alarm(conn)
    lamp = data.alarm(
        conn, rule="lamp_failure_night", device="light-1", flat=None, severity="minor"
    )
    data.clear_alarm(conn, lamp)
    open_ = client.get(f"{V1}/alarms", params={"state": "open"}, headers=admin).json()
    assert [a["id"] for a in open_["data"]] == [sos]
    minor = client.get(f"{V1}/alarms", params={"severity": "minor"}, headers=admin).json()
    assert [a["id"] for a in minor["data"]] == [lamp]
    detail = client.get(f"{V1}/alarms/{sos}", headers=admin).json()
    assert detail["rule_id"] == "sos"
    assert detail["values"] == {"type": "sos"}
    assert client.get(f"{V1}/alarms/999999", headers=admin).status_code == 404


def _report(client: httpx.Client, h: H, **changes: Any) -> dict[str, Any]:
    body = {
        "compound": "c1",
        "category": "repair",
        "description": "stairwell light out",
        "reporter": "r-1",
        "location": "3-2-301",
        **changes,
    }
    response = client.post(f"{V1}/cases", json=body, headers=h)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_case_workflow_through_the_api_with_optimistic_concurrency(
    client: httpx.Client, admin: H
) -> None:
    case = _report(client, admin)
    assert case["state"] == "dispatched"
    assert case["grid_id"] == "g2"
    cid, version = case["id"], case["version"]
    listed = client.get(f"{V1}/cases", params={"state": "dispatched"}, headers=admin).json()
    assert [c["id"] for c in listed["data"]] == [cid]
    acked = client.post(f"{V1}/cases/{cid}/acknowledge", json={"version": version}, headers=admin)
    assert acked.status_code == 200
    assert acked.json()["state"] == "acknowledged"
    stale = client.post(f"{V1}/cases/{cid}/start", json={"version": version}, headers=admin)
    assert stale.status_code == 409
    assert stale.json()["current_version"] == acked.json()["version"]
    version = acked.json()["version"]
    illegal = client.post(f"{V1}/cases/{cid}/close", json={"version": version}, headers=admin)
    assert illegal.status_code == 409
    assert "close" in illegal.json()["detail"]
    steps: list[tuple[str, dict[str, Any]]] = [
        ("start", {}),
        ("record-action", {"mode": "home_visit", "note": "replaced the bulb"}),
        ("resolve", {"note": "fixed"}),
        # A resident's report: staff record its rating only as taken by phone.
        ("rate", {"rating": 5, "comment": "quick", "by_phone": True}),
        ("close", {}),
        ("reopen", {"reason": "out again"}),
        ("note", {"note": "ordered a new fitting"}),
    ]
    for action, body in steps:
        done = client.post(
            f"{V1}/cases/{cid}/{action}", json={"version": version, **body}, headers=admin
        )
        assert done.status_code == 200, (action, done.text)
        version = done.json()["version"]
    detail = client.get(f"{V1}/cases/{cid}", headers=admin).json()
    transitions = [e["transition"] for e in detail["history"]]
    assert transitions[:3] == ["opened", "dispatched", "acknowledged"]
    assert transitions[-2:] == ["reopened", "note_added"]
    assert "acknowledge" in detail["allowed_actions"]
    bad = client.post(
        f"{V1}/cases/{cid}/record-action",
        json={"version": version, "mode": "joint_consultation", "note": "x"},
        headers=admin,
    )
    assert bad.status_code == 422
    assert "participants" in bad.json()["detail"]
    cancel = client.post(
        f"{V1}/cases/{cid}/cancel",
        json={"version": version, "reason": "not_responsible", "note": "police matter"},
        headers=admin,
    )
    assert cancel.status_code == 200
    assert cancel.json()["state"] == "cancelled"
    assert client.get(f"{V1}/cases/424242", headers=admin).status_code == 404


def test_kpis(client: httpx.Client, admin: H) -> None:
    _report(client, admin)
    _report(client, admin, category="noise")
    by_category = client.get(f"{V1}/kpis", params={"by": "category"}, headers=admin).json()
    assert {k["key"]: k["received"] for k in by_category["data"]} == {"noise": 1, "repair": 1}
    bad_tz = client.get(
        f"{V1}/kpis", params={"timezone": "Mars/Olympus", "period": "day"}, headers=admin
    )
    assert bad_tz.status_code == 422


def test_dead_letters_counts_and_samples(
    client: httpx.Client, admin: H, conn: psycopg.Connection[Any]
) -> None:
    for _ in range(3):
        data.dead_letter(conn, "malformed_json")
    data.dead_letter(conn, "oversized", b"\xff" * 10)
    body = client.get(f"{V1}/dead-letters", headers=admin).json()
    assert body["counts"] == [
        {"reason": "malformed_json", "count": 3},
        {"reason": "oversized", "count": 1},
    ]
    assert {s["payload_preview"] for s in body["samples"]} == {"{bad", "\ufffd" * 10}
    wrong = client.get(f"{V1}/dead-letters", params={"reason": "nonsense"}, headers=admin)
    assert wrong.status_code == 422


def test_dead_letters_show_no_face_bytes(
    run_gateway: GatewayFactory,
    fleet: Publisher,
    client: httpx.Client,
    admin: H,
    conn: psycopg.Connection[Any],
) -> None:
    marker = "FACE-MARKER-api-9e1"
    access = {"ts": now_ms(), "type": "access", "result": "granted", "method": "face"}
    with run_gateway():
        fleet.publish(topic("gate", GATE, "event"), dumps({**access, "face_template": marker * 50}))
        fleet.publish(topic("gate", GATE, "event"), dumps([access, {**access, "image": marker}]))
        # (Other tests' retained device statuses may add unknown_device letters.)
        faces = "SELECT count(*) FROM dead_letters WHERE reason = 'privacy_violation'"
        assert wait_for(conn, faces, 2) == 2
    response = client.get(f"{V1}/dead-letters", headers=admin)
    assert response.status_code == 200
    assert marker not in response.text
    body = response.json()
    assert {"reason": "privacy_violation", "count": 2} in body["counts"]
    samples = [s for s in body["samples"] if s["reason"] == "privacy_violation"]
    assert [(s["payload_preview"], s["refused"]) for s in samples] == [("", 1), ("", 1)]
    elements = [s["elements"] for s in samples]
    assert sorted(elements, key=str) == [None, [[1, "privacy_violation"]]]
    assert any("face_template (" in s["detail"] for s in samples)


def test_registry_routes(client: httpx.Client, admin: H) -> None:
    def get(path: str, **params: str) -> dict[str, Any]:
        response = client.get(f"{V1}/{path}", params=params, headers=admin)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    assert get("compounds")["data"][0] | {"devices": 21} == get("compounds/c1") | {"devices": 21}
    assert {b["id"]: b["grid"] for b in get("buildings")["data"]} == {"1": "g1", "3": "g2"}
    assert get("flats", building="3")["count"] == 4
    assert [h["flat"] for h in get("households", tag="elderly")["data"]] == ["3-2-301"]
    assert {r["ref"] for r in get("residents")["data"]} == {"r-1", "r-elder"}
    grids = {g["id"]: g for g in get("grids")["data"]}
    assert grids["g2"]["buildings"] == ["3"]
    assert grids["g2"]["team"] == {"cadre": ["s-cadre2"]}
    assert get("parties", kind="elderly_care_centre")["data"][0]["id"] == "p-care"
    assert {s["id"] for s in get("staff", role="grid_worker")["data"]} == {"s-cadre1", "s-cadre2"}
    assert client.get(f"{V1}/compounds/zz", headers=admin).status_code == 404


def test_resident_details_reach_care_and_admin_and_every_read_is_audited(
    client: httpx.Client, headers: dict[str, H], conn: psycopg.Connection[Any]
) -> None:
    path = f"{V1}/residents/c1/r-elder/details"
    for role in ("care_responder", "admin"):
        got = client.get(path, headers={**headers[role], "X-Purpose": "SOS follow-up"})
        assert got.status_code == 200, got.text
        assert got.json()["contact"] == "138-0000-0000"
    for role in ("grid_worker", "property_staff", "viewer"):
        refused = client.get(path, headers=headers[role])
        assert refused.status_code == 403
        assert "may not read resident details" in refused.json()["detail"]
    audit = conn.execute(
        "SELECT actor, subject, reason FROM api_audit WHERE action = 'read_resident_details'"
        " ORDER BY id"
    ).fetchall()
    assert audit == [
        ("u-care_responder", "c1/r-elder", "SOS follow-up"),
        ("admin", "c1/r-elder", "SOS follow-up"),
    ]
    reads = conn.execute("SELECT actor, purpose FROM personal_data_reads ORDER BY id").fetchall()
    assert reads == [("u-care_responder", "SOS follow-up"), ("admin", "SOS follow-up")]
    client.get(f"{V1}/residents", headers=headers["grid_worker"])
    listed = conn.execute(
        "SELECT actor, detail FROM api_audit WHERE action = 'read_residents'"
    ).fetchone()
    assert listed == ("u-grid_worker", {"refs": ["r-elder"]})  # grid g2 only


def test_users_admin(client: httpx.Client, admin: H) -> None:
    body = {"username": "w1", "password": "short", "role": "viewer"}
    weak = client.post(f"{V1}/users", json=body, headers=admin)
    assert weak.status_code == 422
    body["password"] = "long-enough-password"
    assert client.post(f"{V1}/users", json=body, headers=admin).status_code == 201
    assert client.post(f"{V1}/users", json=body, headers=admin).status_code == 409
    patched = client.patch(f"{V1}/users/w1", json={"active": False}, headers=admin)
    assert patched.json()["active"] is False
    assert client.get(f"{V1}/users", headers=admin).json()["count"] == 2
    assert client.patch(f"{V1}/users/ghost", json={}, headers=admin).status_code == 404


def test_audit_log_and_metrics(
    client: httpx.Client, admin: H, conn: psycopg.Connection[Any]
) -> None:
    client.get(f"{V1}/events/access", headers=admin)
    audit = client.get(f"{V1}/audit", params={"action": "read_access_events"}, headers=admin)
    assert audit.json()["count"] == 1
    data.alarm(conn)
    _report(client, admin)
    text = client.get("/metrics").text
    assert 'dayuan_open_alarms{severity="critical"} 1' in text
    assert 'dayuan_cases{state="dispatched"} 1' in text
    assert 'dayuan_devices{status="offline"} 21' in text


def test_bad_values_get_4xx_with_a_detail(client: httpx.Client, admin: H) -> None:
    nul = client.post(
        f"{V1}/cases",
        json={"compound": "c1", "category": "repair", "description": "a\u0000b", "reporter": "r"},
        headers=admin,
    )
    assert nul.status_code == 422
    unknown = client.post(
        f"{V1}/cases",
        json={"compound": "nowhere", "category": "repair", "description": "x", "reporter": "r"},
        headers=admin,
    )
    assert 400 <= unknown.status_code < 500
    assert unknown.json()["detail"]
    cursor = client.get(f"{V1}/stream", headers={**admin, "Last-Event-ID": "garbage"})
    assert cursor.status_code == 400
    assert "cursor" in cursor.json()["detail"]


def test_a_number_is_not_a_date(client: httpx.Client, admin: H) -> None:
    for path in ("events", "dead-letters", "kpis"):
        answered = client.get(f"{V1}/{path}", params={"to": "0.5"}, headers=admin)
        assert answered.status_code == 422, (path, answered.text)
        assert "ISO 8601" in answered.text
    iso = {"from": "2026-12-01T00:00:00+08:00", "to": "2026-12-02T00:00:00+08:00"}
    assert client.get(f"{V1}/events", params=iso, headers=admin).status_code == 200
