"""Intake: every edge check, without a broker."""

from __future__ import annotations

from datetime import timedelta

from domain import Kind
from gateway import Intake, Limits
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


def test_a_batch_splits_into_messages_and_dead_letters() -> None:
    payload = dumps(
        [
            {"ts": ms(NOW), "values": {}},
            {"ts": ms(NOW + timedelta(days=1)), "values": {}},
            {"ts": ms(NOW), "values": {"lux": "bright"}},
        ]
    )
    assert accept("dayuan/v1/c1/light/l1/telemetry", payload) == (
        1,
        ["clock_skew", "schema_violation"],
    )
