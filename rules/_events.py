"""Event-driven rule kinds: single events, counts in a sliding window, two streams
compared in a window, and states stuck for too long.

Windows are drawn left to right in event time; each kind keeps only what its window
still needs, and remembers each event's trigger so that a redelivered message is not
counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain import Channel
from rules._alarms import Signal, Subject
from rules._definitions import CompareRule, CountRule, EventRule, StuckRule
from rules._logic import EPOCH, Item, Logic, compile_match, device_subject, seconds

# --- event ---------------------------------------------------------------------------------


@dataclass(slots=True)
class EventState:
    raised: bool = False
    last: datetime | None = None  # event time of the last trigger


class EventLogic(Logic[EventRule, EventState]):
    """Each matching event raises (a repeat counts on the open alarm); `clear_on` or
    `quiet` of no repeats clears."""

    state_type = EventState

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._match = compile_match(self.rule.match)
        self._clear = compile_match(self.rule.clear_on) if self.rule.clear_on else None

    def channels(self) -> set[Channel]:
        found = {Channel(self.rule.match.channel)}
        if self.rule.clear_on is not None:
            found.add(Channel(self.rule.clear_on.channel))
        return found

    def watermark(self, state: EventState) -> datetime:
        return state.last or EPOCH

    def on_item(self, item: Item) -> list[Signal]:
        key = item.device.id
        if self._match(item) and self.scheduled(item.device.compound, item.at):
            state = self.touch(key, self.states.get(key) or EventState())
            state.raised, state.last = True, max(state.last or item.at, item.at)
            subject = device_subject(item.device)
            return [
                self.signal(
                    subject,
                    True,
                    item.at,
                    item.evidence(),
                    item.trigger(),
                    received_at=item.received_at,
                )
            ]
        current = self.states.get(key)
        if self._clear is not None and current and current.raised and self._clear(item):
            current.raised = False
            self.dirty.add(key)
            return [self._cleared(key, item.at, item.evidence())]
        return []

    def on_tick(self, now: datetime) -> list[Signal]:
        quiet = self.rule.quiet
        if quiet is None:
            return []
        out = []
        for key, state in self.states.items():
            if state.raised and state.last is not None and now - state.last >= quiet:
                state.raised = False
                self.dirty.add(key)
                out.append(self._cleared(key, state.last + quiet, {"quiet_s": seconds(quiet)}))
        return out

    def _cleared(self, key: str, at: datetime, values: dict[str, Any]) -> Signal:
        device = self.world.devices.get(key)
        subject = device_subject(device) if device else Subject(key, "", device=key)
        return self.signal(subject, False, at, values, f"clear|{at.isoformat()}")


# --- count in a sliding window ---------------------------------------------------------------


@dataclass(slots=True)
class CountState:
    # (event time, group value, trigger), oldest first
    events: list[tuple[datetime, str, str]] = field(default_factory=list)
    raised: bool = False


class CountLogic(Logic[CountRule, CountState]):
    """At least N matching events (of one group) within the window.

    window 2 min, at least 5, per person_ref:
    t(s)    0    20   40   60   80  100  120  140
    p1      x    x    x    x    x                 <- 5th within 2 min: raise
    p2                          x        x        <- 2: nothing
    after 80 + 120 s with no more p1 denials, the window empties: calm
    """

    state_type = CountState

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._match = compile_match(self.rule.match)

    def channels(self) -> set[Channel]:
        return {Channel(self.rule.match.channel)}

    def watermark(self, state: CountState) -> datetime:
        return state.events[-1][0] if state.events else EPOCH

    def on_item(self, item: Item) -> list[Signal]:
        if not self._match(item) or not self.scheduled(item.device.compound, item.at):
            return []
        key = item.device.id
        state = self.touch(key, self.states.get(key) or CountState())
        trigger = item.trigger()
        if any(t == trigger for _, _, t in state.events):
            return []  # redelivered
        group = "" if self.rule.group_by is None else str(item.field(self.rule.group_by) or "")
        state.events.append((item.at, group, trigger))
        state.events.sort(key=lambda e: e[0])
        newest = state.events[-1][0]
        state.events = [e for e in state.events if newest - e[0] < self.rule.window]
        count = sum(1 for e in state.events if e[1] == group)
        if count < self.rule.at_least:
            return []
        state.raised = True
        values = {"count": count, "window_s": seconds(self.rule.window), **item.evidence()}
        return [
            self.signal(
                device_subject(item.device),
                True,
                item.at,
                values,
                trigger,
                received_at=item.received_at,
            )
        ]

    def on_tick(self, now: datetime) -> list[Signal]:
        out = []
        for key, state in self.states.items():
            before = len(state.events)
            state.events = [e for e in state.events if now - e[0] < self.rule.window]
            if len(state.events) != before:
                self.dirty.add(key)
            if state.raised and not state.events:
                state.raised = False
                out.append(_calm(self, key, now, {"count": 0}))
        return out


# --- two streams compared in a window ---------------------------------------------------------


@dataclass(slots=True)
class CompareState:
    left: list[tuple[datetime, float, str]] = field(default_factory=list)
    right: list[tuple[datetime, str]] = field(default_factory=list)
    raised: bool = False
    last_breach: datetime | None = None
    spent: list[str] = field(default_factory=list)  # triggers of right events paid out


class CompareLogic(Logic[CompareRule, CompareState]):
    """A left event's weight not paid by unspent right events of the window before it,
    beyond `margin`. Each right event pays for one unit once (one pass per grant).

    window 10 s, margin 0:
    t(s)     0    3    8    11   13
    grant    g         g
    passage       p(2)      p    p     <- at 3: 2 people, 1 grant: raise;
                                          at 11: paid by the grant at 8;
                                          at 13: the grant at 8 is spent: raise
    no breach for a whole window afterwards: calm
    """

    state_type = CompareState

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._left = compile_match(self.rule.left)
        self._right = compile_match(self.rule.right)

    def channels(self) -> set[Channel]:
        return {Channel(self.rule.left.channel), Channel(self.rule.right.channel)}

    def watermark(self, state: CompareState) -> datetime:
        times = [e[0] for e in state.left[-1:]] + [e[0] for e in state.right[-1:]]
        return max(times, default=EPOCH)

    def on_item(self, item: Item) -> list[Signal]:
        key = item.device.id
        if self._right(item):
            state = self.touch(key, self.states.get(key) or CompareState())
            if all(t != item.trigger() for _, t in state.right):
                state.right.append((item.at, item.trigger()))
                state.right.sort(key=lambda e: e[0])
            self._prune(state, item.at)
            return []
        if not self._left(item):
            return []
        state = self.touch(key, self.states.get(key) or CompareState())
        trigger = item.trigger()
        if any(t == trigger for _, _, t in state.left):
            return []
        weight = float(item.field(self.rule.left_weight) or 1) if self.rule.left_weight else 1.0
        state.left.append((item.at, weight, trigger))
        self._prune(state, item.at)
        return self._judge(item, state, weight)

    def _judge(self, item: Item, state: CompareState, weight: float) -> list[Signal]:
        start = item.at - self.rule.window
        spent = set(state.spent)
        unspent = [t for at, t in state.right if start <= at <= item.at and t not in spent]
        paid = unspent[: max(0, int(weight))]  # the oldest grants first
        state.spent.extend(paid)
        unpaid = weight - len(paid)
        if unpaid <= self.rule.margin:
            return []
        state.raised, state.last_breach = True, item.at
        values = {
            "left": weight,
            "right": len(paid),
            "unpaid": unpaid,
            "window_s": seconds(self.rule.window),
        }
        values.update(item.evidence())
        return [
            self.signal(
                device_subject(item.device),
                True,
                item.at,
                values,
                item.trigger(),
                received_at=item.received_at,
            )
        ]

    def _prune(self, state: CompareState, at: datetime) -> None:
        horizon = at - 2 * self.rule.window  # one window of slack for late events
        state.left = [e for e in state.left if e[0] >= horizon]
        state.right = [e for e in state.right if e[0] >= horizon]
        kept = {t for _, t in state.right}
        state.spent = [t for t in state.spent if t in kept]

    def on_tick(self, now: datetime) -> list[Signal]:
        out = []
        for key, state in self.states.items():
            if state.raised and state.last_breach and now - state.last_breach >= self.rule.window:
                state.raised = False
                self.dirty.add(key)
                out.append(_calm(self, key, state.last_breach + self.rule.window, {}))
        return out


# --- a state stuck for too long ---------------------------------------------------------------


@dataclass(slots=True)
class StuckState:
    device: str
    compound: str
    entered_at: datetime | None = None
    last_change: datetime | None = None  # event time of the last enter/leave applied
    value: str | None = None  # the tracked key's value (a plate)
    raised: bool = False


class StuckLogic(Logic[StuckRule, StuckState]):
    """Entered and not left within `for` (a `renew` event while entered restarts it).

    for 10 min:
    t(min)   0        10
    barrier  open ----+-------- closed
                      raise      calm
    """

    state_type = StuckState

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._enter = compile_match(self.rule.enter)
        self._leave = compile_match(self.rule.leave)
        self._renew = [compile_match(m) for m in self.rule.renew]

    def channels(self) -> set[Channel]:
        matches = [self.rule.enter, self.rule.leave, *self.rule.renew]
        return {Channel(m.channel) for m in matches}

    def watermark(self, state: StuckState) -> datetime:
        return state.last_change or EPOCH

    def _key(self, item: Item) -> tuple[str, str | None] | None:
        if self.rule.key is None:
            return item.device.id, None
        value = item.field(self.rule.key)
        if value is None or str(value) in self.rule.exempt:
            return None
        where = item.device.compound if self.rule.across == "compound" else item.device.id
        return f"{where}/{value}", str(value)

    def on_item(self, item: Item) -> list[Signal]:
        entering, leaving = self._enter(item), self._leave(item)
        if not (entering or leaving) and any(renew(item) for renew in self._renew):
            return self._renewed(item)
        found = self._key(item) if entering or leaving else None
        if found is None:
            return []
        key, value = found
        state = self.states.get(key)
        if state is not None and state.last_change and item.at < state.last_change:
            return []  # older than what we know: out of order
        if entering:
            if self._resident(item.device.compound, value):
                return []  # a resident's car is never an unknown vehicle
            if state is None or state.entered_at is None:
                state = StuckState(item.device.id, item.device.compound, item.at, item.at, value)
                self.touch(key, state)
            return []
        if state is None or state.entered_at is None:
            return []
        state.entered_at, state.last_change = None, item.at
        self.dirty.add(key)
        if not state.raised:
            return []
        state.raised = False
        return [self.signal(self._subject(key, state), False, item.at, item.evidence(), "")]

    def _renewed(self, item: Item) -> list[Signal]:
        """Restart the clock of a state entered and not yet raised (a grant while the
        door is open: the next passer's, the door is in use, not propped)."""
        found = self._key(item)
        state = self.states.get(found[0]) if found else None
        if state is None or state.entered_at is None or state.raised:
            return []
        if item.at > state.entered_at:
            state.entered_at = item.at
            if found:
                self.dirty.add(found[0])
        return []

    def on_tick(self, now: datetime) -> list[Signal]:
        out = []
        for key, state in self.states.items():
            if state.raised or state.entered_at is None or now - state.entered_at < self.rule.hold:
                continue
            if self._known(state, now):
                continue  # registered since it came in, or a visitor inside their window
            state.raised = True
            self.dirty.add(key)
            values = {
                "entered_at": state.entered_at.isoformat(),
                "held_s": seconds(now - state.entered_at),
                "device": state.device,
            }
            if state.value is not None and self.rule.key:
                values[self.rule.key] = state.value
            trigger = f"stuck|{state.entered_at.isoformat()}"
            out.append(self.signal(self._subject(key, state), True, now, values, trigger))
        return out

    def _resident(self, compound: str, value: str | None) -> bool:
        return bool(
            self.rule.exempt_known and value and self.world.plates.resident(compound, value)
        )

    def _known(self, state: StuckState, now: datetime) -> bool:
        if not (self.rule.exempt_known and state.value):
            return False
        return self.world.plates.known(state.compound, state.value, now)

    def _subject(self, key: str, state: StuckState) -> Subject:
        device = self.world.devices.get(state.device)
        return Subject(
            key, state.compound, device=state.device, flat=device.flat if device else None
        )


def _calm(logic: Logic[Any, Any], key: str, at: datetime, values: dict[str, Any]) -> Signal:
    device = logic.world.devices.get(key)
    subject = device_subject(device) if device else Subject(key, "", device=key)
    return logic.signal(subject, False, at, values, f"calm|{at.isoformat()}")
