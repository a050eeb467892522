"""Wire faults do what they say: bad payloads are refused, duplicates share a seq, batches
are JSON arrays of valid objects, skewed clocks skew, outages end in a backfill burst."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

import domain
from domain import Channel, Reason
from simulators import Connect, Disconnect, Item, Publish, Simulation, parse_scenario


def _items(
    compounds: domain.CompoundFile, start: datetime, entry: str, hours: float = 3
) -> list[Item]:
    scenario = parse_scenario(f"schedule:\n  - {entry}\n")
    simulation = Simulation(compounds, start=start, seed=1, scenario=scenario, spontaneous=False)
    return list(simulation.run(start + timedelta(hours=hours)))


def _of(items: list[Item], device: str) -> list[Publish]:
    return [i for i in items if isinstance(i, Publish) and i.device == device]


def _decode(item: Publish) -> list[domain.Payload | domain.InvalidPayload]:
    return domain.decode(domain.Topic.parse(item.topic), item.payload)


def _refusal(item: Publish) -> Reason | None:
    """Why the contract refuses the payload as a whole or its only element."""
    try:
        results = _decode(item)
    except domain.InvalidPayload as exc:
        return exc.reason
    refused = [r.reason for r in results if isinstance(r, domain.InvalidPayload)]
    return refused[0] if len(refused) == 1 else None


@pytest.mark.parametrize(
    ("variant", "reason"),
    [
        ("not_json", Reason.MALFORMED_JSON),
        ("not_utf8", Reason.NOT_UTF8),
        ("schema", Reason.SCHEMA_VIOLATION),
        ("bad_ts", Reason.SCHEMA_VIOLATION),
        ("face_image", Reason.PRIVACY_VIOLATION),
        ("empty_batch", Reason.SCHEMA_VIOLATION),
    ],
)
def test_malformed_payloads_are_refused_for_their_reason(
    small: domain.CompoundFile, midnight: datetime, variant: str, reason: Reason
) -> None:
    items = _items(
        small,
        midnight,
        f"{{at: '01:00', type: malformed, device: L-002, variant: {variant}, count: 2}}",
    )
    bad = [i for i in _of(items, "C001-L-002") if i.fault == "malformed"]
    assert len(bad) == 2
    assert all(i.seqs == () for i in bad)
    for item in bad:
        assert _refusal(item) is reason
        if variant != "empty_batch":
            assert item.detail["marker"].encode() in item.payload


def test_duplicates_repeat_the_same_seq(small: domain.CompoundFile, midnight: datetime) -> None:
    items = _of(
        _items(small, midnight, "{at: '01:00', type: duplicate, device: G-E1, count: 3}"),
        "C001-G-E1",
    )
    copies = [i for i in items if i.fault == "duplicate"]
    assert len(copies) == 3
    for copy in copies:
        originals = [i for i in items if i.seqs == copy.seqs and i.fault is None]
        assert len(originals) == 1
        assert originals[0].payload == copy.payload


def test_out_of_order_reverses_the_next_messages(
    small: domain.CompoundFile, midnight: datetime
) -> None:
    entry = "{at: '01:00', type: out_of_order, device: L-003, count: 4}"
    items = _of(_items(small, midnight, entry), "C001-L-003")
    shuffled = [i for i in items if i.fault == "out_of_order"]
    assert len(shuffled) == 4
    seqs = [i.seqs[0] for i in shuffled]
    assert seqs == sorted(seqs, reverse=True)
    assert [i.seqs[0] for i in items] != sorted(i.seqs[0] for i in items)


def test_a_late_batch_is_an_array_published_after_the_delay(
    small: domain.CompoundFile, midnight: datetime
) -> None:
    items = _of(
        _items(
            small,
            midnight,
            "{at: '01:00', type: late_batch, device: L-004, window: 30m, delay: 1h}",
        ),
        "C001-L-004",
    )
    late = [i for i in items if i.fault == "late_batch"]
    assert len(late) == 1
    batch = late[0]
    assert batch.at == midnight + timedelta(hours=2, minutes=30)
    elements = _decode(batch)
    assert len(elements) == len(batch.seqs) >= 5
    assert all(isinstance(e, domain.LightTelemetry) for e in elements)
    assert all(
        midnight + timedelta(hours=1) <= e.ts < midnight + timedelta(hours=1, minutes=30)
        for e in elements
        if isinstance(e, domain.LightTelemetry)
    )
    assert orjson.loads(batch.payload)[0]["seq"] == batch.seqs[0]


def test_clock_skew_shifts_ts(small: domain.CompoundFile, midnight: datetime) -> None:
    items = _of(
        _items(
            small,
            midnight,
            "{at: '01:00', type: clock_skew, device: L-005, skew: -90m, duration: 1h}",
        ),
        "C001-L-005",
    )
    skewed = [i for i in items if i.fault == "clock_skew"]
    assert skewed
    assert all(i.detail["skew_s"] == -5400 for i in skewed)
    for item in skewed:
        (body,) = _decode(item)
        assert isinstance(body, domain.LightTelemetry)
        assert item.at - body.ts == pytest.approx(timedelta(minutes=90), abs=timedelta(seconds=1))
    after = [i for i in items if i.at > midnight + timedelta(hours=2)]
    assert after
    assert all(i.fault is None for i in after)


def test_a_disconnect_loses_what_the_device_would_have_said(
    small: domain.CompoundFile, midnight: datetime
) -> None:
    items = [
        i
        for i in _items(
            small, midnight, "{at: '01:00', type: disconnect, device: G-E1, duration: 20m}"
        )
        if i.device == "C001-G-E1"
    ]
    drop = next(i for i in items if isinstance(i, Disconnect))
    back = [i for i in items if isinstance(i, Connect)][1]
    assert drop.at == midnight + timedelta(hours=1)
    assert back.at == midnight + timedelta(hours=1, minutes=20)
    assert orjson.loads(drop.will_payload) == {
        "ts": "2024-05-06T00:00:00.000+08:00",
        "online": False,
    }
    between = [i for i in items if isinstance(i, Publish) and drop.at < i.at < back.at]
    assert between == []
    status = next(i for i in items if isinstance(i, Publish) and i.at == back.at)
    assert status.retain
    assert orjson.loads(status.payload)["online"] is True
    seqs = [s for i in items if isinstance(i, Publish) for s in i.seqs]
    assert seqs == list(range(len(seqs)))  # nothing was numbered and lost


def test_an_outage_ends_in_a_backfill_burst(small: domain.CompoundFile, midnight: datetime) -> None:
    items = [
        i
        for i in _items(small, midnight, "{at: '01:00', type: outage, device: L-006, duration: 1h}")
        if i.device == "C001-L-006"
    ]
    back = midnight + timedelta(hours=2)
    burst = [i for i in items if isinstance(i, Publish) and i.fault == "backfill"]
    assert burst
    assert all(i.at == back for i in burst)
    elements = [e for i in burst for e in _decode(i)]
    assert len(elements) == 12  # an hour of five-minute telemetry
    assert all(not isinstance(e, domain.InvalidPayload) for e in elements)
    seqs = sorted(s for i in items if isinstance(i, Publish) for s in i.seqs)
    assert seqs == list(range(len(seqs)))


def test_silence_sends_nothing_and_uses_no_seq(
    small: domain.CompoundFile, midnight: datetime
) -> None:
    items = _of(
        _items(
            small, midnight, "{at: '01:00', type: silent, device: E-3-2-301-fall, duration: 1h}"
        ),
        "C001-E-3-2-301-fall",
    )
    assert not [
        i for i in items if midnight + timedelta(hours=1) <= i.at < midnight + timedelta(hours=2)
    ]
    assert [i for i in items if i.at >= midnight + timedelta(hours=2)]
    seqs = [s for i in items for s in i.seqs]
    assert seqs == list(range(len(seqs)))


def test_finish_releases_what_is_held_and_says_goodbye(small: domain.CompoundFile) -> None:
    start = datetime(2024, 5, 6, tzinfo=UTC)
    scenario = parse_scenario(
        "schedule:\n  - {at: '08:05', type: outage, device: L-007, duration: 5h}\n"
    )
    simulation = Simulation(small, start=start, scenario=scenario, spontaneous=False)
    list(simulation.run(start + timedelta(hours=1)))
    end = simulation.finish(start + timedelta(hours=1))
    light = [i for i in end if i.device == "C001-L-007"]
    assert [type(i).__name__ for i in light][:2] == ["Connect", "Publish"]
    assert any(isinstance(i, Publish) and i.fault == "backfill" for i in light)
    assert isinstance(light[-1], Disconnect)
    assert sum(isinstance(i, Disconnect) for i in end) == len(simulation.runtimes)
    assert all(
        (isinstance(i, Publish) and i.channel is Channel.STATUS)
        or not isinstance(i, Publish)
        or i.fault == "backfill"
        for i in end
    )
