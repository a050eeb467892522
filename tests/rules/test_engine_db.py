"""The engine against a real PostgreSQL: restart survival, cross-process de-duplication,
the urgent path on the engine's thread, reload, and replay of stored history."""

from __future__ import annotations

import argparse
import json
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

import registry
from domain import Channel, CompoundFile, Severity
from rules import (
    ChangeKind,
    CollectingSink,
    Engine,
    RuleFileError,
    World,
    catalogue_path,
    load_rules,
    replay,
)
from rules.cli import replay_command
from tests.rules.harness import DAY, FLAT, FakeClock, compound, message

CID = "rc"
PREFIX = "rc-"
RC = compound(CID, PREFIX)
WORLD = World.from_compounds([RC])


@pytest.fixture
def rules_db(db_url: str) -> str:
    with psycopg.connect(db_url) as conn:
        registry.load(conn, CompoundFile(compounds=[RC]), actor="test", now=datetime.now(UTC))
    return db_url


@pytest.fixture
def pool(rules_db: str) -> Iterator[ConnectionPool[Any]]:
    with ConnectionPool(rules_db, min_size=1, max_size=4, open=True) as p:
        yield p


def _msg(device: str, channel: Channel, clock: FakeClock, **fields: Any) -> Any:
    return message(PREFIX + device, channel, fields, at=clock.now(), world=WORLD)


def _open(pool: ConnectionPool[Any], clock: FakeClock, **kw: Any) -> tuple[Engine, CollectingSink]:
    sink = CollectingSink()
    return Engine.open(pool, clock=clock, sink=sink, **kw), sink


def _of(sink: CollectingSink, rule: str, kind: ChangeKind) -> list[Any]:
    return [c for c in sink.changes if c.rule_id == rule and c.change is kind]


def test_timers_and_open_alarms_survive_a_restart(pool: ConnectionPool[Any]) -> None:
    """Three lives of the engine; inactivity 12 h (pre-warning at 11:50) in rc/3-2-301:

    t(h)  0:00 start, SOS | 0:05 restart, SOS again | 1:00 motion | 12:55 restart
          the SOS repeats the alarm opened before the first restart;
          at 12:55 the warning due at 12:50 fires at once (a timer restarted from zero
          would wait until 24:45) and the SOS clears on its restored quiet period
    """
    clock = FakeClock(DAY)
    a, sink_a = _open(pool, clock)
    a.tick()
    a.submit([_msg("sos-1", Channel.EVENT, clock, type="sos")])
    a.drain()
    sos_id = _of(sink_a, "sos", ChangeKind.OPENED)[0].alarm_id
    a.close()

    clock.advance(minutes=5)
    b, sink_b = _open(pool, clock)
    b.submit([_msg("sos-1", Channel.EVENT, clock, type="sos")])
    b.drain()
    assert [(c.alarm_id, c.count) for c in _of(sink_b, "sos", ChangeKind.UPDATED)] == [(sos_id, 2)]
    assert _of(sink_b, "sos", ChangeKind.OPENED) == []
    clock.advance(minutes=55)
    b.submit([_msg("motion-1", Channel.EVENT, clock, type="motion")])
    b.close()

    clock.advance(hours=11, minutes=55)
    c, sink_c = _open(pool, clock)
    c.tick()
    warning = _of(sink_c, "inactivity", ChangeKind.OPENED)
    assert [w.flat for w in warning] == [FLAT]
    assert warning[0].severity is Severity.WARNING
    assert [x.alarm_id for x in _of(sink_c, "sos", ChangeKind.CLEARED)] == [sos_id]
    clock.advance(minutes=10)
    c.tick()
    assert _of(sink_c, "inactivity", ChangeKind.UPDATED)[-1].severity is Severity.MAJOR
    c.close()


