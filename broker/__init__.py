"""The MQTT broker as the backend meets it: where it is (`MqttEndpoint`, parsed once by
the settings), the one way each client is set up from that (`paho_client`,
`aiomqtt_client`, `publisher`), the Mosquitto configuration generated from the
registry (`write_config`: accounts, ACL, listeners, persistence), and the broker
started for development and tests (`mosquitto`, `amqtt_broker`).
"""

from broker._clients import MqttPublisher, aiomqtt_client, paho_client, publisher
from broker._config import (
    MAX_PACKET_BYTES,
    Account,
    DeviceEntry,
    TlsListener,
    acl_file,
    mosquitto_conf,
    password_file,
    password_hash,
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
from broker._errors import BrokerError, BrokerUnreachable, InvalidEndpoint

__all__ = [
    "MAX_PACKET_BYTES",
    "Account",
    "BrokerError",
    "BrokerUnreachable",
    "DeviceEntry",
    "InvalidEndpoint",
    "MqttEndpoint",
    "MqttPublisher",
    "Protocol",
    "TlsListener",
    "acl_file",
    "aiomqtt_client",
    "amqtt_broker",
    "free_port",
    "mosquitto",
    "mosquitto_binary",
    "mosquitto_conf",
    "paho_client",
    "password_file",
    "password_hash",
    "publisher",
    "wait_for_port",
    "write_config",
]
