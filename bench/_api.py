"""`dayuan bench api`: the API's main list and KPI routes at district scale (issue 20).

On a database of its own: the generated district (`--compounds`, 196 by default: the
case studies' subdistrict) loaded through the registry, a district's year of cases and
alarms and a day of events written straight in SQL (what matters is their number and
spread, not how they came), then the API served in process and each route asked
`--requests` times in turn, one request at a time. Printed as JSON: p50 and p99 of each
route in milliseconds beside the same run's baselines, `GET /healthz` (the HTTP stack
with no database) and `SELECT 1` (one database round trip), so the routes' cost reads
against what any request pays on this machine. The goal is a p99 of 200 ms or less.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from psycopg import sql

import registry
import simulators
from bench._ingest import scratch_database
from dayuan.settings import Settings

GOAL_P99_MS = 200.0
# A district's year: 196 compounds x ~2.1 cases a day (reports, patrol findings, alarm
# intakes; the case studies' compound opens 1-3 a day) x 365 = ~150,000.
DEFAULT_CASES = 150_000
# Alarms: about two per case (many clear by themselves or join an open case).
ALARMS_PER_CASE = 2
# A day of device events: ~4 per device (lamp switches, gate and door events).
EVENTS_PER_DEVICE = 4
# Requests before the timed ones: warm caches and plans, as a running server has.
WARMUP = 5
# The bench's own throwaway database and in-process API: nothing to keep secret.
PASSWORD = "bench-admin-password"  # noqa: S105
SECRET = "bench-token-secret-of-enough-length-for-hs256"  # noqa: S105
# The sweeps of a running API are not what is measured: they wait past the run.
QUIET_S = 24 * 3600.0
# The API migrates nothing here (the bench did) and starts in seconds; a loaded machine.
STARTUP_S = 120.0


_CASES = """
WITH g AS (
    SELECT compound_id, grid_id, building_id, row_number() OVER (ORDER BY compound_id,
        grid_id, building_id) - 1 AS n FROM grid_buildings),
s AS (
    SELECT i, %(start)s + (i::float8 / %(n)s) * INTERVAL '365 days' AS opened_at,
        floor(random() * (SELECT count(*) FROM g))::bigint AS pick, random() AS r
    FROM generate_series(0, %(n)s - 1) i)
INSERT INTO cases (compound_id, source, category, severity, title, state, version,
    grid_id, flat, reporter, opened_at, ack_due, resolve_due, acknowledged_at,
    resolved_at, closed_at, rating, escalations, updated_at)
SELECT g.compound_id,
    (ARRAY['resident', 'patrol', 'alarm'])[1 + (s.i %% 3)],
    (ARRAY['repair', 'sanitation', 'noise', 'parking', 'safety'])[1 + (s.i %% 5)],
    (ARRAY['minor', 'major', 'warning', 'critical'])[1 + (s.i %% 4)],
    'case ' || s.i,
    CASE WHEN s.opened_at > %(now)s - INTERVAL '7 days' AND s.r < 0.5 THEN 'in_progress'
         WHEN s.r < 0.03 THEN 'cancelled' ELSE 'closed' END,
    5, g.grid_id, g.building_id || '-1-101', 'r-' || (s.i %% 500),
    s.opened_at, s.opened_at + INTERVAL '15 minutes', s.opened_at + INTERVAL '1 day',
    s.opened_at + (s.r * 30) * INTERVAL '1 minute',
    s.opened_at + (s.r * 40) * INTERVAL '1 hour',
    s.opened_at + (s.r * 48) * INTERVAL '1 hour',
    CASE WHEN s.r < 0.6 THEN 3 + (s.i %% 3) END, (s.r < 0.1)::int,
    s.opened_at + (s.r * 48) * INTERVAL '1 hour'
FROM s JOIN g ON g.n = s.pick
ORDER BY s.i
"""
_ASSIGNMENTS = """
INSERT INTO case_assignments (case_id, party_kind, party_id, grid_id, assigned_at)
SELECT c.id, p.kind, p.id, c.grid_id, c.opened_at FROM cases c
JOIN LATERAL (SELECT kind, id FROM parties WHERE compound_id = c.compound_id
    ORDER BY (kind = 'property_company') DESC, id LIMIT 1) p ON true
