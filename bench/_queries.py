"""`dayuan bench queries`: the reads of a long history, p50 and p99 beside a `SELECT 1`
round trip measured in the same run, on a database of its own (issue 21: a device's
series over 30 days p99 <= 50 ms, a district's KPIs <= 200 ms).

The history is written straight into storage, not replayed over MQTT:
- telemetry: one simulated day of the reference compound (631 devices, the product's
  `Simulation` through the gateway's `Intake`, as `bench alarms` plays it) is the
  template of every day of `--days`; each day is copied in with `ingest.copy_telemetry`
  (binary COPY, the table's own dirty marks) and `ingest.refresh_rollups` fills
  `telemetry_hourly` from it as maintenance does. `--per-hour` keeps that many readings
  of each series and hour (0: all of them, ~377,000 rows a day): the rollup has the same
  rows whatever it is, only its sample counts change, and the raw rows are what make a
  year take an hour to load;
- cases: `--cases-per-day` per compound of a district of `--compounds` (the registry's
  compounds; the others than the reference one are small: only their ids matter), each
  as it stands a while after (`cases.copy_cases`).

Measured, `--runs` times each, interleaved: the series of one light (7 keys) through
`ingest.hourly_series` (what `GET /telemetry` calls) and through the route on a real
uvicorn, over 1 day (1 h buckets), 30 days (1 h) and a year (1 d); `cases.kpis` by
compound over the year, for the district. EXPLAIN ANALYZE of the 30-day series and of
the KPIs is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

import cases
import ingest
import registry
from api import ApiConfig, create_app, running
from bench._ingest import scratch_database
from dayuan.settings import Settings
from domain import CompoundFile, Telemetry
from gateway import Intake, Limits
from rules import World
from simulators import CompoundSize, Publish, Simulation, generate_compound

# The rollups are refreshed after this many days are copied in: a day's marks are one
# per hour listing its 631 devices, a week's are few enough for one refresh statement.
REFRESH_EVERY_DAYS = 7
# The light whose series is read: a street light reports 7 keys every 5 minutes.
DEVICE = "C001-L-001"
ADMIN_PASSWORD = "bench-queries-admin-password"  # noqa: S105 - a database of its own, dropped
# The cases' outcomes as they stand a while later (shares of the received).
OUTCOMES = (("closed", 0.86), ("cancelled", 0.04), ("merged", 0.02), ("resolved", 0.04))
CATEGORIES = ("repair", "environment", "parking", "noise", "public_affairs", "tailgating")
SEVERITIES = ("minor", "warning", "major", "critical")
# A read far off its goal is not called `--runs` times (200 KPI queries of 4 s would be
# most of the run): its p99 is then of fewer samples, and says how many.
READ_BUDGET_S = 60.0
PLAN_LINES = 40  # of each plan in the result: the nodes that cost, not the whole tree


def _registry(conn: psycopg.Connection[Any], compounds: int, now: datetime) -> CompoundFile:
    """The reference compound in full, and the district's other compounds small."""
    reference = generate_compound(seed=0)
    registry.load(conn, reference, actor="bench:queries", now=now)
    if compounds > 1:
        small = CompoundSize(compounds=compounds, buildings=1, parking_spaces=10)
        district = generate_compound(seed=0, size=small)
        # With the district's organisations: the small compounds' parties name them.
        rest = CompoundFile(compounds=district.compounds[1:], organisations=district.organisations)
        registry.load(conn, rest, actor="bench:queries", now=now)
        return CompoundFile(compounds=[*reference.compounds, *rest.compounds])
    return reference


# --- telemetry -------------------------------------------------------------------------

Template = list[tuple[str, str, timedelta, float, int | None]]


