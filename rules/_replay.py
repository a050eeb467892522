"""Replay: re-evaluate stored history and report what would have fired.

Rows of `telemetry`, `events` and `access_events` between two instants are turned back
into domain messages in event-time order and fed to an evaluator whose clock follows
the data (ticking every `tick` of data time) and whose alarms go to memory: nothing is
raised, nothing is written. A telemetry sample stored as narrow rows becomes one message
again. Silence-based rules are left out unless asked for by name: pure heartbeats are
not stored, so history cannot tell a silent device from a healthy one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from pydantic import ValidationError

import ingest
from domain import Channel, Kind, Message, Topic, schema_for
from rules._alarms import AlarmChange, ChangeKind, CollectingSink, MemoryAlarmStore
from rules._book import AlarmBook
from rules._definitions import RuleSet
from rules._errors import RulesError
from rules._evaluator import Evaluator
from rules._world import World

# Timers are evaluated every 10 s of data time: finer than any catalogue duration but
# the 30 s door rule, which it resolves to within a third.
REPLAY_TICK = timedelta(seconds=10)
# Kinds replay cannot judge from stored history (see the module docstring).
SILENCE_KINDS = frozenset({"heartbeat"})


class _DataClock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


@dataclass(slots=True)
class ReplayReport:
    start: datetime
    end: datetime
    rules: list[str]
    messages: int = 0
    skipped: int = 0  # rows that no longer validate, or of devices gone from the registry
    changes: list[AlarmChange] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        per_rule: dict[str, dict[str, int]] = {r: {"opened": 0, "repeats": 0} for r in self.rules}
        for c in self.changes:
            entry = per_rule.setdefault(c.rule_id, {"opened": 0, "repeats": 0})
            if c.change is ChangeKind.OPENED:
                entry["opened"] += 1
            elif c.change is ChangeKind.UPDATED:
                entry["repeats"] += 1
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "messages": self.messages,
            "skipped": self.skipped,
            "rules": per_rule,
        }


def replay_rules(ruleset: RuleSet, only: Sequence[str] | None) -> RuleSet:
    """The rules a replay evaluates: those named, or every enabled one but silence rules."""
    if only:
        unknown = sorted(set(only) - {r.id for r in ruleset.rules})
        if unknown:
            raise RulesError(f"no such rule(s): {', '.join(unknown)}")
        chosen = [r.model_copy(update={"enabled": True}) for r in ruleset.rules if r.id in only]
    else:
        chosen = [r for r in ruleset.enabled() if r.kind not in SILENCE_KINDS]
    return RuleSet(version=ruleset.version, rules=tuple(chosen))


def replay(
    conn: psycopg.Connection[Any],
    ruleset: RuleSet,
    *,
    start: datetime,
    end: datetime,
    only: Sequence[str] | None = None,
    tick: timedelta = REPLAY_TICK,
) -> ReplayReport:
    if end <= start:
        raise RulesError("replay needs --from before --to")
    chosen = replay_rules(ruleset, only)
    world = World.from_database(conn)
    sink = CollectingSink()
    book = AlarmBook(MemoryAlarmStore(), sink, {})
    evaluator = Evaluator(chosen, world, book)
    report = ReplayReport(start, end, [r.id for r in chosen.rules], changes=sink.changes)
    clock, next_tick = _DataClock(start), start
    for message in _messages(conn, world, start, end, report):
        while next_tick <= message.ts:
            clock.at = next_tick
            evaluator.tick(next_tick)
            next_tick += tick
        clock.at = max(clock.at, message.ts)
        evaluator.process([message], clock.at)
        report.messages += 1
    while next_tick <= end:
        evaluator.tick(next_tick)
        next_tick += tick
    return report


def _messages(
    conn: psycopg.Connection[Any],
    world: World,
    start: datetime,
    end: datetime,
    report: ReplayReport,
) -> Iterator[Message]:
    pending: tuple[str, datetime, int | None, dict[str, float]] | None = None
    rows = ingest.history(conn, start=start, end=end)
    for device, ts, seq, channel, _type, key, value, data, received in rows:
        if channel == "telemetry":
            if pending is not None and (pending[0], pending[1]) == (device, ts):
                pending[3][str(key)] = float(value or 0.0)
                continue
            if pending is not None:
                yield from _telemetry(world, pending, report)
            pending = (device, ts, seq, {str(key): float(value or 0.0)})
            continue
        if pending is not None:
            yield from _telemetry(world, pending, report)
            pending = None
        yield from _event(world, device, ts, seq, channel, data or {}, received or ts, report)
    if pending is not None:
        yield from _telemetry(world, pending, report)


def _message(
    world: World,
    device: str,
    channel: Channel,
    document: dict[str, Any],
    received: datetime,
    report: ReplayReport,
) -> Iterator[Message]:
    info = world.devices.get(device)
    if info is None:
        report.skipped += 1
        return
    try:
        body = schema_for(Kind(info.kind), channel).validate_python(document)
    except (ValidationError, ValueError):
        report.skipped += 1
        return
    yield Message(Topic(info.compound, info.kind, device, channel), body, received)


def _telemetry(
    world: World,
    row: tuple[str, datetime, int | None, dict[str, float]],
    report: ReplayReport,
) -> Iterator[Message]:
    device, ts, seq, values = row
    document = {"ts": ts, "seq": seq, "values": values}
    yield from _message(world, device, Channel.TELEMETRY, document, ts, report)


def _event(
    world: World,
    device: str,
    ts: datetime,
    seq: int,
    channel: str,
    data: dict[str, Any],
    received: datetime,
    report: ReplayReport,
) -> Iterator[Message]:
    document = {**data, "ts": ts, "seq": None if seq < 0 else seq}
    yield from _message(world, device, Channel(channel), document, received, report)
