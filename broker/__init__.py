"""The MQTT broker as the backend meets it: where it is (`MqttEndpoint`, parsed once by
the settings), the one way each client is set up from that (`paho_client`,
`aiomqtt_client`, `publisher`), the Mosquitto configuration generated from the
registry (`write_config`: accounts, ACL, listeners, persistence), and the broker
started for development and tests (`mosquitto`, `amqtt_broker`).
"""

from broker._accounts import RESERVED_PREFIX, provision_device, retire_device
from broker._clients import MqttPublisher, aiomqtt_client, paho_client, publisher
from broker._config import (
    AUTOSAVE_INTERVAL_S,
    MAX_PACKET_BYTES,
    MAX_QUEUED_MESSAGES,
    SECURITY_FILE,
    Account,
    BackendRole,
    DeviceEntry,
    TlsListener,
    backend_account,
    device_role,
    dynsec_plugin,
    mosquitto_conf,
    password_entry,
    security_document,
    write_config,
)
from broker._embedded import (
    amqtt_broker,
    free_port,
    mosquitto,
    mosquitto_binary,
    wait_for_port,
)
from broker._endpoint import MqttEndpoint, Protocol
from broker._errors import AccountRefused, BrokerError, BrokerUnreachable, InvalidEndpoint

__all__ = [
    "AUTOSAVE_INTERVAL_S",
    "MAX_PACKET_BYTES",
    "MAX_QUEUED_MESSAGES",
    "RESERVED_PREFIX",
    "SECURITY_FILE",
    "Account",
    "AccountRefused",
    "BackendRole",
    "BrokerError",
    "BrokerUnreachable",
    "DeviceEntry",
    "InvalidEndpoint",
    "MqttEndpoint",
    "MqttPublisher",
    "Protocol",
    "TlsListener",
    "aiomqtt_client",
    "amqtt_broker",
    "backend_account",
    "device_role",
    "dynsec_plugin",
    "free_port",
    "mosquitto",
    "mosquitto_binary",
    "mosquitto_conf",
    "paho_client",
    "password_entry",
    "provision_device",
    "publisher",
    "retire_device",
    "security_document",
    "wait_for_port",
    "write_config",
]
