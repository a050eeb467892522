"""Dayuan's pure domain layer: the MQTT contract (topics, payload schemas), the
compound file, and the rejection vocabulary. No I/O, no clocks, no frameworks but
pydantic; every other package may import it, it imports none of them.
"""

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
)
from domain._reasons import Reason
from domain._topic import (
    DEVICE_CHANNELS,
    IDENTIFIER,
    PREFIX,
    Channel,
    Kind,
    Topic,
    cmd_topic,
    is_identifier,
    subscription,
)

__all__ = [
    "DEFAULT_HEARTBEAT_S", "DEVICE_CHANNELS", "FACE_KEYS", "IDENTIFIER", "MAX_BATCH_ELEMENTS",
    "PERSONAL_EVENT_TYPES", "PREFIX", "Ack", "BarrierPlate", "BarrierState", "BarrierTelemetry",
    "BarrierValues", "Building", "Channel", "Compound", "CompoundFile", "Device", "DomainError",
    "ElderBedExit", "ElderDoor", "ElderFall", "ElderMotion", "ElderSos", "ElderTelemetry",
    "ElderValues", "Event", "GateAccess", "GateDoor", "GateForcedOpen", "GatePassage",
    "GateTamper", "GateTelemetry", "GateValues", "Grid", "GridTeam", "Household",
    "HouseholdTag", "InvalidPayload", "InvalidTopic", "Kind", "LightDim", "LightFault",
    "LightSwitch", "LightTelemetry", "LightValues", "Message", "Party", "PartyKind", "Payload",
    "Reason", "Resident", "Staff", "StaffRole", "Status", "Telemetry", "Topic", "Unit",
    "cmd_topic", "decode", "device_password", "is_identifier", "schema_for", "subscription",
]
