"""A seeded simulated day behaves like a compound: commute peaks, a lot full at night,
lights on the astronomical clock, elderly residents with a daily rhythm.

The day is 6 May 2024 in Hangzhou, local midnight to midnight, hours below are local:

    hour   00 ........ 06 07 08 09 ........ 12 ........ 17 18 19 ........ 23
    gates  quiet       -- PEAK --           bump        -- PEAK --
    lot    full        -- leaving --        half        -- coming back --  full
    lights on, dim 50  off at sunrise (~05:11)           on at sunset (~18:41)
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest

import domain
from domain import Channel, Kind
from simulators import Publish, Simulation, sun_times

HANGZHOU = ZoneInfo("Asia/Shanghai")


def _hour(item: Publish) -> int:
    return item.at.astimezone(HANGZHOU).hour


def _events(day: list[Publish], kind: Kind) -> list[tuple[Publish, dict[str, object]]]:
    return [
        (p, orjson.loads(p.payload)) for p in day if p.kind is kind and p.channel is Channel.EVENT
    ]


def test_every_payload_validates_against_the_contract(small_day: list[Publish]) -> None:
    kinds = Counter()
    for item in small_day:
        topic = domain.Topic.parse(item.topic)
        for result in domain.decode(topic, item.payload):
            assert not isinstance(result, domain.InvalidPayload), (item.topic, item.payload)
            assert result.seq is not None
            kinds[(topic.kind, topic.channel)] += 1
    assert {(k, c) for k, c in kinds} >= {
        (k, c) for k in Kind for c in (Channel.TELEMETRY, Channel.EVENT, Channel.STATUS)
    }


def test_every_seq_leaves_a_row_in_storage(small_day: list[Publish]) -> None:
    """Storage keeps telemetry as (device, key, ts) rows: no empty values, no shared ts."""
    stamps: set[tuple[str, str]] = set()
    for item in small_day:
        if item.channel is Channel.TELEMETRY:
            body = orjson.loads(item.payload)
            assert body["values"], item.payload
            assert (item.device, str(body["ts"])) not in stamps
            stamps.add((item.device, str(body["ts"])))


def test_seqs_are_per_device_and_unbroken(small_day: list[Publish]) -> None:
    seqs: dict[str, list[int]] = {}
    for item in small_day:
        seqs.setdefault(item.device, []).extend(item.seqs)
    for device, numbers in seqs.items():
        assert numbers == list(range(len(numbers))), device


def test_gates_peak_in_the_morning_and_evening(small_day: list[Publish]) -> None:
    by_hour = Counter(
        _hour(p) for p, body in _events(small_day, Kind.GATE) if body["type"] == "access"
    )
    morning = by_hour[7] + by_hour[8]
    evening = by_hour[17] + by_hour[18]
    midday = by_hour[10] + by_hour[11]
    night = by_hour[2] + by_hour[3]
    assert morning > 2 * midday
    assert evening > 2 * midday
    assert night * 5 < midday


def test_gates_mostly_grant_residents_by_face(
    small: domain.CompoundFile, small_day: list[Publish]
) -> None:
    residents = {r.ref for h in small.compounds[0].households for r in h.residents}
    access = [body for _, body in _events(small_day, Kind.GATE) if body["type"] == "access"]
    granted = [b for b in access if b["result"] == "granted"]
    assert 0.85 < len(granted) / len(access) < 0.99
    by_face = [b for b in granted if b["method"] == "face"]
    assert len(by_face) / len(granted) > 0.6
    assert all(b["person_ref"] in residents and 0.8 < b["score"] <= 1 for b in by_face)
    denied = [b for b in access if b["result"] == "denied"]
    assert any(str(b.get("person_ref", "")).startswith("s") for b in denied)  # strangers


def test_the_lot_is_full_at_night_and_half_empty_by_day(
    small: domain.CompoundFile, small_day: list[Publish]
) -> None:
    capacity = small.compounds[0].parking_spaces
    occupancy = {}
    for item in small_day:
        if item.kind is Kind.BARRIER and item.channel is Channel.TELEMETRY:
            values = orjson.loads(item.payload)["values"]
            assert values["capacity"] == capacity
            occupancy[_hour(item)] = values["occupancy"]
    assert occupancy[3] == capacity
    assert occupancy[11] < 0.7 * capacity
    assert occupancy[23] > 0.9 * capacity
    plates = [b for _, b in _events(small_day, Kind.BARRIER) if b["type"] == "plate"]
    out_hours = Counter(
        _hour(p)
        for p, b in _events(small_day, Kind.BARRIER)
        if b["type"] == "plate" and b["direction"] == "out"
    )
    assert out_hours[7] + out_hours[8] > out_hours[13] + out_hours[14]
    assert all(0.5 < b["confidence"] < 1 for b in plates)


def test_lights_follow_the_sun_at_the_compound(
    small: domain.CompoundFile, small_day: list[Publish]
) -> None:
    compound = small.compounds[0]
    sun = sun_times(date(2024, 5, 6), compound.lat, compound.lon)
    assert sun.sunrise is not None
    assert sun.sunset is not None
    switches = [(p, b) for p, b in _events(small_day, Kind.LIGHT) if b["type"] == "switch"]
    lights = {d.id for d in compound.devices if d.kind is Kind.LIGHT}
    offs = {p.device: p.at for p, b in switches if b["state"] == "off"}
    ons = {p.device: p.at for p, b in switches if b["state"] == "on"}
    assert set(offs) == set(ons) == lights
    for at in offs.values():
        assert timedelta(0) <= at - sun.sunrise <= timedelta(minutes=1)
    for at in ons.values():
        assert timedelta(0) <= at - sun.sunset <= timedelta(minutes=1)


def test_light_power_follows_the_dim_level(small_day: list[Publish]) -> None:
    samples: dict[str, list[float]] = {"dimmed": [], "off": []}
    for item in small_day:
        if item.kind is Kind.LIGHT and item.channel is Channel.TELEMETRY:
            values = orjson.loads(item.payload)["values"]
            hour = _hour(item)
            if values["on"] and 1 <= hour < 4:
                samples["dimmed"].append(values["power_w"])
                assert values["dim_level"] == 50
                assert values["lux"] < 1
            elif not values["on"] and 10 <= hour < 15:
                samples["off"].append(values["power_w"])
                assert values["lux"] > 1000
            if values["on"]:
                apparent = values["current_a"] * values["voltage_v"]
                assert apparent == pytest.approx(values["power_w"] / 0.95, rel=0.02)
    assert min(samples["dimmed"]) > 28
    assert max(samples["dimmed"]) < 34
    assert max(samples["off"]) < 1


def test_an_elderly_resident_has_a_daily_rhythm(small_day: list[Publish]) -> None:
    flat = [(p, orjson.loads(p.payload)) for p in small_day if "-E-3-2-301-" in p.device]
    motion = Counter(_hour(p) for p, b in flat if b.get("type") == "motion")
    assert sum(motion[h] for h in range(0, 4)) < sum(motion[h] for h in range(7, 11)) / 4
    doors = [b["state"] for p, b in flat if b.get("type") == "door"]
    assert doors == ["open", "closed"] * (len(doors) // 2)
    worn = [
        b["values"]
        for p, b in flat
        if p.device.endswith("wearable") and p.channel is Channel.TELEMETRY
    ]
    awake = [v for v in worn if "heart_rate" in v]
    assert awake
    assert all(40 < v["heart_rate"] < 130 and v["spo2"] >= 90 for v in awake)
    assert len(awake) < len(worn)  # charging overnight, off the wrist


def test_batteries_drain(small: domain.CompoundFile, midnight: datetime) -> None:
    simulation = Simulation(small, start=midnight, seed=3, spontaneous=False)
    levels: dict[str, list[float]] = {}
    for item in simulation.run(midnight + timedelta(days=3)):
        pendant = isinstance(item, Publish) and item.device.endswith("-sos")
        if pendant and item.channel is Channel.TELEMETRY:
            battery = orjson.loads(item.payload)["values"]["battery"]
            levels.setdefault(item.device, []).append(battery)
    for series in levels.values():
        assert series[-1] < series[0]
        assert series == sorted(series, reverse=True)


def test_a_seed_replays_exactly(small: domain.CompoundFile, midnight: datetime) -> None:
    def hour(seed: int) -> list[bytes]:
        simulation = Simulation(small, start=midnight, seed=seed)
        return [
            i.payload
            for i in simulation.run(midnight + timedelta(hours=2))
            if isinstance(i, Publish)
        ]

    assert hour(1) == hour(1)
    assert hour(1) != hour(2)


def test_start_must_be_aware_utc(small: domain.CompoundFile) -> None:
    with pytest.raises(ValueError, match="aware"):
        Simulation(small, start=datetime(2024, 5, 6))
