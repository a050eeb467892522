"""The gateway: MQTT in, decode and validate at the edge, batch, hand to a `Sink`,
acknowledge to the broker only after the sink has committed.
"""

from gateway._directory import DeviceDirectory
from gateway._errors import GatewayError, SinkRejected, SinkUnavailable
from gateway._gateway import Gateway
from gateway._intake import Accepted, Intake, KnownDevice, Limits
from gateway._metrics import GatewayMetrics
from gateway._mqtt import MqttOptions
from gateway._pipeline import Batching, Delivery, Pipeline
from gateway._sink import Sink
from gateway._takeover import Presence, State, presence_topic

__all__ = [
    "Accepted",
    "Batching",
    "Delivery",
    "DeviceDirectory",
    "Gateway",
    "GatewayError",
    "GatewayMetrics",
    "Intake",
    "KnownDevice",
    "Limits",
    "MqttOptions",
    "Pipeline",
    "Presence",
    "Sink",
    "SinkRejected",
    "SinkUnavailable",
    "State",
    "presence_topic",
]
