"""`Simulation.incidents`: what a run made happen, scheduled or spontaneous, as the
alarm bench scores it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from simulators import Publish, Simulation, generate_compound, parse_scenario

START = datetime(2026, 11, 16, 9, 40, tzinfo=UTC)  # 17:40 local: the gates' evening peak
MORNING = datetime(2026, 11, 15, 23, 30, tzinfo=UTC)  # 07:30 local: most people leave
SCENARIO = parse_scenario("""
format: dayuan.scenario/1
name: two
description: two entries
schedule:
  - {at: "+5m", type: tamper, device: G-1-1}
  - {at: "+50m", type: sos, flat: 3-2-301}
""")


def test_scheduled_entries_are_listed_once_they_happened() -> None:
    sim = Simulation(generate_compound(seed=0), start=START, scenario=SCENARIO)
    for _ in sim.run(START + timedelta(minutes=10)):
        pass
    scheduled = [i for i in sim.incidents() if i.scheduled]
    assert [(i.op, i.device) for i in scheduled] == [("tamper", "C001-G-1-1")]
    assert scheduled[0].at == START + timedelta(minutes=5)


def test_spontaneous_tailgates_are_noted_on_the_way_in_only() -> None:
    """Each noted tailgate is a two-person passage inwards at its gate; two people
    leaving on one grant happen too, and are not noted."""
    sim = Simulation(generate_compound(seed=0), start=MORNING)
    passages: dict[tuple[str, str], list[datetime]] = {}
    for item in sim.run(MORNING + timedelta(hours=1)):
        if not isinstance(item, Publish) or b'"passage"' not in item.payload:
            continue
        body = orjson.loads(item.payload)
        if body.get("count") == 2:
            passages.setdefault((item.device, body["direction"]), []).append(item.at)
    noted = [i for i in sim.incidents() if i.op == "tailgating"]
    assert noted, "a morning hour at the gates sees someone slip in"
    assert all(not i.scheduled for i in noted)
    for incident in noted:
        times = passages.get((incident.device, "in"), [])
        assert any(timedelta(0) <= t - incident.at <= timedelta(seconds=30) for t in times)
    inward = sum(len(v) for (_, d), v in passages.items() if d == "in")
    assert len(noted) == inward
    assert any(d == "out" for _, d in passages), "groups leave too, unnoted"


def test_a_battery_crossing_low_is_noted_once() -> None:
    sim = Simulation(generate_compound(seed=0), start=START)
    for _ in sim.run(START + timedelta(hours=1)):
        pass
    low = [i for i in sim.incidents() if i.op == "low_battery"]
    assert low, "3 % of battery devices start nearly flat"
    assert len({i.device for i in low}) == len(low)
    assert all(i.params["level"] < 15 for i in low)
