"""Payload schemas of contract v1, one per kind and channel.

Every object carries `ts` (RFC 3339 with an offset, or integer epoch milliseconds)
and, recommended, `seq` (a per-device counter). Telemetry carries `values`, an
event carries `type` plus its fields, status carries `online`, an ack answers a
command by its `correlation_id`. Unknown fields are refused so that contract
drift shows up in the dead-letter table instead of vanishing; face images and
templates are refused outright (PIPL: the backend never holds them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
)

Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def _storable(value: str) -> str:
    """Refuse what PostgreSQL text/jsonb cannot hold: NUL and lone surrogates (issue 14)."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL (\\u0000)")
    if any("\ud800" <= c <= "\udfff" for c in value):
        raise ValueError("text must not contain lone surrogates")
    return value


Text = Annotated[str, StringConstraints(max_length=500), AfterValidator(_storable)]
Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Percent = Annotated[float, Field(ge=0.0, le=100.0)]

# Issue 14: an unbounded value (uptime_s = 1.7e308) overflowed avg() in the hourly
# rollup. Every counter gets a physical ceiling; every float must be finite.
# 20 years of seconds: no device runs longer without a reboot or replacement.
MAX_UPTIME_S = 20 * 365.25 * 24 * 3600
# 30 years of hours: beyond any street-light fixture's service life.
MAX_BURNING_HOURS = 30 * 365.25 * 24
Uptime = Annotated[float, Field(ge=0, le=MAX_UPTIME_S, allow_inf_nan=False)]

# Keys that would carry a face image, a face template or a link to one. Refused at
# the top level of any payload with their own reason, whatever the kind.
FACE_KEYS = frozenset(
    {
        "image",
        "images",
        "img",
        "photo",
        "picture",
        "picture_url",
        "pictureurl",
        "pic",
        "snapshot",
        "face",
        "face_image",
        "face_img",
        "face_template",
        "face_feature",
        "template",
        "feature",
        "features",
        "feature_vector",
        "embedding",
        "face_rect",
    }
)

MAX_SEQ = 2**63 - 1


def _timestamp(value: Any) -> datetime:
    """Epoch milliseconds (int) or RFC 3339 with an offset -> aware UTC datetime."""
    if isinstance(value, bool):
        raise ValueError("ts must be epoch milliseconds or an RFC 3339 string, not a boolean")
    if isinstance(value, int):
        if not 0 <= value < 32503680000000:  # year 3000: beyond it is a unit error, not a date
            raise ValueError("ts in epoch milliseconds is out of range")
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("ts is not an RFC 3339 timestamp") from None
        if parsed.tzinfo is None:
            raise ValueError("ts needs a UTC offset (e.g. +08:00 or Z)")
        return parsed.astimezone(UTC)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    raise ValueError("ts must be epoch milliseconds (integer) or an RFC 3339 string")


def _isoformat(value: datetime) -> str:
    return value.isoformat()


Timestamp = Annotated[
    datetime,
    PlainValidator(_timestamp),
    # A plain validator hides the type from pydantic's serializer: say how to write it.
    PlainSerializer(_isoformat, return_type=str, when_used="json"),
]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)

    ts: Timestamp
    seq: Annotated[int, Field(ge=0, le=MAX_SEQ)] | None = None


# --- telemetry ---------------------------------------------------------------------------


