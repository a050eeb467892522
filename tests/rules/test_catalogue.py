"""Every catalogue rule: it fires, a near miss does not, it clears, and a repeat (or a
redelivery, or two triggers in one batch) updates the one open alarm.

Each scenario is a timeline drawn beside it; `fire` leaves the alarm open, `clear` and
`repeat` continue from there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from domain import Channel, Severity
from rules import ChangeKind, load_rules
from tests.rules.harness import NIGHT, Harness

Step = Callable[[Harness], object]


@dataclass(frozen=True)
class Scenario:
    fire: Step
    near_miss: Step
    clear: Step
    repeat: Step
    start: object = None  # a datetime; DAY when None
    min_count: int = 2  # the open alarm's count after `repeat`


def _event_pair(device: str, type_: str, **fields: Any) -> Step:
    """Two triggers in one batch, then the first redelivered."""

    def step(h: Harness) -> None:
        h.tick(seconds=5)
        a = h.build(device, Channel.EVENT, None, type=type_, **fields)
        b = h.build(device, Channel.EVENT, None, type=type_, **fields)
        h.process([a, b])
        h.process([a])  # redelivered after a crash: not counted again

    return step


def _ticks(*minutes: float) -> Step:
    def step(h: Harness) -> None:
        for m in minutes:
            h.tick(minutes=m)

    return step


def _series(device: str, key: str, values: list[float], every_min: float = 1.0) -> Step:
    def step(h: Harness) -> None:
        for i, v in enumerate(values):
            if i:
                h.tick(minutes=every_min)
            h.telemetry(device, **{key: v})

    return step


def _both(*steps: Step) -> Step:
    def step(h: Harness) -> None:
        for s in steps:
            s(h)

    return step


# --- elderly care ------------------------------------------------------------------------------

# sos:   t 0 sos ............ 30 min quiet: cleared
SOS = Scenario(
    fire=lambda h: h.event("sos-1", "sos"),
    near_miss=lambda h: h.event("sos-1", "motion"),
    clear=_ticks(31),
    repeat=_event_pair("sos-1", "sos"),
    min_count=3,
)
FALL = Scenario(
    fire=lambda h: h.event("fall-1", "fall", confidence=0.9),
    near_miss=lambda h: h.event("fall-1", "bed_exit"),
    clear=_ticks(31),
    repeat=_event_pair("fall-1", "fall"),
    min_count=3,
)


# inactivity (12 h, pre-warning 10 min), empty-nest flat 3-2-301:
#   t(h) 0 first sight ........ 11:50 warning ... 12:00 major ... motion: cleared
#   the vacant flat 3-2-302 and the untagged 3-2-303 are never watched
def _inactivity_fire(h: Harness) -> None:
    h.tick()
    h.tick(hours=11, minutes=50)
    assert [c.severity for c in h.opened("inactivity")] == [Severity.WARNING]
    h.tick(minutes=10)
    assert h.changes("inactivity")[-1].severity is Severity.MAJOR


def _inactivity_near_miss(h: Harness) -> None:
    h.tick()
    h.tick(hours=11)
    h.event("motion-1", "motion", room="kitchen")
    h.tick(hours=2)  # 13 h after the start, 2 h after the motion


INACTIVITY = Scenario(
    fire=_inactivity_fire,
    near_miss=_inactivity_near_miss,
    clear=lambda h: h.event("motion-1", "motion"),
    repeat=_ticks(60, 60, 60),
)


# morning_inactivity, window 07:00-10:00 local (23:00-02:00 UTC), start 12:00 local:
#   12:00 ........ 07:00 [ no activity ] 09:45 warning, 10:00 alarm
def _morning_fire(h: Harness) -> None:
    h.tick()
    h.tick(hours=21, minutes=45)
    h.tick(minutes=15)


def _morning_near_miss(h: Harness) -> None:
    h.tick()
    h.tick(hours=20)  # 08:00 local next day
    h.event("motion-1", "motion")
    h.tick(hours=3)  # 11:00 local


MORNING = Scenario(
    fire=_morning_fire,
    near_miss=_morning_near_miss,
    clear=lambda h: h.event("motion-1", "motion"),
    repeat=_ticks(60, 60),
)

# heart rate (above 130 / below 40, hysteresis 5, for 2 min, clear after 2 min):
#   bpm   140  142  141 | 128 (band: stays) 120 (calm) ... 2 min: cleared
#   t(m)  0    1    2 raise
HEART = Scenario(
    fire=_series("wear-1", "heart_rate", [140, 142, 141]),
    near_miss=_series("wear-1", "heart_rate", [140, 100, 140, 90, 35]),
    clear=_both(
        _series("wear-1", "heart_rate", [128]),
        lambda h: (h.tick(minutes=5), h.telemetry("wear-1", heart_rate=120)),
        lambda h: None if not h.cleared("heart_rate_out_of_range") else pytest.fail("too early"),
        _ticks(2),
    ),
    # back to calm, then above again before the 2 min calm elapse: the same alarm
    repeat=_series("wear-1", "heart_rate", [120, 150], every_min=0.5),
)
SPO2 = Scenario(
    fire=_series("wear-1", "spo2", [88, 89, 88]),
    near_miss=_series("wear-1", "spo2", [90, 96, 91, 97]),
    clear=_both(_series("wear-1", "spo2", [93, 95]), _ticks(2)),
    repeat=_series("wear-1", "spo2", [95, 85]),
)
# low battery: below 15, clears at 25 (20 stays in the band)
BATTERY = Scenario(
    fire=_series("wear-1", "battery", [10]),
    near_miss=_series("wear-1", "battery", [16, 15]),
    clear=_both(_series("wear-1", "battery", [20, 26]), _ticks(10)),
    repeat=_series("wear-1", "battery", [9, 8, 30, 9]),
)


# offline: wear-1 beats every 60 s, factor 3; after a start nobody is silent for 2 min
#   t(m) 0 first sight ... 3 silent: raise ... a message: cleared
def _offline(minutes: float, *devices: str) -> Scenario:
    def hear(h: Harness) -> Harness:
        for device in devices:
            h.telemetry(device)
        return h

    return Scenario(
        fire=_ticks(0, minutes),
        near_miss=lambda h: ((h.tick(), h.tick(minutes=minutes - 1), hear(h), h.tick(minutes=1))),
        clear=hear,
        repeat=_ticks(1, 5, 10),
        min_count=1,
    )


ELDER_OFFLINE = _offline(3, "wear-1")


def _hear_all(prefix: str, n: int) -> Step:
    return lambda h: [h.telemetry(f"{prefix}{i}") for i in range(1, n + 1)]


LIGHT_OFFLINE = Scenario(
    fire=_ticks(0, 15),
    near_miss=lambda h: (
        (h.tick(), h.tick(minutes=14), _hear_all("light-", 8)(h), h.tick(minutes=1))
    ),
    clear=_hear_all("light-", 8),
    repeat=_ticks(1, 10),
    min_count=1,
)
GATE_OFFLINE = _offline(3, "gate-1")
BARRIER_OFFLINE = _offline(3, "barrier-1", "barrier-2")

# --- street lights ----------------------------------------------------------------------------

# lamp failure at night: < 2 W for 10 min, 23:00 local
LAMP = Scenario(
    start=NIGHT,
    fire=_series("light-1", "power_w", [0.5, 0.4, 0.5], every_min=5),
    near_miss=_series("light-1", "power_w", [0.5, 0.5, 40, 0.5], every_min=4),
    clear=_both(_series("light-1", "power_w", [40]), _ticks(5)),
    repeat=_series("light-1", "power_w", [6, 0.1]),
)
# day-burning: > 5 W for 30 min at noon
DAY_BURNING = Scenario(
    fire=_series("light-1", "power_w", [40, 40, 40, 40], every_min=10),
    near_miss=_series("light-1", "power_w", [40, 40, 0, 40], every_min=10),
    clear=_both(_series("light-1", "power_w", [0]), _ticks(5)),
    repeat=_series("light-1", "power_w", [1, 40]),
)


def _peers(h: Harness) -> None:
    for i in range(1, 7):
        h.telemetry(f"light-{i}", power_w=40 + i % 3, dim_level=50)


#   peers at dim 50 %: 40-42 W (median 41); light-7 at 12 W for 15 min: raise
ANOMALY = Scenario(
    fire=_both(_peers, _series("light-7", "power_w", [12, 12, 12, 12], every_min=5)),
    near_miss=_both(_peers, _series("light-7", "power_w", [38, 45, 39], every_min=10)),
    clear=_both(lambda h: h.telemetry("light-7", power_w=39, dim_level=50), _ticks(15)),
    repeat=_series("light-7", "power_w", [40, 12]),
)


def _with_dim(s: Scenario) -> Scenario:
    """light-7 reports its dim level first, as a real lamp does with its power."""

    def fire(h: Harness) -> None:
        h.telemetry("light-7", dim_level=50)
        s.fire(h)

    def near(h: Harness) -> None:
        h.telemetry("light-7", dim_level=50)
        s.near_miss(h)

    return Scenario(fire, near, s.clear, s.repeat)


ANOMALY = _with_dim(ANOMALY)

# --- barriers ---------------------------------------------------------------------------------

#   t(min) 0 open ............ 10 raise ... closed: cleared
BARRIER_STUCK = Scenario(
    fire=lambda h: (h.event("barrier-1", "barrier", state="open"), h.tick(minutes=10)),
    near_miss=lambda h: (
        (
            h.event("barrier-1", "barrier", state="open"),
            h.tick(minutes=9),
            h.event("barrier-1", "barrier", state="closed"),
            h.tick(minutes=5),
        )
    ),
    clear=lambda h: h.event("barrier-1", "barrier", state="closed"),
    repeat=lambda h: (h.event("barrier-1", "barrier", state="open"), h.tick(minutes=20)),
    min_count=1,
)
BARRIER_FAULT = Scenario(
    fire=lambda h: h.event("barrier-1", "barrier", state="fault", detail="arm"),
    near_miss=lambda h: h.event("barrier-1", "barrier", state="open"),
    clear=lambda h: h.event("barrier-1", "barrier", state="closed"),
    repeat=_event_pair("barrier-1", "barrier", state="stuck"),
    min_count=3,
)
#   occupancy / capacity above 0.98 for 5 min; clears at 0.90
LOT_FULL = Scenario(
    fire=lambda h: (
        (
            h.telemetry("barrier-1", occupancy=99, capacity=100),
            h.tick(minutes=5),
            h.telemetry("barrier-1", occupancy=100),
        )
    ),
    near_miss=lambda h: (
        (
            h.telemetry("barrier-1", occupancy=97, capacity=100),
            h.tick(minutes=10),
            h.telemetry("barrier-1", occupancy=98),
        )
    ),
    clear=_both(_series("barrier-1", "occupancy", [95, 89]), _ticks(5)),
    repeat=_series("barrier-1", "occupancy", [90, 99]),
)
PLATE = "浙A12345"
#   plate in at barrier-1 ........ 4 h: raise ... out at barrier-2: cleared
OVERSTAY = Scenario(
    fire=lambda h: (
        (
            h.event("barrier-1", "plate", plate=PLATE, direction="in", confidence=0.9),
            h.tick(hours=4),
        )
    ),
    near_miss=lambda h: (
        (
            h.event("barrier-1", "plate", plate=PLATE, direction="in", confidence=0.9),
            h.tick(hours=3),
            h.event("barrier-2", "plate", plate=PLATE, direction="out", confidence=0.9),
            h.tick(hours=2),
        )
    ),
    clear=lambda h: h.event("barrier-2", "plate", plate=PLATE, direction="out", confidence=0.8),
    repeat=lambda h: (
        (
            h.event("barrier-1", "plate", plate=PLATE, direction="in", confidence=0.9),
            h.tick(hours=1),
        )
    ),
    min_count=1,
)

# --- gates ------------------------------------------------------------------------------------

#   t(s) 0 door open ..... 30 raise ... closed: cleared
DOOR = Scenario(
    fire=lambda h: (h.event("gate-1", "door", state="open"), h.tick(seconds=30)),
    near_miss=lambda h: (
        (
            h.event("gate-1", "door", state="open"),
            h.tick(seconds=20),
            h.event("gate-1", "door", state="closed"),
            h.tick(seconds=30),
        )
    ),
    clear=lambda h: h.event("gate-1", "door", state="closed"),
    repeat=lambda h: (h.event("gate-1", "door", state="open"), h.tick(seconds=30)),
    min_count=1,
)
FORCED = Scenario(
    fire=lambda h: h.event("gate-1", "forced_open"),
    near_miss=lambda h: h.event("gate-1", "door", state="open"),
    clear=lambda h: h.event("gate-1", "door", state="closed"),
    repeat=_event_pair("gate-1", "forced_open"),
    min_count=3,
)
TAMPER = Scenario(
    fire=lambda h: h.event("gate-1", "tamper", detail="reader cover"),
    near_miss=lambda h: h.event("gate-1", "door", state="open"),
    clear=_ticks(31),
    repeat=_event_pair("gate-1", "tamper"),
    min_count=3,
)


def _denials(person: str, n: int, every_s: float = 20) -> Step:
    def step(h: Harness) -> None:
        for _ in range(n):
            h.event("gate-1", "access", result="denied", method="face", person_ref=person)
            h.tick(seconds=every_s)

    return step


#   window 2 min, 5 denials of p1:
#   t(s)  0  20  40  60  80 -> raise;  p2 once; 4 of p1 then one 3 min later: nothing
DENIALS = Scenario(
    fire=_denials("p1", 5),
    near_miss=_both(_denials("p1", 4), _denials("p2", 1), _ticks(3), _denials("p1", 1)),
    clear=_ticks(3),
    repeat=_denials("p1", 1),
    min_count=2,
)


#   window 10 s: grant at 0, 2 people pass at 2 s -> raise; 10 s calm -> cleared
def _grant(h: Harness) -> object:
    return h.event("gate-1", "access", result="granted", method="card")


TAILGATING = Scenario(
    fire=lambda h: (_grant(h), h.tick(seconds=2), h.event("gate-1", "passage", count=2)),
    near_miss=lambda h: (
        (
            _grant(h),
            h.tick(seconds=2),
            h.event("gate-1", "passage", count=1),
            h.tick(seconds=30),
            _grant(h),
            h.event("gate-1", "passage", direction="in"),
        )
    ),
    clear=_ticks(0.25),
    repeat=lambda h: (h.tick(seconds=1), h.event("gate-1", "passage")),
)

SCENARIOS: dict[str, Scenario] = {
    "sos": SOS,
    "fall": FALL,
    "inactivity": INACTIVITY,
    "morning_inactivity": MORNING,
    "heart_rate_out_of_range": HEART,
    "spo2_low": SPO2,
    "low_battery": BATTERY,
    "elder_device_offline": ELDER_OFFLINE,
    "lamp_failure_night": LAMP,
    "day_burning": DAY_BURNING,
    "light_power_anomaly": ANOMALY,
    "light_offline": LIGHT_OFFLINE,
    "barrier_stuck_open": BARRIER_STUCK,
    "barrier_fault": BARRIER_FAULT,
    "lot_full": LOT_FULL,
    "unknown_plate_overstay": OVERSTAY,
    "barrier_offline": BARRIER_OFFLINE,
    "door_held_open": DOOR,
    "forced_open": FORCED,
    "gate_tamper": TAMPER,
    "repeated_denials": DENIALS,
    "tailgating": TAILGATING,
    "gate_offline": GATE_OFFLINE,
}
RULES = sorted(SCENARIOS)


def _harness(rule: str) -> Harness:
    start = SCENARIOS[rule].start
    return Harness.of(rule, start=start) if start else Harness.of(rule)  # type: ignore[arg-type]


def _no_duplicate_open(h: Harness, rule: str) -> None:
    fingerprints = [a.fingerprint for a in h.open_alarms(rule)]
    assert len(fingerprints) == len(set(fingerprints))
    opened = [c.fingerprint for c in h.opened(rule)]
    assert len(opened) == len(set(opened)), f"{rule} opened a fingerprint twice: {opened}"


def test_every_catalogue_rule_has_a_scenario() -> None:
    assert {r.id for r in load_rules().rules} == set(SCENARIOS)


@pytest.mark.parametrize("rule", RULES)
def test_fires(rule: str) -> None:
    h = _harness(rule)
    SCENARIOS[rule].fire(h)
    opened = h.opened(rule)
    assert opened, f"{rule} did not fire"
    assert all(c.values for c in opened), "an alarm carries the values that triggered it"
    assert len(h.open_alarms(rule)) == len({c.fingerprint for c in opened})
    _no_duplicate_open(h, rule)


@pytest.mark.parametrize("rule", RULES)
def test_near_miss_does_not_fire(rule: str) -> None:
    h = _harness(rule)
    SCENARIOS[rule].near_miss(h)
    assert h.opened(rule) == []


@pytest.mark.parametrize("rule", RULES)
def test_clears(rule: str) -> None:
    h = _harness(rule)
    SCENARIOS[rule].fire(h)
    opened = {c.fingerprint for c in h.opened(rule)}
    SCENARIOS[rule].clear(h)
    assert {c.fingerprint for c in h.cleared(rule)} == opened
    assert h.open_alarms(rule) == []


@pytest.mark.parametrize("rule", RULES)
def test_repeat_updates_the_one_open_alarm(rule: str) -> None:
    h = _harness(rule)
    SCENARIOS[rule].fire(h)
    opened = {c.fingerprint for c in h.opened(rule)}
    SCENARIOS[rule].repeat(h)
    _no_duplicate_open(h, rule)
    assert {c.fingerprint for c in h.opened(rule)} == opened
    alarms = h.open_alarms(rule)
    assert {a.fingerprint for a in alarms} == opened
    assert max(a.count for a in alarms) >= SCENARIOS[rule].min_count
    if SCENARIOS[rule].min_count > 1:
        assert h.changes(rule, ChangeKind.UPDATED)