def _template(reference: CompoundFile, day: datetime, per_hour: int) -> Template:
    """One simulated day's telemetry as offsets from `day`, `per_hour` readings of each
    series and hour at most (0: all)."""
    intake = Intake(devices=World.from_compounds(reference.compounds).devices.get, limits=Limits())
    sim = Simulation(reference, start=day, seed=0)
    kept: dict[tuple[str, str, int], int] = {}
    rows: Template = []
    while sim.next_at() < day + timedelta(days=1):
        at, items = sim.step()
        for item in items:
            if not isinstance(item, Publish):
                continue
            for message in intake.accept(item.topic, item.payload, at).messages:
                body = message.body
                if not isinstance(body, Telemetry) or not day <= body.ts < day + timedelta(days=1):
                    continue
                offset = body.ts - day
                for key, value in body.values.as_floats().items():
                    series = (message.topic.device, key, int(offset // timedelta(hours=1)))
                    kept[series] = kept.get(series, 0) + 1
                    if per_hour == 0 or kept[series] <= per_hour:
                        rows.append((message.topic.device, key, offset, value, body.seq))
    return rows


def _load_telemetry(url: str, template: Template, start: datetime, days: int) -> dict[str, Any]:
    copied, copy_s, refresh_s, rollup_rows = 0, 0.0, 0.0, 0
    seqs = max((r[4] or 0 for r in template), default=0) + 1
    with psycopg.connect(url, autocommit=True) as conn:
        for d in range(days):
            day = start + timedelta(days=d)
            rows = (
                (dev, k, day + off, v, None if q is None else q + d * seqs)
                for dev, k, off, v, q in template
            )
            began = time.perf_counter()
            copied += ingest.copy_telemetry(conn, rows, start=day, end=day + timedelta(days=1))
            copy_s += time.perf_counter() - began
            if (d + 1) % REFRESH_EVERY_DAYS == 0 or d == days - 1:
                began = time.perf_counter()
                rollup_rows += ingest.refresh_rollups(conn)
                refresh_s += time.perf_counter() - began
    return {
        "days": days,
        "rows_per_day": len(template),
        "telemetry_rows": copied,
        "rollup_rows": rollup_rows,
        "copy_s": round(copy_s, 1),
        "rows_per_s": round(copied / copy_s) if copy_s else None,
        "refresh_s": round(refresh_s, 1),
    }


# --- cases -----------------------------------------------------------------------------


def _past_cases(
    district: CompoundFile, start: datetime, days: int, per_day: float, now: datetime
) -> Iterator[cases.PastCase]:
    """The district's cases day by day, in the order they were opened (as the table
    receives them: its heap is in time order, which is what a range scan meets)."""
    rng = random.Random(21)
    grids: dict[str, list[str | None]] = {
        c.id: [g.id for g in c.grids] or [None] for c in district.compounds
    }
    owed = dict.fromkeys(grids, 0.0)
    for d in range(days):
        day = start + timedelta(days=d)
        opened: list[tuple[datetime, str]] = []
        for compound in grids:
            owed[compound] += per_day
            count, owed[compound] = int(owed[compound]), owed[compound] % 1
            opened += [
                (day + timedelta(seconds=rng.uniform(0, 86400)), compound) for _ in range(count)
            ]
        for at, compound in sorted(opened):
            yield _past_case(rng, compound, rng.choice(grids[compound]), at, now)


def _past_case(
    rng: random.Random, compound: str, grid: str | None, opened: datetime, now: datetime
) -> cases.PastCase:
    acked = opened + timedelta(minutes=rng.expovariate(1 / 20))
    resolved = acked + timedelta(hours=rng.expovariate(1 / 18))
    settled = resolved + timedelta(hours=rng.uniform(1, 48))
    draw, state = rng.random(), cases.State.IN_PROGRESS
    for name, share in OUTCOMES:
        if draw < share:
            state = cases.State(name)
            break
        draw -= share
    if settled > now and state is not cases.State.CANCELLED:
        state = cases.State.IN_PROGRESS
    done = state in (cases.State.CLOSED, cases.State.RESOLVED)
    return cases.PastCase(
        compound_id=compound,
        source="alarm" if rng.random() < 0.6 else "resident",
        category=rng.choice(CATEGORIES),
        severity=rng.choice(SEVERITIES),
        title="bench case",
        state=state,
        grid_id=grid,
        opened_at=opened,
        ack_due=opened + timedelta(minutes=30),
        resolve_due=opened + timedelta(hours=24),
        updated_at=min(settled, now),
        escalations=int(rng.random() < 0.1),
        acknowledged_at=acked if acked < now else None,
        resolved_at=resolved if done else None,
        rating=rng.randint(1, 5) if state is cases.State.CLOSED and rng.random() < 0.5 else None,
    )


# --- measuring -------------------------------------------------------------------------


def _quantiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49], 2),
        "p99_ms": round(cuts[98], 2),
        "max_ms": round(max(samples), 2),
    }


def _timed(runs: int, cases_: dict[str, Callable[[], object]]) -> dict[str, dict[str, float]]:
    """Each case `runs` times, interleaved (so a burst of other work on the machine falls
    on all of them), after one warm-up call each; a case stops once its calls took
    READ_BUDGET_S in all (`samples` says how many it had)."""
    for call in cases_.values():
        call()
    samples: dict[str, list[float]] = {name: [] for name in cases_}
    for _ in range(runs):
        for name, call in cases_.items():
            if sum(samples[name]) > READ_BUDGET_S * 1000:
                continue
            began = time.perf_counter()
            call()
            samples[name].append((time.perf_counter() - began) * 1000)
    return {name: _quantiles(s) | {"samples": len(s)} for name, s in samples.items()}


RANGES = {"1d": (timedelta(days=1), "1h"), "30d": (timedelta(days=30), "1h")}
RANGES["365d"] = (timedelta(days=365), "1d")


