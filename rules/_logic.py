"""The running half of a rule: a `Logic` holds one rule's state per subject.

Like a bytewax window operator, a logic takes items (`on_item`), is asked to close
what time has decided (`on_tick(now)`), and can `snapshot` and `restore` a subject's
state, which is plain JSON so that it survives a restart. Items are messages
resolved against the registry once, shared by every rule they reach. Time inside a
rule is event time (the device's `ts`, never later than its reception); timers
compare it with the injected clock's `now`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import TypeAdapter

from domain import Channel, Message, Severity, Status, Telemetry
from rules._alarms import Signal, Subject
from rules._definitions import Match, Rule, Scope
from rules._sun import Phase, phase
from rules._world import DeviceInfo, World

# Payload fields an alarm does not carry as evidence (`ts` is added as text).
_NOT_EVIDENCE = frozenset({"ts", "values"})
# The watermark of a state that has seen nothing yet.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Item:
    """One message, resolved: the device it came from, its event time, its values."""

    message: Message
    device: DeviceInfo
    channel: Channel
    type: str  # the event type; "telemetry", "status" or "ack" for the other channels
    at: datetime
    values: Mapping[str, float]

    @property
    def received_at(self) -> datetime:
        return self.message.received_at

    def field(self, name: str) -> Any:
        value = getattr(self.message.body, name, None)
        return self.values.get(name) if value is None else value

    def trigger(self) -> str:
        body = self.message.body
        seq = "-" if body.seq is None else str(body.seq)
        return f"{self.device.id}|{body.ts.isoformat()}|{seq}|{self.type}"

    def evidence(self) -> dict[str, Any]:
        """The message's fields, as the alarm carries them."""
        body = self.message.body
        data: dict[str, Any] = {
            k: v for k, v in body.__dict__.items() if v is not None and k not in _NOT_EVIDENCE
        }
        data["ts"] = body.ts.isoformat()
        data.update(self.values)
        data["device"] = self.device.id
        return data


def make_item(message: Message, world: World) -> Item:
    body = message.body
    channel = message.topic.channel
    values: Mapping[str, float] = {}
    if isinstance(body, Telemetry):
        kind, values = "telemetry", body.values.as_floats()
    elif isinstance(body, Status):
        kind = "status"
    else:
        kind = str(getattr(body, "type", channel.value))
    at = min(body.ts, message.received_at)  # a device clock running ahead cannot skip time
    return Item(message, world.device(message.topic), channel, kind, at, values)


Matcher = Callable[[Item], bool]


def compile_match(match: Match) -> Matcher:
    """A fast predicate for `match`."""
    channel = Channel(match.channel)
    types = frozenset(match.type)
    where = {
        k: (frozenset(v) if isinstance(v, list) else frozenset([v])) for k, v in match.where.items()
    }

    def matches(item: Item) -> bool:
        if item.channel is not channel or (types and item.type not in types):
            return False
        return all(item.field(k) in allowed for k, allowed in where.items())

    return matches


def admits(scope: Scope, device: DeviceInfo) -> bool:
    if scope.kinds and device.kind not in scope.kinds:
        return False
    if scope.models and device.model not in scope.models:
        return False
    if scope.compounds and device.compound not in scope.compounds:
        return False
    if scope.grids and device.grid not in scope.grids:
        return False
    return scope.households is None or tags_admitted(scope, device.tags)


def tags_admitted(scope: Scope, tags: frozenset[str]) -> bool:
    h = scope.households
    if h is None:
        return True
    if h.any and not tags.intersection(h.any):
        return False
    return not tags.intersection(h.none)


def device_subject(device: DeviceInfo) -> Subject:
    return Subject(device.id, device.compound, device=device.id, flat=device.flat)


R = TypeVar("R", bound=Rule)
S = TypeVar("S")


class Logic(ABC, Generic[R, S]):
    """Base of the rule kinds: state per subject key, dirty tracking, scope, schedule."""

    state_type: ClassVar[type[Any]]
    _adapters: ClassVar[dict[type[Any], TypeAdapter[Any]]] = {}

    def __init__(self, rule: R, world: World) -> None:
        self.rule = rule
        self.world = world
        self.states: dict[str, S] = {}
        self.dirty: set[str] = set()
        self._admitted: dict[str, bool] = {}

    # --- what a kind implements ---------------------------------------------------------

    @abstractmethod
    def channels(self) -> set[Channel]: ...

    @abstractmethod
    def on_item(self, item: Item) -> list[Signal]: ...

    def on_tick(self, now: datetime) -> list[Signal]:
        return []

    def due(self, now: datetime) -> list[str]:
        """Keys whose timers fire now: the engine first merges their stored state."""
        return []

    def merge(self, key: str, data: Mapping[str, Any]) -> None:
        """Fold in a stored snapshot written by another process (default: keep ours)."""

    @abstractmethod
    def watermark(self, state: S) -> datetime: ...

    # --- shared -------------------------------------------------------------------------

    def rebind(self, world: World) -> None:
        self.world = world
        self._admitted.clear()

    def admits(self, device: DeviceInfo) -> bool:
        known = self._admitted.get(device.id)
        if known is None:
            known = self._admitted[device.id] = admits(self.rule.scope, device)
        return known

    def scheduled(self, compound: str, at: datetime) -> bool:
        """Whether the rule's `when` (day / night) holds at `at` in `compound`."""
        if self.rule.when == "always":
            return True
        site = self.world.sites.get(compound)
        if site is None:
            return False
        return phase(site.lat, site.lon, at, margin=self.rule.twilight) is Phase(self.rule.when)

    def signal(
        self,
        subject: Subject,
        raised: bool,
        at: datetime,
        values: Mapping[str, Any],
        trigger: str,
        *,
        severity: Severity | None = None,
        received_at: datetime | None = None,
    ) -> Signal:
        return Signal(self.rule.id, subject, raised, at, values, trigger, severity, received_at)

    def touch(self, key: str, state: S) -> S:
        self.states[key] = state
        self.dirty.add(key)
        return state

    def snapshot(self, key: str) -> tuple[dict[str, Any], datetime]:
        state = self.states[key]
        data: dict[str, Any] = self._adapter().dump_python(state, mode="json")
        return data, self.watermark(state)

    def restore(self, key: str, data: Mapping[str, Any]) -> None:
        self.states[key] = self.load(data)

    def load(self, data: Mapping[str, Any]) -> S:
        state: S = self._adapter().validate_python(data)
        return state

    @classmethod
    def _adapter(cls) -> TypeAdapter[Any]:
        adapter = cls._adapters.get(cls.state_type)
        if adapter is None:
            adapter = cls._adapters[cls.state_type] = TypeAdapter(cls.state_type)
        return adapter


def seconds(delta: timedelta) -> float:
    return round(delta.total_seconds(), 3)
