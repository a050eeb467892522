"""A second `dayuan up` on the same data resumes: what is stored is not sent again and
no past incident is raised twice. The simulator and a gateway with the governance loop
run twice against one database, as `dayuan up` plays them (`_resume.plan`, the `up`
scenario only on a first start)."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

import registry
import simulators
from bench import account
from broker import MqttEndpoint
from dayuan import _resume
from domain import CompoundFile
from tests.factories import generated_compound
from tests.fix_gateway import GatewayFactory
from tests.fix_mqtt import FLEET, Broker, own_broker

HISTORY = timedelta(hours=1)  # the forced gate at +20m, the fall at +40m, the tamper at +50m
AWAY = timedelta(minutes=20)  # how long the demo was stopped between the two starts
COUNTS = (
    "SELECT (SELECT count(*) FROM telemetry WHERE ts < %(t)s),"
    " (SELECT count(*) FROM events WHERE ts < %(t)s),"
    " (SELECT count(*) FROM access_events WHERE ts < %(t)s),"
    " (SELECT count(*) FROM alarms WHERE first_seen < %(t)s),"
    " (SELECT count(*) FROM cases WHERE opened_at < %(t)s)"
)
# The incidents of the `up` scenario's first hour (rule ids of rules/catalogue.yaml): a
# resumed start raises none of them again. The gap's everyday life may raise its own
# alarms (a gate's tailgating, the lot full at night).
STRUCK = (
    "SELECT count(*) FROM alarms WHERE first_seen >= %s AND rule_id IN"
    " ('sos', 'fall', 'forced_open', 'gate_tamper', 'lamp_failure_night')"
)


@pytest.fixture
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A broker of this test's own: the generated compound's devices leave retained
    statuses behind, which no other test's gateway must meet."""
    with own_broker(tmp_path_factory.mktemp("resume-broker")) as own:
        yield own


def _play(
    conn: psycopg.Connection[Any],
    compound: CompoundFile,
    broker: Broker,
    history: _resume.History,
    manifest: Path,
) -> None:
    simulators.run_simulation(
        compound,
        start=history.start,
        duration=history.duration,
        rate=math.inf,
        mode="fleet",
        # Spontaneous incidents off: every alarm of the run is then one the test placed.
        spontaneous=False,
        scenario=simulators.load_scenario(simulators.UP_SCENARIO) if history.first else None,
        manifest=manifest,
        target=simulators.MqttTarget(
            MqttEndpoint(broker.host, broker.port, FLEET.username, FLEET.password)
        ),
    )
    sent = simulators.read_manifest(manifest)
    pause = threading.Event()
    for _ in range(120):  # the last batches commit a moment after the last publish
        conn.commit()
        if account(conn, sent).lost == 0:
            break
        pause.wait(0.5)
    conn.commit()
    assert account(conn, sent).lost == 0


def _settled(conn: psycopg.Connection[Any], t: datetime) -> tuple[Any, ...] | None:
    """COUNTS before `t` once two readings a second apart agree (at most a minute)."""
    pause = threading.Event()
    last = None
    for _ in range(60):
        now = conn.execute(COUNTS, {"t": t}).fetchone()
        conn.commit()
        if now == last:
            break
        last = now
        pause.wait(1)
    return last


def test_a_second_start_replays_nothing_already_stored(
    run_gateway: GatewayFactory, broker: Broker, conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    compound = generated_compound()
    registry.load(conn, compound, actor="test", now=datetime.now(UTC))
    first_start = datetime.now(UTC) - AWAY
    with run_gateway(with_cases=True):
        first = _resume.plan(conn, compound, now=first_start, history=HISTORY)
        assert first.first
        assert (first.start, first.duration) == (first_start - HISTORY, HISTORY)
        _play(conn, compound, broker, first, tmp_path / "first.jsonl")
        pause = threading.Event()
        for _ in range(60):  # the rule engine and the cases follow the stored messages
            (opened,) = conn.execute("SELECT count(*) FROM cases").fetchone() or (0,)
            conn.commit()
            if opened >= 3:
                break
            pause.wait(0.5)
        second_start = datetime.now(UTC)
        second = _resume.plan(conn, compound, now=second_start, history=HISTORY)
        assert not second.first
        assert first.end - timedelta(minutes=1) <= second.start <= first.end
        assert second.end == second_start
        # The rule engine and the cases may still be working through the first run's
        # backlog on a loaded machine: compare against counts that have stopped moving.
        before = _settled(conn, second.start)
        (incidents,) = conn.execute(STRUCK, (first.start,)).fetchone() or (0,)
        conn.commit()
        _play(conn, compound, broker, second, tmp_path / "second.jsonl")
        after = _settled(conn, second.start)  # a re-raised incident would reach the cases
        (struck,) = conn.execute(STRUCK, (second.start,)).fetchone() or (0,)
        (added,) = conn.execute(
            "SELECT count(*) FROM telemetry WHERE ts >= %s", (second.start,)
        ).fetchone() or (0,)
    assert before is not None
    assert after is not None
    assert before[0] > 1000, before
    assert before[4] >= 3, before
    assert incidents >= 2, "the first start plays the demo's incidents"
    assert after[:3] == before[:3], "stored history was sent again"
    assert added > 0, "the gap while the demo was stopped is replayed"
    assert after[3:] == before[3:], "an alarm or case of the stored past was raised again"
    assert struck == 0, "a past incident was raised again"