def _reads(
    conn: psycopg.Connection[Any], http: httpx.Client, end: datetime, year: datetime
) -> dict[str, Callable[[], object]]:
    steps = {"1h": timedelta(hours=1), "1d": timedelta(days=1)}
    found: dict[str, Callable[[], object]] = {
        "select_1": lambda: conn.execute("SELECT 1").fetchall()
    }
    for name, (span, bucket) in RANGES.items():
        start = max(end - span, year)

        def series(start: datetime = start, bucket: str = bucket) -> object:
            return ingest.hourly_series(
                conn, [DEVICE], start=start, end=end, step=steps[bucket], key=None, per_device=True
            )

        def route(start: datetime = start, bucket: str = bucket) -> object:
            params = {"device": DEVICE, "from": start.isoformat(), "to": end.isoformat()}
            answer = http.get("/api/v1/telemetry", params={**params, "bucket": bucket})
            answer.raise_for_status()
            return answer.json()

        found[f"series_{name}"] = series
        found[f"route_{name}"] = route
    found["kpis_by_compound_365d"] = lambda: cases.kpis(
        conn, since=year, until=end, by=cases.KpiDimension.COMPOUND
    )
    return found


def _explain(conn: psycopg.Connection[Any], end: datetime, year: datetime) -> dict[str, list[str]]:
    """The plans, with their timings, of the 30-day series and of the KPIs, as the
    functions send them (auto_explain at NOTICE level: the query text stays the owner's).
    Empty when the server does not let this role load auto_explain."""
    notes: list[str] = []
    try:
        conn.execute("LOAD 'auto_explain'")
    except psycopg.Error:
        return {}
    conn.execute("SET auto_explain.log_analyze = on")
    conn.execute("SET auto_explain.log_level = notice")
    conn.add_notice_handler(lambda d: notes.append(str(d.message_primary)))
    plans: dict[str, list[str]] = {}
    conn.execute("SET auto_explain.log_min_duration = 0")
    try:
        start = end - timedelta(days=30)
        ingest.hourly_series(
            conn, [DEVICE], start=start, end=end, step=timedelta(hours=1), key=None, per_device=True
        )
        plans["series_30d"] = _plan_lines(notes)
        notes.clear()
        cases.kpis(conn, since=year, until=end, by=cases.KpiDimension.COMPOUND)
        plans["kpis_by_compound_365d"] = _plan_lines(notes)
    finally:
        conn.execute("SET auto_explain.log_min_duration = -1")
    return plans


def _plan_lines(notes: list[str]) -> list[str]:
    """The duration and the plan, without the query's text (the owner's, in its module)."""
    lines = [line for line in "\n".join(notes).splitlines() if line.strip()]
    first = next((i for i, line in enumerate(lines) if "(cost=" in line), len(lines))
    return lines[:1] + lines[first : first + PLAN_LINES]


@contextmanager
def _api(url: str) -> Iterator[httpx.Client]:
    config = ApiConfig(
        database_url=url,
        mqtt=None,
        admin_password=ADMIN_PASSWORD,
        token_secret="bench-queries-token-secret-of-enough-length-for-hs256",  # noqa: S106
        announce_poll_s=0,
        parking_sweep_s=0,
        care_sweep_s=0,
    )
    with (
        running(create_app(config), host="127.0.0.1", port=0) as base,
        httpx.Client(base_url=base, timeout=60) as http,
    ):
        login = {"username": "admin", "password": ADMIN_PASSWORD}
        token = http.post("/api/v1/auth/token", data=login).raise_for_status().json()
        http.headers["Authorization"] = f"Bearer {token['access_token']}"
        yield http


def bench_queries(args: argparse.Namespace, settings: Settings) -> int:
    now = datetime.now(UTC)
    end = now.replace(hour=0, minute=0, second=0, microsecond=0)
    year = end - timedelta(days=args.days)
    began = time.perf_counter()
    with scratch_database(settings, prefix="dayuan_queries", migrate="postgres") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            district = _registry(conn, args.compounds, now)
        template = _template(
            CompoundFile(compounds=district.compounds[:1]), end - timedelta(days=1), args.per_hour
        )
        telemetry = _load_telemetry(url, template, year, args.days)
        with psycopg.connect(url, autocommit=True) as conn:
            loading = time.perf_counter()
            past = _past_cases(district, year, args.days, args.cases_per_day, now)
            copied = cases.copy_cases(conn, past)
            cases_s = time.perf_counter() - loading
            conn.execute("VACUUM ANALYZE")
            with _api(url) as http:
                reads = _reads(conn, http, end, year)
                timings = _timed(args.runs, reads)
                answer = reads["route_30d"]()
            keys = len(answer["series"]) if isinstance(answer, dict) else 0
            plans = _explain(conn, end, year)
    result = {
        "benchmark": "queries",
        "device": DEVICE,
        "telemetry": telemetry,
        "cases": {
            "compounds": len(district.compounds),
            "cases": copied,
            "copy_s": round(cases_s, 1),
        },
        "runs": args.runs,
        "ms": timings,
        "series_keys": keys,
        "plans": plans,
        "total_s": round(time.perf_counter() - began, 1),
    }
    print(json.dumps(result, indent=2, default=str))
    return 0
