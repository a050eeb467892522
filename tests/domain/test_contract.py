"""The MQTT contract: topics and payloads, judged without I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

import domain
from domain import (
    ElderSos,
    GateAccess,
    InvalidPayload,
    InvalidTopic,
    Kind,
    LightTelemetry,
    Reason,
    Topic,
    data_class,
    decode,
    device_password,
    is_outbound,
)


def test_topic_round_trip() -> None:
    topic = Topic.parse("dayuan/v1/c001/light/L-017/telemetry")
    assert (topic.compound, topic.kind, topic.device) == ("c001", Kind.LIGHT, "L-017")
    assert str(topic) == "dayuan/v1/c001/light/L-017/telemetry"


@pytest.mark.parametrize(
    ("topic", "complaint"),
    [
        ("dayuan/v2/c001/light/L-017/telemetry", "expected dayuan/v1"),
        ("dayuan/v1/c001/toaster/T-1/telemetry", "unknown kind"),
        ("dayuan/v1/c001/light/L-017/video", "unknown channel"),
        ("dayuan/v1/c 001/light/L-017/telemetry", "compound must match"),
        ("dayuan/v1/c001/light/" + "x" * 65 + "/telemetry", "device must match"),
        ("dayuan/v1/c001/light/L-017", "expected dayuan/v1"),
    ],
)
def test_bad_topics_are_refused_with_a_reason(topic: str, complaint: str) -> None:
    with pytest.raises(InvalidTopic, match=complaint) as info:
        Topic.parse(topic)
    assert info.value.reason is Reason.BAD_TOPIC


def test_timestamps_accept_epoch_ms_and_rfc3339_with_offset_only() -> None:
    topic = Topic.parse("dayuan/v1/c1/elder/e1/event")
    [a] = decode(topic, b'{"ts": 1795240923000, "type": "sos"}')
    [b] = decode(topic, b'{"ts": "2026-11-21T07:42:03+08:00", "type": "sos"}')
    [naive] = decode(topic, b'{"ts": "2026-11-21T07:42:03", "type": "sos"}')
    [seconds_as_bool] = decode(topic, b'{"ts": true, "type": "sos"}')
    assert isinstance(a, ElderSos)
    assert a.ts == datetime(2026, 11, 21, 6, 2, 3, tzinfo=UTC)
    assert isinstance(b, ElderSos)
    assert b.ts == datetime(2026, 11, 20, 23, 42, 3, tzinfo=UTC)
    assert isinstance(naive, InvalidPayload)
    assert "offset" in naive.detail
    assert isinstance(seconds_as_bool, InvalidPayload)


def test_values_are_typed_ranged_and_closed() -> None:
    topic = Topic.parse("dayuan/v1/c1/light/l1/telemetry")
    [ok] = decode(topic, b'{"ts": 1, "values": {"power_w": 60, "on": false}}')
    [typo] = decode(topic, b'{"ts": 1, "values": {"power_W": 60}}')
    [negative] = decode(topic, b'{"ts": 1, "values": {"power_w": -1}}')
    assert isinstance(ok, LightTelemetry)
    assert ok.values.as_floats() == {"power_w": 60.0, "on": 0.0}
    assert isinstance(typo, InvalidPayload)
    assert "power_W" in typo.detail
    assert isinstance(negative, InvalidPayload)
    assert negative.reason is Reason.SCHEMA_VIOLATION


def test_face_fields_are_refused_as_privacy_violations() -> None:
    topic = Topic.parse("dayuan/v1/c1/gate/g1/event")
    payload = b'{"ts":1,"type":"access","result":"granted","method":"face","FACE_TEMPLATE":"AAA"}'
    [refused] = decode(topic, payload)
    assert isinstance(refused, InvalidPayload)
    assert refused.reason is Reason.PRIVACY_VIOLATION
    long_ref = b'{"ts":1,"type":"access","result":"granted","method":"face","person_ref":"'
    [smuggled] = decode(topic, long_ref + b"A" * 200 + b'"}')
    assert isinstance(smuggled, InvalidPayload)  # a person_ref is a short token, not an image


def test_whole_payload_problems_raise() -> None:
    topic = Topic.parse("dayuan/v1/c1/light/l1/telemetry")
    for payload, reason in [
        (b"{not json", Reason.MALFORMED_JSON),
        (b"\xff\xfe", Reason.NOT_UTF8),
        (b"[]", Reason.SCHEMA_VIOLATION),
        (b"42", Reason.SCHEMA_VIOLATION),
        (b"[" + b",".join([b'{"ts":1,"values":{}}'] * 1001) + b"]", Reason.SCHEMA_VIOLATION),
    ]:
        with pytest.raises(InvalidPayload) as info:
            decode(topic, payload)
        assert info.value.reason is reason


def test_batch_elements_are_judged_one_by_one() -> None:
    topic = Topic.parse("dayuan/v1/c1/light/l1/telemetry")
    items = decode(topic, b'[{"ts":1,"values":{}}, 7, {"ts":2,"values":{"lux":-3}}]')
    assert isinstance(items[0], LightTelemetry)
    assert isinstance(items[1], InvalidPayload)
    assert items[1].index == 1
    assert isinstance(items[2], InvalidPayload)
    assert "batch element 2" in str(items[2])


def test_data_classes_separate_personal_events() -> None:
    access = GateAccess(ts=datetime.now(UTC), type="access", result="denied", method="card")
    assert data_class("gate", access) == "access"
    assert data_class("elder", ElderSos(ts=datetime.now(UTC), type="sos")) == "events"


def test_outbound_topics_are_the_backends_own() -> None:
    assert is_outbound("dayuan/v1/c1/light/l1/cmd")
    assert is_outbound("dayuan/v1/c1/cases/42/opened")
    assert not is_outbound("dayuan/v1/c1/light/l1/telemetry")
    assert not is_outbound("dayuan/v1/c1/light/l1/telemetry/cmd")


def test_device_passwords_are_stable_per_device_and_secret() -> None:
    assert device_password("s", "g1") == device_password("s", "g1")
    assert device_password("s", "g1") != device_password("s", "g2")
    assert device_password("s", "g1") != device_password("t", "g1")
    assert len(device_password("s", "g1")) == 32


def test_no_schema_field_is_a_face_key() -> None:
    """The privacy check runs only on refused documents; that is sound only while no
    schema accepts a field named like a face key."""
    models = [m for m in vars(domain).values() if isinstance(m, type) and issubclass(m, BaseModel)]
    assert domain.ElderSos in models
    fields = {name.lower() for model in models for name in model.model_fields}
    assert fields.isdisjoint(domain.FACE_KEYS)


def test_payloads_round_trip_through_json() -> None:
    topic = Topic.parse("dayuan/v1/c1/gate/g1/event")
    access = GateAccess(
        ts=datetime(2026, 11, 21, 7, 42, tzinfo=UTC),
        seq=3,
        type="access",
        result="granted",
        method="qr",
        person_ref="p-1",
        score=0.9,
    )
    assert decode(topic, access.model_dump_json(exclude_none=True).encode()) == [access]


def test_absurd_numbers_and_unstorable_text_are_refused_naming_the_field() -> None:
    gate = Topic.parse("dayuan/v1/c1/gate/g1/telemetry")
    batch = b'[{"ts": 1, "values": {"uptime_s": 1.7e308}}, {"ts": 2, "values": {"uptime_s": 60}}]'
    absurd, fine = decode(gate, batch)
    assert isinstance(absurd, InvalidPayload)
    assert absurd.reason is Reason.SCHEMA_VIOLATION
    assert "uptime_s" in absurd.detail
    assert not isinstance(fine, InvalidPayload)  # the valid element beside it stands
    [light] = decode(
        Topic.parse("dayuan/v1/c1/light/l1/telemetry"),
        b'{"ts": 1, "values": {"burning_hours": 1e300}}',
    )
    assert isinstance(light, InvalidPayload)
    assert "burning_hours" in light.detail
    event = Topic.parse("dayuan/v1/c1/gate/g1/event")
    [nul] = decode(event, b'{"ts": 1, "type": "tamper", "detail": "cover\\u0000open"}')
    assert isinstance(nul, InvalidPayload)
    assert nul.reason is Reason.SCHEMA_VIOLATION
    assert "NUL" in nul.detail
