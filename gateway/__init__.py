"""The gateway: MQTT in, decode and validate at the edge, batch, hand to a `Sink`,
acknowledge to the broker only after the sink has committed.
"""

from gateway._directory import DeviceDirectory
from gateway._errors import GatewayError, SinkRejected, SinkUnavailable
from gateway._gateway import Gateway, MqttOptions
from gateway._intake import Accepted, Intake, KnownDevice, Limits
from gateway._metrics import GatewayMetrics
from gateway._pipeline import Batching, Delivery, Pipeline
from gateway._sink import Sink

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
    "Sink",
    "SinkRejected",
    "SinkUnavailable",
]
