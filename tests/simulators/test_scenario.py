"""Scenario files: parsed strictly, resolved against the compound, incidents on time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

import domain
from domain import Channel
from simulators import (
    DEMO_SCENARIO,
    Publish,
    ScenarioError,
    Simulation,
    load_scenario,
    parse_duration,
    parse_scenario,
)

HANGZHOU = ZoneInfo("Asia/Shanghai")


def _scenario(*entries: str) -> str:
    return "format: dayuan.scenario/1\nschedule:\n" + "".join(f"  - {e}\n" for e in entries)


def _local(item: Publish) -> str:
    return item.at.astimezone(HANGZHOU).strftime("%H:%M:%S")


def _run(
    compounds: domain.CompoundFile, start: datetime, text: str, hours: float = 24
) -> list[Publish]:
    simulation = Simulation(
        compounds, start=start, seed=1, scenario=parse_scenario(text), spontaneous=False
    )
    return [i for i in simulation.run(start + timedelta(hours=hours)) if isinstance(i, Publish)]


def test_unquoted_times_are_times_not_base_60_integers() -> None:
    scenario = parse_scenario(
        _scenario(
            "{at: 07:42, type: sos, flat: 3-2-301}", "{at: '23:10:30', type: tamper, device: G-E1}"
        )
    )
    assert [e.at for e in scenario.schedule] == [time(7, 42), time(23, 10, 30)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(minutes=90)),
        ("2d", timedelta(days=2)),
        ("-5m", timedelta(minutes=-5)),
        (300, 300),
    ],
)
def test_durations(text: str | int, expected: object) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{at: '07:42', type: explode, flat: 3-2-301}", "does not match any of the expected tags"),
        ("{at: '25:00', type: sos, flat: 3-2-301}", "hour must be in 0..23"),
        ("{at: '07:42', type: sos, flat: 3-2-301, colour: red}", "Extra inputs"),
        ("{at: '07:42', type: fall, flat: 3-2-301, lying: soon}", "lying"),
        ("{at: '2024-05-06T07:42:00', type: sos, flat: 3-2-301}", "UTC offset"),
    ],
)
def test_invalid_entries_are_clear_errors(entry: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(_scenario(entry))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{at: '07:42', type: sos, flat: 9-9-909}", "no flat '9-9-909'"),
        ("{at: '07:42', type: light_failure, device: L-999}", "no device 'L-999'"),
        ("{at: '07:42', type: light_failure, device: G-E1}", "needs a light; C001-G-E1 is a gate"),
        ("{at: '07:42', type: sos, flat: 3-2-301, compound: C999}", "no compound 'C999'"),
        ("{at: '07:42', type: low_battery, device: E-3-2-301-fall}", "does not apply"),
        ("{at: '2024-01-01T00:00:00+08:00', type: tamper, device: G-E1}", "before the simulation"),
    ],
)
def test_entries_must_fit_the_compound(
    small: domain.CompoundFile, midnight: datetime, entry: str, message: str
) -> None:
    with pytest.raises(ScenarioError, match=message) as caught:
        Simulation(small, start=midnight, scenario=parse_scenario(_scenario(entry)))
    assert caught.value.entry == 0


def test_a_flat_without_a_care_kit_is_named(small: domain.CompoundFile, midnight: datetime) -> None:
    plain = next(h.flat for h in small.compounds[0].households if not h.tags)
    with pytest.raises(ScenarioError, match=f"flat {plain} has no sos_pendant"):
        Simulation(
            small,
            start=midnight,
            scenario=parse_scenario(_scenario(f"{{at: '07:42', type: sos, flat: {plain}}}")),
        )


def test_incidents_happen_at_their_local_times(
    small: domain.CompoundFile, midnight: datetime
) -> None:
    day = _run(
        small,
        midnight,
        _scenario(
            "{at: '07:42', type: fall, flat: 3-2-301, lying: 1h}",
            "{at: '09:15', type: sos, flat: 3-2-301}",
            "{at: '23:10', type: light_failure, device: L-017}",
            "{at: '02:30', type: forced_open, device: G-E2}",
            "{at: '03:05', type: tamper, device: C001-G-1-1}",
            "{at: '08:05', type: barrier_stuck, device: B-1, duration: 40m}",
        ),
    )
    seen = {}
    for item in day:
        if item.channel is Channel.EVENT:
            body = orjson.loads(item.payload)
            seen.setdefault((item.device, body["type"], body.get("state")), []).append(_local(item))
    assert seen[("C001-E-3-2-301-fall", "fall", None)] == ["07:42:00"]
    assert seen[("C001-E-3-2-301-sos", "sos", None)] == ["09:15:00"]
    assert seen[("C001-L-017", "fault", None)] == ["23:10:00"]
    assert seen[("C001-G-E2", "forced_open", None)] == ["02:30:00"]
    assert seen[("C001-G-1-1", "tamper", None)] == ["03:05:00"]
    assert seen[("C001-B-1", "barrier", "stuck")] == ["08:05:00"]
    assert "08:45:00" in seen[("C001-B-1", "barrier", "closed")]
    motion = [
        _local(i) for i in day if i.device == "C001-E-3-2-301-motion" and i.channel is Channel.EVENT
    ]
    assert not [t for t in motion if "07:42:00" <= t < "08:42:00"]  # lying still for an hour


def test_inactivity_and_vitals(small: domain.CompoundFile, midnight: datetime) -> None:
    day = _run(
        small,
        midnight,
        _scenario(
            "{at: '09:00', type: inactivity, flat: 3-2-301, duration: 6h}",
            "{at: '16:00', type: vitals, flat: 3-2-301, heart_rate: 140, spo2: 85, duration: 30m}",
        ),
    )
    flat = [i for i in day if "-E-3-2-301-" in i.device]
    quiet = [i for i in flat if i.channel is Channel.EVENT and "09:00:00" <= _local(i) < "15:00:00"]
    assert quiet == []
    vitals = [
        orjson.loads(i.payload)["values"]
        for i in flat
        if i.device.endswith("wearable") and "16:00:00" <= _local(i) < "16:30:00"
    ]
    assert vitals
    assert all(v["heart_rate"] > 130 and v["spo2"] < 90 for v in vitals)


def test_lights_burning_by_day_and_power_anomalies(
    small: domain.CompoundFile, midnight: datetime
) -> None:
    day = _run(
        small,
        midnight,
        _scenario(
            "{at: '11:00', type: day_burning, device: L-002, duration: 2h}",
            "{at: '20:00', type: power_anomaly, device: L-003, factor: 2.0, duration: 1h}",
        ),
    )
    burning = [
        orjson.loads(i.payload)["values"]
        for i in day
        if i.device == "C001-L-002"
        and i.channel is Channel.TELEMETRY
        and "11:00:00" < _local(i) < "13:00:00"
    ]
    assert burning
    assert all(v["on"] and v["power_w"] > 50 and v["lux"] > 1000 for v in burning)
    anomalous = [
        orjson.loads(i.payload)["values"]["power_w"]
        for i in day
        if i.device == "C001-L-003"
        and i.channel is Channel.TELEMETRY
        and "20:00:00" < _local(i) < "21:00:00"
    ]
    assert anomalous
    assert min(anomalous) > 110


def test_day_pins_an_entry_to_a_date(small: domain.CompoundFile, midnight: datetime) -> None:
    day = _run(
        small, midnight, _scenario("{at: '01:00', day: 1, type: tamper, device: G-E1}"), hours=48
    )
    tamper = [i for i in day if i.channel is Channel.EVENT and b'"tamper"' in i.payload]
    assert [i.at for i in tamper] == [midnight + timedelta(days=1, hours=1)]


def test_the_demo_scenario_runs_on_the_default_compound() -> None:
    scenario = load_scenario(DEMO_SCENARIO)
    assert scenario.name == "demo"
    assert len(scenario.schedule) > 20
    from simulators import generate_compound

    simulation = Simulation(
        generate_compound(), start=datetime(2024, 5, 6, tzinfo=UTC), scenario=scenario
    )
    assert len(simulation.actions) == len(scenario.schedule)


def test_unreadable_scenario(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("schedule: [unclosed")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(bad)


def test_an_offset_places_an_entry_from_the_start_whatever_the_hour() -> None:
    from simulators import UP_SCENARIO, load_scenario, resolve_scenario
    from tests.factories import generated_compound

    compound = generated_compound()
    scenario = load_scenario(UP_SCENARIO)
    for start in (datetime(2024, 5, 6, 3, tzinfo=UTC), datetime(2024, 5, 6, 15, tzinfo=UTC)):
        actions = resolve_scenario(scenario, compound, start)
        falls = [a.at - start for a in actions if a.op == "fall"]
        assert falls == [timedelta(minutes=40)]
        assert all(start <= a.at < start + timedelta(hours=6) for a in actions)
    with pytest.raises(ScenarioError, match="'day' goes with a local time"):
        parse_scenario('schedule: [{at: "+1h", day: 1, type: sos, flat: 3-2-301}]')
