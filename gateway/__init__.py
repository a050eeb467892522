"""The gateway: MQTT in, decode and validate at the edge, batch, hand to a `Sink`,
acknowledge to the broker only after the sink has committed. The `Sink` port and its
errors are `domain`'s; the device directory is loaded through a function the entry
point gives (the registry's `device_refs`).
"""

from gateway._budget import Budget, DeadLetterBudget
from gateway._directory import DeviceDirectory
from gateway._gateway import Gateway
from gateway._intake import MAX_PARTITIONS_PER_DELIVERY, Accepted, Intake, KnownDevice, Limits
from gateway._metrics import GatewayMetrics
from gateway._mqtt import MqttOptions, Receiver
from gateway._pipeline import Batching, Delivery, Pipeline
from gateway._takeover import Presence, State, Takeover, presence_topic

__all__ = [
    "MAX_PARTITIONS_PER_DELIVERY",
    "Accepted",
    "Batching",
    "Budget",
    "DeadLetterBudget",
    "Delivery",
    "DeviceDirectory",
    "Gateway",
    "GatewayMetrics",
    "Intake",
    "KnownDevice",
    "Limits",
    "MqttOptions",
    "Pipeline",
    "Presence",
    "Receiver",
    "State",
    "Takeover",
    "presence_topic",
]