class _Values(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def as_floats(self) -> dict[str, float]:
        """The reported values as named floats (booleans as 1.0/0.0), absent ones left out."""
        return {k: float(v) for k, v in self.__dict__.items() if v is not None}


class GateValues(_Values):
    uptime_s: Uptime | None = None
    temperature_c: Annotated[float, Field(ge=-60, le=120)] | None = None
    door_open: bool | None = None


class BarrierValues(_Values):
    occupancy: Annotated[int, Field(ge=0, le=100_000)] | None = None
    capacity: Annotated[int, Field(ge=0, le=100_000)] | None = None
    uptime_s: Uptime | None = None


class LightValues(_Values):
    power_w: Annotated[float, Field(ge=0, le=5000)] | None = None
    voltage_v: Annotated[float, Field(ge=0, le=500)] | None = None
    current_a: Annotated[float, Field(ge=0, le=50)] | None = None
    lux: Annotated[float, Field(ge=0, le=200_000)] | None = None
    burning_hours: (
        Annotated[float, Field(ge=0, le=MAX_BURNING_HOURS, allow_inf_nan=False)] | None
    ) = None
    dim_level: Percent | None = None
    on: bool | None = None


class ElderValues(_Values):
    # Physically possible ranges, not healthy ones: a heart rate of 35 must reach the rules.
    heart_rate: Annotated[float, Field(ge=0, le=300)] | None = None
    spo2: Percent | None = None
    battery: Percent | None = None
    temperature_c: Annotated[float, Field(ge=-60, le=120)] | None = None


class GateTelemetry(_Payload):
    values: GateValues  # an empty object is a pure heartbeat


class BarrierTelemetry(_Payload):
    values: BarrierValues


class LightTelemetry(_Payload):
    values: LightValues


class ElderTelemetry(_Payload):
    values: ElderValues


Telemetry = GateTelemetry | BarrierTelemetry | LightTelemetry | ElderTelemetry


# --- events ------------------------------------------------------------------------------


class GateAccess(_Payload):
    type: Literal["access"]
    result: Literal["granted", "denied"]
    method: Literal["face", "card", "qr", "pin", "remote"]
    person_ref: Ident | None = None  # pseudonymous reference, never a name or an image
    score: Unit | None = None  # match score of the face/credential check
    direction: Literal["in", "out"] | None = None
    door: Ident | None = None


class GateDoor(_Payload):
    type: Literal["door"]
    state: Literal["open", "closed"]
    door: Ident | None = None


class GateForcedOpen(_Payload):
    type: Literal["forced_open"]
    door: Ident | None = None


class GateTamper(_Payload):
    type: Literal["tamper"]
    detail: Text | None = None


class GatePassage(_Payload):
    type: Literal["passage"]  # a person passed the door (counted by the gate's sensor)
    direction: Literal["in", "out"] | None = None
    count: Annotated[int, Field(ge=1, le=100)] = 1


class BarrierPlate(_Payload):
    type: Literal["plate"]
    plate: Annotated[str, StringConstraints(min_length=2, max_length=16)]
    direction: Literal["in", "out"]
    confidence: Unit
    lane: Ident | None = None


class BarrierState(_Payload):
    type: Literal["barrier"]
    state: Literal["open", "closed", "stuck", "fault"]
    detail: Text | None = None


class LightSwitch(_Payload):
    type: Literal["switch"]
    state: Literal["on", "off"]


class LightDim(_Payload):
    type: Literal["dim"]
    level: Percent


class LightFault(_Payload):
    type: Literal["fault"]
    code: Literal[
        "lamp_failure", "dimming_failure", "supply_loss", "relay_failure", "high_temperature"
    ]
    detail: Text | None = None


class ElderSos(_Payload):
    type: Literal["sos"]


class ElderFall(_Payload):
    type: Literal["fall"]
    confidence: Unit | None = None


class ElderMotion(_Payload):
    type: Literal["motion"]
    room: Ident | None = None


class ElderDoor(_Payload):
    type: Literal["door"]
    state: Literal["open", "closed"]


class ElderBedExit(_Payload):
    type: Literal["bed_exit"]


GateEvent = Annotated[
    GateAccess | GateDoor | GateForcedOpen | GateTamper | GatePassage, Field(discriminator="type")
]
BarrierEvent = Annotated[BarrierPlate | BarrierState, Field(discriminator="type")]
LightEvent = Annotated[LightSwitch | LightDim | LightFault, Field(discriminator="type")]
ElderEvent = Annotated[
    ElderSos | ElderFall | ElderMotion | ElderDoor | ElderBedExit, Field(discriminator="type")
]
Event = (
    GateAccess
    | GateDoor
    | GateForcedOpen
    | GateTamper
    | GatePassage
    | BarrierPlate
    | BarrierState
    | LightSwitch
    | LightDim
    | LightFault
    | ElderSos
    | ElderFall
    | ElderMotion
    | ElderDoor
    | ElderBedExit
)

# Events that name a person or a vehicle: personal data with their own, short retention.
PERSONAL_EVENT_TYPES = {("gate", "access"), ("barrier", "plate")}


# --- status and ack -----------------------------------------------------------------------


class Status(_Payload):
    online: bool
    reason: Text | None = None


class Ack(_Payload):
    correlation_id: Ident
    result: Literal["ok", "error", "rejected"]
    detail: Text | None = None


Payload = Telemetry | Event | Status | Ack


def data_class(kind: str, body: Payload) -> str:
    """The data class a payload is stored and retained under: telemetry, events or access."""
    if isinstance(body, Telemetry):
        return "telemetry"
    if (kind, getattr(body, "type", "")) in PERSONAL_EVENT_TYPES:
        return "access"
    return "events"
