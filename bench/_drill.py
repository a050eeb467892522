"""`dayuan drill`: simulated responders work the open cases, then the KPIs are printed.

The device simulators make alarms; nobody in a demo acknowledges or resolves the cases
they open. The drill plays the parties: for every open case it draws a time to
acknowledge, to act and to resolve from the case's severity (SOS and fall from the
care-centre answer targets), records the action mode a responder of that category
would use, has the resident rate it and the grid close it - each step at the case's
own (possibly simulated) time, through the real workflow. For demos and KPI checks on
a disposable database: it refuses to run with DAYUAN_ENV=production.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import psycopg

import cases
from dayuan.settings import Settings

# Median seconds to acknowledge and to resolve, by severity (the SLA table's scale:
# most cases make their deadlines, a tail misses them, as the cities' 74-85% on-time
# rates say). SOS and fall: the care centre answers 97.5% within 60 s (TSA target).
MEDIANS_S = {
    "critical": (120.0, 3_600.0),
    "major": (300.0, 6 * 3_600.0),
    "minor": (1_200.0, 14 * 3_600.0),
    "warning": (3_600.0, 36 * 3_600.0),
}
CARE_ALARMS = {"sos", "fall"}
CARE_MEDIANS_S = (25.0, 1_800.0)
SPREAD = 0.6  # lognormal sigma: a right tail of slow responses
RATINGS = ([5, 4, 3, 2], [0.58, 0.27, 0.11, 0.04])  # satisfaction surveys skew high
CLOSE_AFTER = timedelta(hours=2)  # the grid verifies and closes


class _At:
    """The drill's clock: each step happens at the time it sets."""

    def __init__(self) -> None:
        self.value: datetime | None = None

    def now(self) -> datetime:
        assert self.value is not None
        return self.value


def drill(args: argparse.Namespace, settings: Settings) -> int:
    if settings.env == "production":
        raise RuntimeError("the drill plays responders: never on a production database")
    if settings.database_url is None:
        raise RuntimeError("set DAYUAN_DATABASE_URL")
    rng = np.random.default_rng(args.seed)
    clock = _At()
    workflow = cases.Workflow(clock=clock, publisher=cases.NoPublisher())
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        open_cases = [
            cases.get_case(conn, int(r[0]))
            for r in conn.execute(
                "SELECT id FROM cases WHERE state NOT IN ('closed', 'cancelled') ORDER BY opened_at"
            )
        ]
        # Every step of every case in one time line, so that the supervisor sees the
        # cases as they stand at each moment and escalates exactly what was late.
        steps = sorted(
            (step for case in open_cases for step in _plan(case, rng)), key=lambda s: s[0]
        )
        supervisor = cases.Supervisor(conn, workflow=workflow, clock=clock)
        versions = {case.id: case.version for case in open_cases}
        for at, case_id, act in steps:
            clock.value = at
            supervisor.run_once(at)
            version = cases.get_case(conn, case_id).version  # escalations raise it too
            versions[case_id] = act(conn, workflow, case_id, version).version
        row = conn.execute("SELECT min(opened_at), max(opened_at) FROM cases").fetchone()
        report: list[cases.Kpi] = []
        if row is not None and row[0] is not None:
            report = cases.kpis(
                conn,
                since=row[0],
                until=row[1] + timedelta(seconds=1),
                by=cases.KpiDimension(args.by),
            )
    print(
        json.dumps(
            {"cases_worked": len(open_cases), "by": args.by, "kpis": [_row(k) for k in report]},
            indent=2,
            default=str,
        )
    )
    return 0


Act = Callable[[psycopg.Connection[Any], cases.Workflow, int, int], cases.Case]


def _plan(case: cases.Case, rng: np.random.Generator) -> list[tuple[datetime, int, Act]]:
    ack_median, resolve_median = (
        CARE_MEDIANS_S if case.category in CARE_ALARMS else MEDIANS_S[case.severity.value]
    )
    ack = case.opened_at + timedelta(seconds=float(rng.lognormal(np.log(ack_median), SPREAD)))
    done = ack + timedelta(seconds=float(rng.lognormal(np.log(resolve_median), SPREAD)))
    actor = f"drill:{case.category}"
    action = cases.Action(_mode(case), "drill: attended")
    rating = int(rng.choice(RATINGS[0], p=RATINGS[1]))
    # A resident's own report is rated by the resident (cases.Workflow.rate).
    own = case.source is cases.Source.RESIDENT and case.reporter is not None
    rater = f"resident:{case.reporter}" if own else "drill:resident"
    plan: list[tuple[datetime, Act]] = [
        (ack, lambda c, w, i, v: w.acknowledge(c, i, actor=actor, version=v)),
        (ack, lambda c, w, i, v: w.start(c, i, actor=actor, version=v)),
        (
            ack + (done - ack) / 2,
            lambda c, w, i, v: w.record_action(c, i, action, actor=actor, version=v),
        ),
        (done, lambda c, w, i, v: w.resolve(c, i, actor=actor, version=v, note="drill: done")),
        (done, lambda c, w, i, v: w.rate(c, i, actor=rater, version=v, rating=rating)),
        (done + CLOSE_AFTER, lambda c, w, i, v: w.close(c, i, actor="drill:grid", version=v)),
    ]
    return [(at, case.id, act) for at, act in plan]


def _mode(case: cases.Case) -> cases.ActionMode:
    if case.category in CARE_ALARMS:
        return cases.ActionMode.ON_SITE_EMERGENCY
    if case.flat is not None:
        return cases.ActionMode.HOME_VISIT
    return (
        cases.ActionMode.DESK_RECEPTION
        if case.source.value == "report"
        else (
            cases.ActionMode.ON_SITE_EMERGENCY
            if case.severity.value == "critical"
            else cases.ActionMode.FOLLOW_UP_VISIT
        )
    )


def _row(kpi: cases.Kpi) -> dict[str, Any]:
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(kpi).items()}