"""
_ALARMS = """
WITH d AS (SELECT id, compound_id, row_number() OVER (ORDER BY id) - 1 AS n FROM devices),
s AS (
    SELECT i, %(start)s + (i::float8 / %(n)s) * INTERVAL '365 days' AS at,
        floor(random() * (SELECT count(*) FROM d))::bigint AS pick
    FROM generate_series(0, %(n)s - 1) i)
INSERT INTO alarms (fingerprint, rule_id, rule_version, title, severity, compound_id,
    device_id, subject, first_seen, last_seen, opened_at, updated_at, cleared_at,
    trigger_values)
SELECT 'device_offline:' || d.id || ':' || s.i, 'device_offline', 1, 'offline ' || d.id,
    'minor', d.compound_id, d.id, d.id, s.at, s.at, s.at, s.at,
    CASE WHEN s.at < %(now)s - INTERVAL '1 day' OR s.i %% 2 = 0 THEN s.at
        + INTERVAL '20 minutes' END,
    '{"type": "device_offline"}'::jsonb
FROM s JOIN d ON d.n = s.pick
ORDER BY s.i
"""
_EVENTS = """
WITH d AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM devices
    WHERE kind = 'light')
INSERT INTO events (device_id, ts, type, seq, channel, data, received_at)
SELECT d.id, %(now)s - (i::float8 / %(n)s) * INTERVAL '1 day', 'switch', i, 'event',
    '{"state": "on"}'::jsonb, %(now)s - (i::float8 / %(n)s) * INTERVAL '1 day'
FROM generate_series(0, %(n)s - 1) i
JOIN d ON d.n = i %% (SELECT count(*) FROM d)
"""


def _fill(url: str, compounds: int, cases: int, now: datetime) -> dict[str, Any]:
    start = now - timedelta(days=365)
    district = simulators.generate_compound(size=simulators.CompoundSize(compounds=compounds))
    with psycopg.connect(url) as conn:
        registry.load(conn, district, actor="bench api", now=now)
        conn.commit()
        devices = int(_one(conn, "SELECT count(*) FROM devices"))
        events = devices * EVENTS_PER_DEVICE
        # One partition holds the bench's day of events (the writer's are aligned chunks;
        # nothing writes here but the bench).
        conn.execute(
            sql.SQL(
                "CREATE TABLE events_bench PARTITION OF events FOR VALUES FROM ({}) TO ({})"
            ).format(sql.Literal(now - timedelta(days=2)), sql.Literal(now + timedelta(days=1)))
        )
        conn.execute(_CASES, {"start": start, "n": cases, "now": now})
        conn.execute(_ASSIGNMENTS)
        conn.execute(_ALARMS, {"start": start, "n": cases * ALARMS_PER_CASE, "now": now})
        conn.execute(_EVENTS, {"n": events, "now": now})
        conn.commit()
        conn.execute("ANALYZE")
        counts = {
            t: int(_one(conn, f"SELECT count(*) FROM {t}"))
            for t in ("compounds", "households", "residents", "devices", "cases", "alarms")
        }
    counts["events_last_day"] = events
    return counts


def _one(conn: psycopg.Connection[Any], query: str) -> Any:
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def _timed(call: Callable[[], None], requests: int) -> dict[str, float]:
    for _ in range(WARMUP):
        call()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return {"p50_ms": round(statistics.median(times), 2), "p99_ms": round(p99, 2)}


def _routes(client: httpx.Client, h: dict[str, str], cases: int) -> dict[str, dict[str, Any]]:
    """Each route's query; the deep pages lie at 90% of the cases."""
    deep = max(0, int(cases * 0.9) - 50)
    cursor = client.get("/api/v1/cases", params={"limit": 50, "offset": deep}, headers=h)
    alarms = client.get("/api/v1/alarms", params={"limit": 50, "offset": deep}, headers=h)
    year = {"from": (datetime.now(UTC) - timedelta(days=365)).isoformat()}
    return {
        "cases_first_page": {"path": "/api/v1/cases", "params": {"limit": 50}},
        "cases_compound_first_page": {
            "path": "/api/v1/cases",
            "params": {"limit": 50, "compound": "C001"},
        },
        "cases_deep_by_offset": {
            "path": "/api/v1/cases",
            "params": {"limit": 50, "offset": deep + 50},
        },
        "cases_deep_by_cursor": {
            "path": "/api/v1/cases",
            "params": {"limit": 50, "cursor": cursor.json()["next_cursor"]},
        },
        "alarms_first_page": {"path": "/api/v1/alarms", "params": {"limit": 50}},
        "alarms_deep_by_offset": {
            "path": "/api/v1/alarms",
            "params": {"limit": 50, "offset": deep + 50},
        },
        "alarms_deep_by_cursor": {
            "path": "/api/v1/alarms",
            "params": {"limit": 50, "cursor": alarms.json()["next_cursor"]},
        },
        "events_first_page": {"path": "/api/v1/events", "params": {"limit": 100}},
        "households_first_page": {"path": "/api/v1/households", "params": {"limit": 100}},
        "kpis_by_compound_30d": {"path": "/api/v1/kpis", "params": {"by": "compound"}},
        "kpis_by_party_30d": {"path": "/api/v1/kpis", "params": {"by": "party"}},
        "kpis_by_compound_year": {"path": "/api/v1/kpis", "params": {"by": "compound", **year}},
        "kpis_by_party_year": {"path": "/api/v1/kpis", "params": {"by": "party", **year}},
        "district": {"path": "/api/v1/district", "params": {}},
    }


