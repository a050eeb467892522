"""The drill works every open case through the real workflow, at the cases' own time."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

import bench
import cases
from dayuan.settings import Settings
from domain import Severity
from tests.factories import COMPOUND, LIGHT, SOS


def _open(
    conn: psycopg.Connection[Any], rule: str, device: str, severity: str, at: datetime
) -> None:
    workflow = cases.Workflow(clock=_Fixed(at), publisher=cases.NoPublisher())
    workflow.intake_alarm(
        conn,
        cases.AlarmNotice(
            fingerprint=f"{rule}:{device}",
            rule_id=rule,
            title=rule,
            severity=Severity(severity),
            category=rule,
            compound=COMPOUND,
            device_id=device,
            flat=None,
            values={},
            opened_at=at,
        ),
    )


class _Fixed:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def test_the_drill_closes_every_case_and_reports_kpis(
    db_url: str, conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    day = datetime(2026, 11, 20, tzinfo=UTC)
    _open(conn, "sos", SOS, "critical", day + timedelta(hours=9))
    _open(conn, "lamp_failure_night", LIGHT, "major", day + timedelta(hours=22))
    code = bench.drill(argparse.Namespace(seed=1, by="category"), Settings(database_url=db_url))
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cases_worked"] == 2
    by_key = {k["key"]: k for k in report["kpis"]}
    assert set(by_key) == {"sos", "lamp_failure_night"}
    assert by_key["sos"]["closure_rate"] == 1.0
    assert 0 < by_key["sos"]["ack_mean_s"] < 300  # the care centre's answer model
    states = {r[0] for r in conn.execute("SELECT state FROM cases")}
    assert states == {"closed"}
    acted = conn.execute("SELECT min(at) FROM case_events WHERE actor LIKE 'drill:%'").fetchone()
    assert acted is not None
    assert acted[0] >= day + timedelta(hours=9)  # the cases' own time, not the wall clock's
    assert acted[0] < day + timedelta(days=2)


def test_the_drill_refuses_production(db_url: str) -> None:
    settings = Settings.model_construct(env="production", database_url=db_url)
    with pytest.raises(RuntimeError, match="production"):
        bench.drill(argparse.Namespace(seed=1, by="category"), settings)
