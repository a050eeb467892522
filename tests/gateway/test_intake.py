"""Intake: every edge check, without a broker."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import DEAD_LETTER_ELEMENTS_LISTED, DEAD_LETTER_PAYLOAD_BYTES, Kind, Reason
from gateway import MAX_PARTITIONS_PER_DELIVERY, Intake, Limits
from registry import DeviceRef
from tests.factories import dumps, ms
from tests.gateway.fakes import FixedClock

CLOCK = FixedClock()
NOW = CLOCK.now()
DEVICES = {"l1": DeviceRef("c1", Kind.LIGHT, 300), "g1": DeviceRef("c1", Kind.GATE, 60)}
LIMITS = Limits(
    max_payload_bytes=1000,
    max_future_skew=timedelta(minutes=5),
    retention={
        "telemetry": timedelta(days=400),
        "access": timedelta(days=90),
        "events": timedelta(days=730),
    },
)

BIG = Limits(retention=LIMITS.retention)  # the default 64 KiB payload limit


def accept(topic: str, payload: bytes) -> tuple[int, list[str]]:
    intake = Intake(devices=DEVICES.get, limits=LIMITS)
    result = intake.accept(topic, payload, NOW)
    return len(result.messages), [d.reason.value for d in result.dead_letters]


def test_a_valid_message_passes() -> None:
    payload = dumps({"ts": ms(NOW), "values": {"lux": 3}})
    assert accept("dayuan/v1/c1/light/l1/telemetry", payload) == (1, [])


def test_limits_are_inclusive_of_the_edge() -> None:
    edge = dumps({"ts": ms(NOW + timedelta(minutes=5)), "values": {}})
    over = dumps({"ts": ms(NOW + timedelta(minutes=5, seconds=1)), "values": {}})
    assert accept("dayuan/v1/c1/light/l1/telemetry", edge) == (1, [])
    assert accept("dayuan/v1/c1/light/l1/telemetry", over) == (0, ["clock_skew"])


def test_retention_is_per_data_class() -> None:
    old = ms(NOW - timedelta(days=100))
    access = dumps({"ts": old, "type": "access", "result": "granted", "method": "card"})
    door = dumps({"ts": old, "type": "door", "state": "open"})
    assert accept("dayuan/v1/c1/gate/g1/event", access) == (0, ["too_old"])
    assert accept("dayuan/v1/c1/gate/g1/event", door) == (1, [])


def test_size_is_checked_before_parsing() -> None:
    assert accept("dayuan/v1/c1/light/l1/telemetry", b"x" * 1001) == (0, ["oversized"])


def test_registry_and_topic_must_agree() -> None:
    payload = dumps({"ts": ms(NOW), "values": {}})
    assert accept("dayuan/v1/c1/light/nope/telemetry", payload) == (0, ["unknown_device"])
    assert accept("dayuan/v1/c2/light/l1/telemetry", payload) == (0, ["topic_mismatch"])
    assert accept("dayuan/v1/c1/elder/l1/telemetry", payload) == (0, ["topic_mismatch"])


def test_a_batch_splits_into_messages_and_one_dead_letter() -> None:
    payload = dumps(
        [
            {"ts": ms(NOW), "values": {}},
            {"ts": ms(NOW + timedelta(days=1)), "values": {}},
            {"ts": ms(NOW), "values": {"lux": "bright"}},
        ]
    )
    result = Intake(devices=DEVICES.get, limits=LIMITS).accept(
        "dayuan/v1/c1/light/l1/telemetry", payload, NOW
    )
    assert len(result.messages) == 1
    [letter] = result.dead_letters
    assert letter.refused == 2
    assert letter.elements == ((1, "clock_skew"), (2, "schema_violation"))
    assert "batch element 2" in letter.detail


def test_a_thousand_bad_elements_make_one_bounded_row() -> None:
    bad = [{"ts": ms(NOW), "values": {"lux": -1}}] * 1000
    result = Intake(devices=DEVICES.get, limits=BIG).accept(
        "dayuan/v1/c1/light/l1/telemetry", dumps(bad), NOW
    )
    [letter] = result.dead_letters
    assert letter.refused == 1000
    assert len(letter.elements) == DEAD_LETTER_ELEMENTS_LISTED
    assert len(letter.payload) <= DEAD_LETTER_PAYLOAD_BYTES
    assert "and 997 more" in letter.detail


def test_a_backfill_touches_a_bounded_number_of_partitions() -> None:
    days = [NOW - timedelta(days=d) for d in range(0, 390, 3)]  # 130 day-chunks
    backfill = [{"ts": ms(ts), "values": {"lux": 1}} for ts in days]
    result = Intake(devices=DEVICES.get, limits=BIG).accept(
        "dayuan/v1/c1/light/l1/telemetry", dumps(backfill), NOW
    )
    assert len(result.messages) == MAX_PARTITIONS_PER_DELIVERY
    [letter] = result.dead_letters
    assert letter.reason is Reason.TOO_MANY_PARTITIONS
    assert letter.refused == len(days) - MAX_PARTITIONS_PER_DELIVERY
    assert "partition" in letter.detail


def test_readings_in_one_chunk_count_once() -> None:
    same_day = [{"ts": ms(NOW) - i, "values": {"lux": 1}} for i in range(500)]
    result = Intake(devices=DEVICES.get, limits=BIG).accept(
        "dayuan/v1/c1/light/l1/telemetry", dumps(same_day), NOW
    )
    assert (len(result.messages), result.dead_letters) == (500, [])


FACE = "FACE-MARKER-" + "x" * 300


@pytest.mark.parametrize(
    "payload",
    [
        {"ts": 0, "type": "access", "result": "granted", "method": "face", "face_image": FACE},
        [
            {"ts": 0, "type": "door", "state": "open"},
            {"ts": 0, "type": "door", "state": "ajar"},
            {"ts": 0, "type": "access", "result": "granted", "method": "face", "Embedding": FACE},
        ],
    ],
)
def test_a_privacy_violation_keeps_names_and_sizes_never_the_face(payload: object) -> None:
    body = dumps(_now(payload))
    result = Intake(devices=DEVICES.get, limits=Limits(max_payload_bytes=10_000)).accept(
        "dayuan/v1/c1/gate/g1/event", body, NOW
    )
    [letter] = result.dead_letters
    assert letter.reason is Reason.PRIVACY_VIOLATION
    assert letter.payload == b""
    assert letter.payload_size == len(body)
    assert "FACE-MARKER" not in letter.detail
    assert f"({len(dumps(FACE))} bytes)" in letter.detail


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        # refused before any schema saw it: still no face bytes kept
        ("dayuan/v1/c1/gate/g1/event", b'{"ts": 1, "Snapshot": "' + FACE.encode() * 40 + b'"}'),
        ("dayuan/v1/c1/gate/nobody/event", b'{"ts": 1, "image": "' + FACE.encode() + b'"}'),
        ("dayuan/v1/c1/gate/g1/event", b'{"ts": 1, "face": "' + FACE.encode() + b'", '),
        ("dayuan/v1/c1/light/l1/telemetry", dumps({"ts": 1, "values": {"photo": FACE}})),
    ],
)
def test_no_rejection_path_keeps_a_face_field(topic: str, payload: bytes) -> None:
    [letter] = Intake(devices=DEVICES.get, limits=LIMITS).accept(topic, payload, NOW).dead_letters
    assert b"FACE-MARKER" not in letter.payload
    assert "FACE-MARKER" not in letter.detail


def _now(payload: object) -> object:
    if isinstance(payload, list):
        return [_now(p) for p in payload]
    assert isinstance(payload, dict)
    return {**payload, "ts": ms(NOW)}
