"""The live feed: alarm changes and case transitions as SSE, filtered by role and grid,
and a reconnect with Last-Event-ID that misses nothing and repeats nothing."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg

from tests.api import data

V1 = "/api/v1"


class Feed:
    """Reads an SSE stream on a thread of its own; `events` fills as they arrive."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        self.events: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._client = httpx.Client(base_url=base_url, timeout=30)
        self._headers = headers
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with self._client.stream("GET", f"{V1}/stream", headers=self._headers) as r:
                assert r.status_code == 200, r.read()
                for event in _parse(r.iter_lines()):
                    self.events.append(event)
        except httpx.HTTPError:
            if not self._stop.is_set():
                raise

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.events

    def close(self) -> None:
        """Hang up, as a client that loses its connection."""
        self._stop.set()
        self._client.close()
        self._thread.join(0.2)  # a blocked read ends when the server shuts down


def _parse(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    event: dict[str, Any] = {}
    for line in lines:
        if not line:
            if "event" in event:
                yield event
            event = {}
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(": ")
            event[name] = json.loads(value) if name == "data" else value


def _names(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for e in events:
        d = e["data"]
        out.append(
            f"alarm:{d['change']}:{d['rule_id']}"
            if e["event"] == "alarm"
            else f"case:{d['case_id']}:{d['transition']}"
            if e["event"] == "case"
            else e["event"]
        )
    return out


def test_feed_delivers_alarms_and_case_transitions_and_resumes_without_gaps(
    client: httpx.Client, headers: dict[str, dict[str, str]], conn: psycopg.Connection[Any]
) -> None:
    admin = headers["admin"]
    feed = Feed(str(client.base_url), admin)
    ready = feed.wait_for(1)[0]
    assert ready["event"] == "ready"
    sos = data.alarm(conn)
    report = {
        "compound": "c1",
        "category": "noise",
        "description": "party",
        "reporter": "r-1",
        "location": "1-1-101",
    }
    case = client.post(f"{V1}/cases", json=report, headers=admin).json()
    got = feed.wait_for(4)
    assert _names(got[1:]) == [
        "alarm:opened:sos",
        f"case:{case['id']}:opened",
        f"case:{case['id']}:dispatched",
    ]
    last_seen = got[-1]["id"]
    feed.close()
    data.alarm(conn, rule="lamp_failure_night", device="light-1", flat=None, severity="minor")
    data.clear_alarm(conn, sos)
    client.post(
        f"{V1}/cases/{case['id']}/acknowledge", json={"version": case["version"]}, headers=admin
    )
    resumed = Feed(str(client.base_url), {**admin, "Last-Event-ID": last_seen})
    again = resumed.wait_for(4)
    resumed.close()
    assert _names(again) == [
        "ready",
        "alarm:opened:lamp_failure_night",
        "alarm:cleared:sos",
        f"case:{case['id']}:acknowledged",
    ]
    assert again[0]["id"] == last_seen  # the cursor it resumed from


def test_feed_is_filtered_by_role_and_grid(
    client: httpx.Client, headers: dict[str, dict[str, str]], conn: psycopg.Connection[Any]
) -> None:
    grid = Feed(str(client.base_url), headers["grid_worker"])  # grid g2: building 3
    care = Feed(str(client.base_url), headers["care_responder"])
    grid.wait_for(1)
    care.wait_for(1)
    data.alarm(conn, rule="forced_open", device="gate-1", flat=None, severity="major")  # building 1
    data.alarm(conn)  # sos in 3-2-301
    data.alarm(conn, rule="lamp_failure_night", device="light-1", flat=None)  # no building
    grid_events = grid.wait_for(2)
    care_events = care.wait_for(2)
    time.sleep(1.2)  # two more polls: nothing else may arrive
    grid.close()
    care.close()
    assert _names(grid_events) == ["ready", "alarm:opened:sos"]
    assert _names(care_events) == ["ready", "alarm:opened:sos"]


def test_feed_requires_a_token(client: httpx.Client) -> None:
    assert client.get(f"{V1}/stream").status_code == 401
