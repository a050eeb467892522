"""`dayuan bench district`: how long `GET /api/v1/district` takes over a district, read
through a real uvicorn as an administrator (every compound) and as one grid worker (one
grid). Runs against DAYUAN_DATABASE_URL, a scratch database the district's compound
file was loaded into (`dayuan compound generate --compounds 196`, `dayuan registry
load`); `--cases N` first opens N cases there, spread over the compounds' households and
the last 20 days, some left waiting, some acknowledged, some closed (through
`cases.Workflow` with its clock set back, as if they had been worked then). The
database's `admin` gets a random password for the run. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

import api
import cases
import registry
from dayuan.settings import Settings
from domain import Severity

SPREAD = timedelta(days=20)  # cases opened over the last this long
# Severities as a desk grades reports: few critical, most minor.
SEVERITIES: tuple[Severity, ...] = (Severity.CRITICAL,) + (Severity.MAJOR,) * 3
SEVERITIES += (Severity.MINOR,) * 8 + (Severity.WARNING,) * 4
WAITING, HANDLING = 0.25, 0.45  # shares left unacknowledged, and acknowledged only
SEED = 20
FLATS_PAGE = 10_000  # flats read from the registry per query


@dataclass
class _SetClock:
    at: datetime

    def now(self) -> datetime:
        return self.at


def bench_district(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url is None:
        raise RuntimeError("set DAYUAN_DATABASE_URL to a scratch database with the district")
    result: dict[str, Any] = {"benchmark": "district", "reads": args.reads}
    if args.cases:
        result["opening_s"] = round(_open_cases(settings.database_url, args.cases), 1)
    with psycopg.connect(settings.database_url) as conn:
        result["cases"] = {s.value: n for s, n in cases.count_by_state(conn).items()}
        grids, _ = registry.grid_page(conn, registry.EVERYTHING, compound=None, limit=1, offset=0)
    if not grids:
        raise RuntimeError("the database has no registry: `dayuan registry load` the district")
    grid = f"{grids[0]['compound']}/{grids[0]['id']}"
    result["reads_ms"] = _time_reads(settings.database_url, grid, args.reads)
    print(json.dumps(result, indent=2))
    return 0


def _open_cases(url: str, n: int) -> float:
    rnd = random.Random(SEED)
    now = datetime.now(UTC)
    clock = _SetClock(now)
    flow = cases.Workflow(clock=clock)
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        flats = _flats(conn)
        if not flats:
            raise RuntimeError("the registry has no flats: `dayuan registry load` the district")
        for i in range(n):
            compound, flat = rnd.choice(flats)
            opened = now - SPREAD * rnd.random()
            clock.at = opened
            report = cases.Report(
                compound=compound,
                category=rnd.choice(cases.REPORT_CATEGORIES),
                description=f"bench case {i}",
                reporter=f"bench-{i}",
                location=flat,
                severity=rnd.choice(SEVERITIES),
            )
            case = flow.intake_report(conn, report).case
            fate = rnd.random()
            if fate < WAITING:
                continue
            clock.at = opened + timedelta(minutes=rnd.uniform(1, 90))
            if clock.at >= now:
                continue
            case = flow.acknowledge(conn, case.id, actor="bench", version=case.version)
            clock.at += timedelta(hours=rnd.uniform(0.1, 30))
            if fate < HANDLING or clock.at >= now:
                continue
            case = flow.start(conn, case.id, actor="bench", version=case.version)
            case = flow.resolve(conn, case.id, actor="bench", version=case.version, note="done")
            flow.close(conn, case.id, actor="bench", version=case.version)
    return time.perf_counter() - started


def _flats(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    """Every flat of the registry as (compound, standard address), a page at a time."""
    found: list[tuple[str, str]] = []
    while True:
        page, total = registry.flat_page(
            conn,
            registry.EVERYTHING,
            compound=None,
            building=None,
            limit=FLATS_PAGE,
            offset=len(found),
        )
        found += [(str(f["compound"]), str(f["address"])) for f in page]
        if not page or len(found) >= total:
            return found


def _time_reads(url: str, grid: str, reads: int) -> dict[str, Any]:
    password = secrets.token_urlsafe(16)
    config = api.ApiConfig(
        database_url=url, mqtt=None, admin_password=password, token_secret=secrets.token_hex(32)
    )
    out: dict[str, Any] = {}
    with (
        api.running(api.create_app(config), host="127.0.0.1", port=0) as base,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        with psycopg.connect(url, autocommit=True) as conn:  # a scratch database's admin
            api.reset_password(conn, "admin", password)
        admin = _login(client, "admin", password)
        user = f"bench-grid-{secrets.token_hex(3)}"
        body = {"username": user, "password": password, "role": "grid_worker", "grids": [grid]}
        client.post("/api/v1/users", json=body, headers=admin).raise_for_status()
        for who, headers in (("admin", admin), ("grid_worker", _login(client, user, password))):
            times, response = _reads(client, "/api/v1/district", headers, reads)
            floor, _ = _reads(client, "/api/v1/users/me", headers, reads)
            page = response.json()
            out[who] = {
                "compounds": page["count"],
                "open": sum(r["open"] for r in page["data"]),
                "median": round(statistics.median(times), 1),
                "max": round(max(times), 1),
                "bytes": len(response.content),
                # any authenticated read's round trip here, for scale
                "users_me_median": round(statistics.median(floor), 1),
            }
    return out


def _reads(
    client: httpx.Client, path: str, headers: dict[str, str], reads: int
) -> tuple[list[float], httpx.Response]:
    """The milliseconds of `reads` reads of `path` after one untimed (the pool warmed)."""
    client.get(path, headers=headers).raise_for_status()
    times = []
    for _ in range(reads):
        t0 = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append(1000 * (time.perf_counter() - t0))
        response.raise_for_status()
    return times, response


def _login(client: httpx.Client, username: str, password: str) -> dict[str, str]:
    form = {"username": username, "password": password}
    response = client.post("/api/v1/auth/token", data=form)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
