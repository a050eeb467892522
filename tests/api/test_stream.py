"""The live feed: alarm changes and case transitions as SSE, filtered by role and grid,
a reconnect with Last-Event-ID that misses nothing and repeats nothing; many streams on
one poller and no held connection, the per-user limit, and streams ended by the server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import psycopg
import pytest
from fastapi import FastAPI

from api import create_app
from tests.api import data
from tests.api.conftest import (
    ADMIN_PASSWORD,
    PASSWORD,
    FakeClock,
    bearer,
    config_for,
    login,
    serve,
)
from tests.fix_mqtt import Broker

V1 = "/api/v1"


class Feed:
    """Reads an SSE stream on a thread of its own; `events` fills as they arrive."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        self.events: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self.done = threading.Event()  # the server ended the stream, or it was closed
        self.status: int | None = None
        self._client = httpx.Client(base_url=base_url, timeout=30)
        self._headers = headers
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with self._client.stream("GET", f"{V1}/stream", headers=self._headers) as r:
                self.status = r.status_code
                assert r.status_code == 200, r.read()
                for event in _parse(r.iter_lines()):
                    self.events.append(event)
        except httpx.HTTPError:
            if not self._stop.is_set():
                raise
        finally:
            self.done.set()

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


# Generous: the machines running the tests are shared; nothing here asserts a duration.
ENDS_WITHIN_S = 30.0
MANY_STREAMS = 200  # twenty times the pool's connections


@contextlib.contextmanager
def _served(
    api_db: str, broker: Broker, clock: FakeClock, **overrides: Any
) -> Iterator[tuple[FastAPI, httpx.Client]]:
    app = create_app(config_for(api_db, broker, **overrides), clock=clock)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as c:
        yield app, c


def _user(client: httpx.Client, admin: dict[str, str], name: str) -> dict[str, str]:
    body = {"username": name, "password": PASSWORD, "role": "viewer", "grids": []}
    assert client.post(f"{V1}/users", json=body, headers=admin).status_code == 201
    return bearer(login(client, name, PASSWORD))


def _in_use(app: FastAPI) -> int:
    stats = app.state.dayuan.pool.get_stats()
    return int(stats["pool_size"]) - int(stats["pool_available"])


async def _open(client: httpx.AsyncClient, stack: contextlib.AsyncExitStack, h: Any) -> Any:
    """A stream, read up to its `ready` event, left open on `stack`."""
    response = await stack.enter_async_context(client.stream("GET", f"{V1}/stream", headers=h))
    assert response.status_code == 200
    lines = response.aiter_lines()
    async for line in lines:
        if line == "event: ready":
            return lines
    raise AssertionError("the stream ended before `ready`")


async def _until_alarm(lines: Any) -> None:
    async for line in lines:
        if line == "event: alarm":
            return
    raise AssertionError("the stream ended before the alarm")


def test_many_streams_hold_no_connection_and_share_one_poller(
    api_db: str, broker: Broker, clock: FakeClock, conn: psycopg.Connection[Any]
) -> None:
    with _served(api_db, broker, clock, streams_per_user=MANY_STREAMS) as (app, sync):
        admin = bearer(login(sync, "admin", ADMIN_PASSWORD))

        async def scenario() -> None:
            limits = httpx.Limits(max_connections=MANY_STREAMS + 10)
            async with (
                httpx.AsyncClient(base_url=str(sync.base_url), timeout=60, limits=limits) as c,
                contextlib.AsyncExitStack() as stack,
            ):
                streams = await asyncio.gather(
                    *(_open(c, stack, admin) for _ in range(MANY_STREAMS))
                )
                users = await c.get(f"{V1}/users", headers=admin)
                assert users.status_code == 200, users.text  # not 503: the pool is free
                # At most the poller's read, the sweeper's and the last request's return:
                # none of the open streams holds a connection.
                assert _in_use(app) <= 3
                await anyio.to_thread.run_sync(data.alarm, conn)
                with anyio.fail_after(ENDS_WITHIN_S):
                    await asyncio.gather(_until_alarm(streams[0]), _until_alarm(streams[-1]))

        asyncio.run(scenario())


def test_one_stream_too_many_for_a_user_is_refused_with_429(
    api_db: str, broker: Broker, clock: FakeClock
) -> None:
    with _served(api_db, broker, clock, streams_per_user=2) as (_, client):
        admin = bearer(login(client, "admin", ADMIN_PASSWORD))
        viewer = _user(client, admin, "u-screens")
        feeds = [Feed(str(client.base_url), viewer) for _ in range(2)]
        for feed in feeds:
            assert feed.wait_for(1, timeout=ENDS_WITHIN_S)[0]["event"] == "ready"
        refused = client.get(f"{V1}/stream", headers=viewer)
        assert refused.status_code == 429
        assert "2 open live feeds" in refused.json()["detail"]
        other = Feed(str(client.base_url), admin)  # the limit is per user
        assert other.wait_for(1, timeout=ENDS_WITHIN_S)[0]["event"] == "ready"
        feeds[0].close()  # the slot comes back once the server sees the hang-up
        again = _retry_until_not_429(client, viewer)
        assert again == "ready"
        for feed in (*feeds[1:], other):
            feed.close()


def _retry_until_not_429(client: httpx.Client, h: dict[str, str]) -> str:
    deadline = time.monotonic() + ENDS_WITHIN_S
    while time.monotonic() < deadline:
        with client.stream("GET", f"{V1}/stream", headers=h) as r:
            if r.status_code != 429:
                assert r.status_code == 200
                return next(e for e in _parse(r.iter_lines()))["event"]
        time.sleep(0.1)
    raise AssertionError("the closed stream's slot never came back")


@pytest.mark.parametrize(
    "change", [{"active": False}, {"password": "a-new-password-of-enough-length"}]
)
def test_disabling_the_user_or_changing_their_password_ends_their_stream(
    change: dict[str, Any], api_db: str, broker: Broker, clock: FakeClock
) -> None:
    with _served(api_db, broker, clock, stream_recheck_s=0.1) as (_, client):
        admin = bearer(login(client, "admin", ADMIN_PASSWORD))
        viewer = _user(client, admin, "u-leaver")
        feed = Feed(str(client.base_url), viewer)
        watcher = Feed(str(client.base_url), admin)
        assert feed.wait_for(1, timeout=ENDS_WITHIN_S)[0]["event"] == "ready"
        watcher.wait_for(1, timeout=ENDS_WITHIN_S)
        patched = client.patch(f"{V1}/users/u-leaver", json=change, headers=admin)
        assert patched.status_code == 200, patched.text
        assert feed.done.wait(ENDS_WITHIN_S)
        assert feed.events[-1]["event"] == "end"
        assert feed.events[-1]["data"] == {"reason": "account_changed"}
        assert not watcher.done.is_set()  # the others' streams go on
        feed.close()
        watcher.close()


def test_a_stream_ends_when_its_token_expires(
    api_db: str, broker: Broker, clock: FakeClock
) -> None:
    with _served(api_db, broker, clock, token_ttl_s=600) as (_, client):
        admin = bearer(login(client, "admin", ADMIN_PASSWORD))
        feed = Feed(str(client.base_url), admin)
        assert feed.wait_for(1, timeout=ENDS_WITHIN_S)[0]["event"] == "ready"
        clock.advance(seconds=601)  # the injected clock: the poller's next look ends it
        assert feed.done.wait(ENDS_WITHIN_S)
        feed.close()
        assert feed.events[-1]["event"] == "end"
        assert feed.events[-1]["data"] == {"reason": "token_expired"}
        assert client.get(f"{V1}/stream", headers=admin).status_code == 401
