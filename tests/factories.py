"""The test compound and payload builders shared by the tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from domain import Compound, CompoundFile, Device, Kind

COMPOUND = "c1"
GATE, BARRIER, LIGHT, SOS, WEARABLE = "gate-1", "barrier-1", "light-1", "sos-1", "wear-1"

TEST_REGISTRY = CompoundFile(
    compounds=[
        Compound(
            id=COMPOUND,
            name="Test compound",
            lat=30.27,
            lon=120.16,
            devices=[
                Device(id=GATE, kind=Kind.GATE, model="face_gate", address="1"),
                Device(id=BARRIER, kind=Kind.BARRIER, model="plate_barrier"),
                Device(id=LIGHT, kind=Kind.LIGHT, model="led_light", x=10, y=20),
                Device(id=SOS, kind=Kind.ELDER, model="sos_pendant", address="3-2-301"),
                Device(
                    id=WEARABLE,
                    kind=Kind.ELDER,
                    model="wearable",
                    address="3-2-301",
                    heartbeat_s=60,
                ),
            ]
            + [Device(id=f"bench-{i}", kind=Kind.LIGHT, model="led_light") for i in range(16)],
        )
    ]
)


def topic(kind: str, device: str, channel: str, compound: str = COMPOUND) -> str:
    return f"dayuan/v1/{compound}/{kind}/{device}/{channel}"


def ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def now_ms(offset: timedelta = timedelta()) -> int:
    return ms(datetime.now(UTC) + offset)


def dumps(obj: object) -> bytes:
    return orjson.dumps(obj)
