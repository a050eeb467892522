"""Dayuan's pure domain layer: the MQTT contract (topics, payload schemas), the
compound file, and the rejection vocabulary. No I/O, no clocks, no frameworks but
pydantic; every other package may import it, it imports none of them.
"""

from domain._clock import Clock, SystemClock
from domain._compound import (
    DEFAULT_HEARTBEAT_S,
    Building,
    Compound,
    CompoundFile,
    Device,
    Grid,
    GridTeam,
    Household,
    HouseholdTag,
    Party,
    PartyKind,
    Resident,
    Staff,
    StaffRole,
    Unit,
)
from domain._credentials import device_password
from domain._deadletter import DEAD_LETTER_PAYLOAD_BYTES, DeadLetter
from domain._decode import MAX_BATCH_ELEMENTS, Message, decode, schema_for
from domain._errors import DomainError, InvalidPayload, InvalidTopic
from domain._payloads import (
    FACE_KEYS,
    PERSONAL_EVENT_TYPES,
    Ack,
    BarrierPlate,
    BarrierState,
    BarrierTelemetry,
    BarrierValues,
    ElderBedExit,
    ElderDoor,
    ElderFall,
    ElderMotion,
    ElderSos,
    ElderTelemetry,
    ElderValues,
    Event,
    GateAccess,
    GateDoor,
    GateForcedOpen,
    GatePassage,
    GateTamper,
    GateTelemetry,
    GateValues,
    LightDim,
    LightFault,
    LightSwitch,
    LightTelemetry,
    LightValues,
    Payload,
    Status,
    Telemetry,
    data_class,
)
from domain._reasons import Reason
from domain._topic import (
    DEVICE_CHANNELS,
    IDENTIFIER,
    PREFIX,
    SUBSCRIPTION,
    Channel,
    Kind,
    Topic,
    cmd_topic,
    is_identifier,
    is_outbound,
)

__all__ = [
    "DEAD_LETTER_PAYLOAD_BYTES", "DEFAULT_HEARTBEAT_S", "DeadLetter", "DEVICE_CHANNELS", "FACE_KEYS", "IDENTIFIER", "MAX_BATCH_ELEMENTS",
    "PERSONAL_EVENT_TYPES", "PREFIX", "SUBSCRIPTION", "Ack", "BarrierPlate", "BarrierState", "BarrierTelemetry",
    "BarrierValues", "Building", "Channel", "Clock", "Compound", "CompoundFile", "Device", "DomainError",
    "ElderBedExit", "ElderDoor", "ElderFall", "ElderMotion", "ElderSos", "ElderTelemetry",
    "ElderValues", "Event", "GateAccess", "GateDoor", "GateForcedOpen", "GatePassage",
    "GateTamper", "GateTelemetry", "GateValues", "Grid", "GridTeam", "Household",
    "HouseholdTag", "InvalidPayload", "InvalidTopic", "Kind", "LightDim", "LightFault",
    "LightSwitch", "LightTelemetry", "LightValues", "Message", "Party", "PartyKind", "Payload",
    "Reason", "Resident", "Staff", "StaffRole", "Status", "SystemClock", "Telemetry", "Topic", "Unit",
    "cmd_topic", "data_class", "decode", "device_password", "is_identifier", "is_outbound", "schema_for",
]
