"""Walking the lists by keyset cursor: every item exactly once, in the list's order, while
rows are added meanwhile; `offset` still pages; a cursor changed by hand or taken from
another list is 422 with the reason; a cursor only positions (the scope still filters)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import psycopg

from tests.api import data
from tests.factories import now_ms

H = dict[str, str]
V1 = "/api/v1"


def _walk(
    client: httpx.Client,
    h: H,
    path: str,
    params: dict[str, Any],
    between: Callable[[int], None] = lambda page: None,
) -> list[dict[str, Any]]:
    """Every item of a list, page by page by `next_cursor`; `between(n)` after page n."""
    seen: list[dict[str, Any]] = []
    cursor = None
    for page in range(1000):
        query = {**params, **({} if cursor is None else {"cursor": cursor})}
        response = client.get(f"{V1}/{path}", params=query, headers=h)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
        between(page)
    raise AssertionError("the walk never ended")


def _report(client: httpx.Client, h: H, n: int, location: str = "1-1-101") -> int:
    body = {
        "compound": "c1",
        "category": "repair",
        "description": f"light {n} out",
        "reporter": "r-1",
        "location": location,
    }
    response = client.post(f"{V1}/cases", json=body, headers=h)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_walking_cases_gives_each_once_newest_first_while_cases_are_opened(
    client: httpx.Client, admin: H
) -> None:
    before = sorted((_report(client, admin, n) for n in range(7)), reverse=True)
    opened_meanwhile: list[int] = []

    def open_one(page: int) -> None:
        opened_meanwhile.append(_report(client, admin, 100 + page))

    walked = _walk(client, admin, "cases", {"limit": 3}, open_one)

    ids = [c["id"] for c in walked]
    assert ids == before  # newer cases are in front of the walk, not in it
    assert opened_meanwhile
    assert all(i > before[0] for i in opened_meanwhile)
    first = client.get(f"{V1}/cases", params={"limit": 3}, headers=admin).json()
    assert first["count"] == len(before) + len(opened_meanwhile)
    everything = [c["id"] for c in _walk(client, admin, "cases", {"limit": 50})]
    by_offset = client.get(f"{V1}/cases", params={"limit": 3, "offset": 3}, headers=admin)
    assert [c["id"] for c in by_offset.json()["data"]] == everything[3:6]


def test_walking_alarms_gives_each_once_while_alarms_are_raised(
    client: httpx.Client, admin: H, conn: psycopg.Connection[Any]
) -> None:
    def raise_one(page: int) -> None:
        data.clear_alarm(conn, data.alarm(conn, device="light-1", rule=f"lamp_{page}"))
        conn.commit()

    expected = []
    for n in range(6):
        expected.append(data.alarm(conn, device="light-1", rule=f"stuck_{n}"))
    conn.commit()
    walked = _walk(client, admin, "alarms", {"limit": 4}, raise_one)
    assert [a["id"] for a in walked] == sorted(expected, reverse=True)


def test_walking_events_with_equal_times_gives_each_once_in_order(
    client: httpx.Client, admin: H, api_db: str
) -> None:
    ts = now_ms(timedelta(seconds=-30))
    lights = ["light-1"] + [f"bench-{i}" for i in range(9)]
    event = {"ts": ts, "type": "switch", "state": "on"}
    data.store(api_db, *((f"dayuan/v1/c1/light/{d}/event", event) for d in lights))
    window: dict[str, Any] = {"limit": 3, "kind": "light"}
    later = {"ts": ts + 10_000, "type": "switch", "state": "off"}

    def store_one(page: int) -> None:
        data.store(api_db, (f"dayuan/v1/c1/light/bench-{10 + page}/event", later))

    walked = _walk(client, admin, "events", window, store_one)
    assert [(e["device_id"], e["type"]) for e in walked] == [(d, "switch") for d in sorted(lights)]


def test_registry_lists_devices_and_the_audit_walk_like_one_long_page(
    client: httpx.Client, admin: H, headers: dict[str, H]
) -> None:
    client.get(f"{V1}/residents", headers=admin)  # an audit row or two to walk
    for path, key in [
        ("households", ("compound", "flat")),
        ("residents", ("compound", "flat", "ref")),
        ("devices", ("id",)),
        ("audit", ("id",)),
    ]:
        whole = client.get(f"{V1}/{path}", params={"limit": 500}, headers=admin).json()
        assert whole["next_cursor"] is None
        walked = _walk(client, admin, path, {"limit": 1})
        if path == "audit":  # walking reads residents: the log grows behind the walk
            assert [a["id"] for a in walked] == [a["id"] for a in whole["data"]]
            continue
        assert [tuple(x[k] for k in key) for x in walked] == [
            tuple(x[k] for k in key) for x in whole["data"]
        ], path
        assert len(walked) == whole["count"] > 1, path


def test_a_changed_or_foreign_cursor_is_422_with_the_reason(client: httpx.Client, admin: H) -> None:
    for n in range(3):
        _report(client, admin, n)
    cursor = client.get(f"{V1}/cases", params={"limit": 1}, headers=admin).json()["next_cursor"]
    body, mac = cursor.split(".")
    tampered = [
        f"{body[:-1]}{'A' if body[-1] != 'A' else 'B'}.{mac}",
        f"{body}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",
        "not-a-cursor",
    ]
    for bad in tampered:
        response = client.get(f"{V1}/cases", params={"cursor": bad}, headers=admin)
        assert response.status_code == 422, bad
    refused = client.get(f"{V1}/cases", params={"cursor": tampered[0]}, headers=admin)
    assert "start again from the first page" in refused.json()["detail"]
    foreign = client.get(f"{V1}/alarms", params={"cursor": cursor}, headers=admin)
    assert foreign.status_code == 422
    assert "another list" in foreign.json()["detail"]


def test_a_cursor_only_positions_the_scope_still_filters(
    client: httpx.Client, admin: H, headers: dict[str, H]
) -> None:
    mine = [_report(client, admin, n, location="3-1-301") for n in range(3)]  # g2's
    others = [_report(client, admin, 10 + n) for n in range(3)]  # g1's, newest
    cursor = client.get(f"{V1}/cases", params={"limit": 1}, headers=admin).json()["next_cursor"]
    page = client.get(f"{V1}/cases", params={"cursor": cursor}, headers=headers["grid_worker"])
    assert page.status_code == 200, page.text
    ids = [c["id"] for c in page.json()["data"]]
    assert ids == sorted(mine, reverse=True)
    assert not set(ids) & set(others)