def test_two_engines_open_one_alarm_per_fingerprint(pool: ConnectionPool[Any]) -> None:
    clock = FakeClock(DAY)
    engines = [_open(pool, clock) for _ in range(2)]
    presses = [_msg("sos-1", Channel.EVENT, clock, type="sos", seq=1000 + i) for i in range(20)]
    start = threading.Barrier(2)

    def run(engine: Engine, share: list[Any]) -> None:
        start.wait()
        for m in share:
            engine.submit([m])
            engine.drain()

    # each engine gets half the presses, and both get the same first one (redelivery)
    shares = [[presses[0], *presses[1::2]], [presses[0], *presses[2::2]]]
    threads = [
        threading.Thread(target=run, args=(e, s)) for (e, _), s in zip(engines, shares, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    opened = [c for _, sink in engines for c in _of(sink, "sos", ChangeKind.OPENED)]
    assert len(opened) == 1
    with pool.connection() as conn:
        rows = conn.execute(
            "SELECT count(*), sum(count) FROM alarms WHERE fingerprint = %s",
            (f"sos:{PREFIX}sos-1",),
        ).fetchone()
    assert rows == (1, 20)
    for e, _ in engines:
        e.close()


def test_sos_is_emitted_by_the_engine_thread(pool: ConnectionPool[Any]) -> None:
    clock = FakeClock(DAY)
    emitted = threading.Event()

    class Sink:
        def emit(self, change: Any) -> None:
            if change.rule_id == "sos":
                emitted.set()

    engine = Engine.open(pool, clock=clock, sink=Sink())
    engine.start()
    try:
        background = [_msg("wear-1", Channel.TELEMETRY, clock, values={"heart_rate": 70})] * 2000
        engine.submit(background)
        engine.submit([_msg("sos-1", Channel.EVENT, clock, type="sos")])
        assert emitted.wait(5.0), "no alarm from the engine thread"
    finally:
        engine.close()
    assert engine.metrics.urgent == 1


def test_reload_keeps_the_running_rules_when_the_file_is_invalid(
    pool: ConnectionPool[Any], tmp_path: Path
) -> None:
    rules_file = tmp_path / "rules.yaml"
    shutil.copy(catalogue_path(), rules_file)
    engine, _ = _open(pool, FakeClock(DAY), rules_file=rules_file)
    before = set(engine._evaluator.logics)
    rules_file.write_text(
        rules_file.read_text(encoding="utf-8").replace("at_least: 5", "at_least: 1"),
        encoding="utf-8",
    )
    with pytest.raises(RuleFileError, match="repeated_denials"):
        engine.reload()
    assert set(engine._evaluator.logics) == before
    rules_file.write_text(
        rules_file.read_text(encoding="utf-8").replace("at_least: 1", "at_least: 3"),
        encoding="utf-8",
    )
    engine.reload()
    assert engine._evaluator.logics["repeated_denials"].rule.at_least == 3
    engine.close()


# --- replay -------------------------------------------------------------------------------


def _store_history(url: str) -> None:
    """Stored rows, as the gateway's writer leaves them: an SOS and 3 min of 140 bpm."""
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("telemetry", "events", "access_events"):
            conn.execute(f"CREATE TABLE {table}_all PARTITION OF {table} DEFAULT")
        conn.execute(
            "INSERT INTO events (device_id, ts, type, seq, channel, data, received_at)"
            " VALUES (%s, %s, 'sos', 1, 'event', '{\"type\": \"sos\"}', %s)",
            (PREFIX + "sos-1", DAY, DAY),
        )
        for minute in range(4):
            ts = DAY + timedelta(minutes=minute)
            conn.execute(
                "INSERT INTO telemetry (device_id, key, ts, value, seq) VALUES"
                " (%s, 'heart_rate', %s, 140, %s), (%s, 'battery', %s, 80, %s)",
                (PREFIX + "wear-1", ts, minute, PREFIX + "wear-1", ts, minute),
            )


def test_replay_reports_what_would_have_fired_and_raises_nothing(rules_db: str) -> None:
    _store_history(rules_db)
    with psycopg.connect(rules_db) as conn:
        report = replay(
            conn, load_rules(), start=DAY - timedelta(hours=1), end=DAY + timedelta(hours=1)
        )
        summary = report.summary()
        assert summary["rules"]["sos"]["opened"] == 1
        assert summary["rules"]["heart_rate_out_of_range"]["opened"] == 1
        assert "gate_offline" not in summary["rules"]  # silence cannot be judged from history
        only = replay(
            conn, load_rules(), start=DAY, end=DAY + timedelta(hours=1), only=["low_battery"]
        )
        assert only.summary()["rules"] == {"low_battery": {"opened": 0, "repeats": 0}}
        assert conn.execute("SELECT count(*) FROM alarms").fetchone() == (0,)


def test_replay_command_prints_json(rules_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    _store_history(rules_db)
    args = argparse.Namespace(
        start=DAY, end=DAY + timedelta(hours=1), rule=["sos"], rules_file=None, json=True
    )
    settings = argparse.Namespace(database_url=rules_db)
    assert replay_command(args, settings) == 0
    lines = capsys.readouterr().out
    first = json.loads(lines.splitlines()[0])
    assert (first["rule"], first["change"]) == ("sos", "opened")


def test_wait_settled_returns_once_what_was_submitted_has_its_alarm_stored(
    pool: ConnectionPool[Any],
) -> None:
    # What `dayuan rules run` waits for before it acknowledges a batch to the broker.
    clock = FakeClock(DAY)
    engine, _ = _open(pool, clock)
    assert engine.wait_settled(0.0), "nothing submitted: settled at once"
    engine.submit([_msg("sos-1", Channel.EVENT, clock, type="sos")])
    assert not engine.wait_settled(0.2), "not started: nothing evaluated, nothing to ack"
    engine.start()
    try:
        assert engine.wait_settled(10.0)
        with pool.connection() as conn:
            row = conn.execute("SELECT count(*) FROM alarms WHERE rule_id = 'sos'").fetchone()
        assert row == (1,)
    finally:
        engine.close()


def test_a_replay_of_the_past_is_judged_on_its_own_time(pool: ConnectionPool[Any]) -> None:
    """Six hours behind the clock, a door opens and closes 10 s later (event time); the
    engine ticks between the two messages. On the wall clock the door would have been
    open for six hours: held open. On the stream's time it was open 10 s: nothing. A
    door that opens and is never heard of again is still held open once its 30 s have
    passed on the stream's time, which runs on with the clock in silence (behind the
    newest event by the median lag of the latest messages: here the close's, 10:00:10).
    A lamp whose clock runs 5 min ahead, heard beside them, moves nothing.

        clock   16:00:00.0  16:00:00.1                     +20 s     +60 s
        events  10:00 open  10:00:10 closed, 10:00:40 open (quiet)
        judged  10:00:00    10:00:10                       10:00:30  10:01:10: raise
    """
    clock = FakeClock(DAY + timedelta(hours=6))
    engine, sink = _open(pool, clock)
    past = DAY

    def door(state: str, at: datetime) -> Any:
        return message(
            PREFIX + "gate-1",
            Channel.EVENT,
            {"type": "door", "state": state},
            at=at,
            received=clock.now(),
            world=WORLD,
        )

    ahead = message(
        PREFIX + "light-1",
        Channel.TELEMETRY,
        {"values": {"power_w": 30.0}},
        at=past + timedelta(minutes=5),
        received=clock.now(),
        world=WORLD,
    )
    engine.submit([door("open", past), ahead])
    engine.drain()
    engine.tick()
    clock.advance(seconds=0.1)
    engine.submit([door("closed", past + timedelta(seconds=10))])
    engine.drain()
    engine.tick()
    assert _of(sink, "door_held_open", ChangeKind.OPENED) == []

    engine.submit([door("open", past + timedelta(seconds=40))])
    engine.drain()
    clock.advance(seconds=20)
    engine.tick()
    assert _of(sink, "door_held_open", ChangeKind.OPENED) == []  # 20 s of silence
    clock.advance(seconds=40)
    engine.tick()
    assert [c.device for c in _of(sink, "door_held_open", ChangeKind.OPENED)] == [PREFIX + "gate-1"]
    engine.close()
