"""A rules test bench: a fake clock, a small compound, and an evaluator whose alarms go
to memory. Tests drive it message by message and tick by tick; nothing sleeps."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from domain import (
    Building,
    Channel,
    Compound,
    Device,
    Grid,
    Household,
    HouseholdTag,
    Kind,
    Message,
    Topic,
    Unit,
    schema_for,
)
from rules import (
    AlarmBook,
    AlarmChange,
    AlarmStore,
    ChangeKind,
    CollectingSink,
    Evaluator,
    MemoryAlarmStore,
    RuleSet,
    World,
    load_rules,
)

CID = "c1"
# Hangzhou, 21 June 2024: sunrise ~04:50, sunset ~19:05 local (UTC+8).
DAY = datetime(2024, 6, 21, 4, 0, tzinfo=UTC)  # 12:00 local
NIGHT = datetime(2024, 6, 21, 15, 0, tzinfo=UTC)  # 23:00 local
FLAT, VACANT_FLAT, PLAIN_FLAT = "3-2-301", "3-2-302", "3-2-303"


def compound(cid: str = CID, prefix: str = "") -> Compound:
    p = prefix

    def dev(id_: str, kind: Kind, model: str, **kw: Any) -> Device:
        return Device(id=p + id_, kind=kind, model=model, **kw)

    return Compound(
        id=cid,
        name="Rules test compound",
        lat=30.27,
        lon=120.16,
        buildings=[
            Building(id="1"),
            Building(id="3", units=[Unit(id="2", flats=["301", "302", "303"])]),
        ],
        households=[
            Household(flat=FLAT, tags=[HouseholdTag.EMPTY_NEST]),
            Household(flat=VACANT_FLAT, tags=[HouseholdTag.VACANT, HouseholdTag.ELDERLY]),
            Household(flat=PLAIN_FLAT, tags=[]),
        ],
        grids=[Grid(id=f"{cid}-g1", buildings=["3"]), Grid(id=f"{cid}-g2", buildings=["1"])],
        devices=[
            dev("gate-1", Kind.GATE, "face_gate", address="1"),
            dev("barrier-1", Kind.BARRIER, "plate_barrier"),
            dev("barrier-2", Kind.BARRIER, "plate_barrier"),
            *[dev(f"light-{i}", Kind.LIGHT, "led") for i in range(1, 9)],
            dev("sos-1", Kind.ELDER, "sos_pendant", address=FLAT),
            dev("fall-1", Kind.ELDER, "fall_detector", address=FLAT),
            dev("motion-1", Kind.ELDER, "motion", address=FLAT),
            dev("wear-1", Kind.ELDER, "wearable", address=FLAT, heartbeat_s=60),
            dev("motion-2", Kind.ELDER, "motion", address=VACANT_FLAT),
            dev("motion-3", Kind.ELDER, "motion", address=PLAIN_FLAT),
        ],
    )


WORLD = World.from_compounds([compound()])


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


def ruleset(*ids: str, path: Any = None) -> RuleSet:
    """Catalogue rules by id, enabled (disabled ones included when asked for)."""
    rs = load_rules(path)
    chosen = [r.model_copy(update={"enabled": True}) for r in rs.rules if not ids or r.id in ids]
    return RuleSet(version=rs.version, rules=tuple(chosen))


_SEQ = itertools.count(1)


def message(
    device: str,
    channel: Channel,
    fields: dict[str, Any],
    *,
    at: datetime,
    received: datetime | None = None,
    world: World = WORLD,
    seq: int | None = None,
) -> Message:
    info = world.devices[device]
    document = {"ts": at, "seq": next(_SEQ) if seq is None else seq, **fields}
    body = schema_for(info.kind, channel).validate_python(document)
    return Message(Topic(info.compound, info.kind, device, channel), body, received or at)


@dataclass
class Harness:
    rules: RuleSet
    clock: FakeClock
    store: AlarmStore
    sink: CollectingSink
    evaluator: Evaluator

    @classmethod
    def of(
        cls,
        *ids: str,
        start: datetime = DAY,
        rules: RuleSet | None = None,
        world: World = WORLD,
    ) -> Harness:
        rs = rules or ruleset(*ids)
        sink, store = CollectingSink(), MemoryAlarmStore()
        evaluator = Evaluator(rs, world, AlarmBook(store, sink, {}))
        return cls(rs, FakeClock(start), store, sink, evaluator)

    # --- input ----------------------------------------------------------------------------

    def build(self, device: str, channel: Channel, at: datetime | None = None, **f: Any) -> Message:
        return message(device, channel, f, at=at or self.clock.now(), received=self.clock.now())

    def process(self, messages: Sequence[Message]) -> None:
        self.evaluator.process(messages, self.clock.now())

    def event(self, device: str, type: str, **fields: Any) -> Message:
        m = self.build(device, Channel.EVENT, type=type, **fields)
        self.process([m])
        return m

    def telemetry(self, device: str, **values: Any) -> Message:
        m = self.build(device, Channel.TELEMETRY, values=values)
        self.process([m])
        return m

    def status(self, device: str, online: bool) -> Message:
        m = self.build(device, Channel.STATUS, online=online)
        self.process([m])
        return m

    def tick(self, **delta: float) -> Harness:
        self.clock.advance(**delta)
        self.evaluator.tick(self.clock.now())
        return self

    # --- output ---------------------------------------------------------------------------

    def changes(self, rule: str, kind: ChangeKind | None = None) -> list[AlarmChange]:
        return [
            c for c in self.sink.changes if c.rule_id == rule and (kind is None or c.change is kind)
        ]

    def opened(self, rule: str) -> list[AlarmChange]:
        return self.changes(rule, ChangeKind.OPENED)

    def cleared(self, rule: str) -> list[AlarmChange]:
        return self.changes(rule, ChangeKind.CLEARED)

    def open_alarms(self, rule: str) -> list[Any]:
        return [a for a in self.store.open_alarms() if a.rule_id == rule]