@contextmanager
def _api(url: str) -> Iterator[str]:
    """`dayuan api` in a process of its own, as it is deployed (in this process, the
    client and the server would share one interpreter lock); yields its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "DAYUAN_DATABASE_URL": url,
        "DAYUAN_API_HOST": "127.0.0.1",
        "DAYUAN_API_PORT": str(port),
        "DAYUAN_ADMIN_PASSWORD": PASSWORD,
        "DAYUAN_TOKEN_SECRET": SECRET,
        "DAYUAN_ANNOUNCE_POLL_S": str(QUIET_S),
        "DAYUAN_PARKING_SWEEP_S": str(QUIET_S),
        "DAYUAN_LOG_LEVEL": "WARNING",
    }
    env.pop("DAYUAN_MQTT_URL", None)  # the routes measured publish nothing
    command = [sys.executable, "-m", "dayuan.cli", "api"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)  # the JSON is ours
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while not _up(base):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start on {base}")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _measure(url: str, requests: int, cases: int) -> dict[str, Any]:
    with (
        _api(url) as base,
        httpx.Client(base_url=base, timeout=120) as client,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        token = client.post(
            "/api/v1/auth/token", data={"username": "admin", "password": PASSWORD}
        ).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        baseline = {
            "healthz": _timed(lambda: _get(client, "/healthz", {}, {}), requests),
            "select_1": _timed(lambda: _select_1(conn), requests),
        }
        routes: dict[str, Any] = {}
        for name, route in _routes(client, h, cases).items():
            if client.get(route["path"], headers=h).status_code == 404:
                routes[name] = "absent"  # a route this build does not have (the district's)
                continue
            routes[name] = _timed(_getter(client, route["path"], route["params"], h), requests)
            print(f"{name}: {routes[name]}", file=sys.stderr)  # progress; stdout is the JSON
    return {"baseline": baseline, "routes": routes}


def _select_1(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SELECT 1").fetchone()


def _getter(
    client: httpx.Client, path: str, params: dict[str, Any], h: dict[str, str]
) -> Callable[[], None]:
    return lambda: _get(client, path, params, h)


def _get(client: httpx.Client, path: str, params: dict[str, Any], h: dict[str, str]) -> None:
    response = client.get(path, params=params, headers=h)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} {params}: {response.status_code} {response.text[:300]}")


def bench_api(args: argparse.Namespace, settings: Settings) -> int:
    now = datetime.now(UTC)
    with scratch_database(settings, prefix="dayuan_api", migrate="postgres") as url:
        started = time.perf_counter()
        counts = _fill(url, args.compounds, args.cases, now)
        filled_s = time.perf_counter() - started
        measured = _measure(url, args.requests, args.cases)
    timed = [r for r in measured["routes"].values() if isinstance(r, dict)]
    worst = max((r["p99_ms"] for r in timed), default=0.0)
    result = {
        "benchmark": "api",
        "rows": counts,
        "fill_s": round(filled_s, 1),
        "requests_per_route": args.requests,
        **measured,
        "goal_p99_ms": GOAL_P99_MS,
        "worst_p99_ms": worst,
        "goal_met": worst <= GOAL_P99_MS,
    }
    print(json.dumps(result, indent=2, default=str))
    return 0
