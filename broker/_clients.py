"""The one way every backend process sets up an MQTT client from an `MqttEndpoint`:
protocol, credentials and TLS are applied here and nowhere else, so that no client
drifts (one that skipped TLS on an mqtts:// broker, or forced MQTT 5 on a 3.1.1 one).

- `paho_client`: the gateway's sessions (its own and adopted ones), the simulators'
  device sessions, and the publisher below;
- `aiomqtt_client`: the API's device-command connection (asyncio, in the lifespan);
- `publisher`: a connected QoS 1 publisher for case transitions (cases.Publisher).
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final, cast

import aiomqtt
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from broker._endpoint import MqttEndpoint
from broker._errors import BrokerUnreachable, InvalidEndpoint
from domain import is_identifier

log = logging.getLogger(__name__)

# Case transitions are rare and each matters (an SOS acknowledged): at least once.
PUBLISH_QOS = 1
# How long a publish may wait for the broker's PUBACK before it is logged as lost, and
# how long the first CONNACK may take before the broker counts as unreachable.
PUBLISH_TIMEOUT_S = 5.0
# Between reconnection attempts of a backend client that lost its broker, doubling from
# the first to the second: a refused attempt costs a few syscalls, and the gateways must
# be back on a restarted broker before the devices, whose reconnect backoff starts at
# a second. Mosquitto 2.0 does not restore a shared subscription, so what devices
# publish before the group's gateways subscribe again is routed to nobody. (paho's
# annotations say int; its wait compares the delay with float clock readings.)
RECONNECT_MIN_S: Final = 0.05
RECONNECT_MAX_S: Final = 0.25


def paho_client(
    endpoint: MqttEndpoint,
    client_id: str,
    *,
    persistent: bool = False,
    manual_ack: bool = False,
    reconnect: bool = True,
) -> paho.Client:
    """A paho client (callback API 2) for `endpoint`, not yet connected. `persistent`
    keeps the session across connections (MQTT 5 sets the expiry in CONNECT)."""
    if not is_identifier(client_id):
        raise InvalidEndpoint(f"MQTT client id {client_id!r} is not an identifier")
    v5 = endpoint.protocol == 5
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
        manual_ack=manual_ack,
        clean_session=None if v5 else not persistent,
        reconnect_on_failure=reconnect,
    )
    if endpoint.username is not None:
        client.username_pw_set(endpoint.username, endpoint.password)
    if endpoint.tls:
        client.tls_set(ca_certs=endpoint.tls_ca)
    client.reconnect_delay_set(
        min_delay=cast(int, RECONNECT_MIN_S), max_delay=cast(int, RECONNECT_MAX_S)
    )
    return client


def aiomqtt_client(endpoint: MqttEndpoint, identifier: str, **options: Any) -> aiomqtt.Client:
    """An aiomqtt client for `endpoint` (enter it with `async with` to connect)."""
    tls = ssl.create_default_context(cafile=endpoint.tls_ca) if endpoint.tls else None
    return aiomqtt.Client(
        endpoint.host,
        endpoint.port,
        username=endpoint.username,
        password=endpoint.password,
        identifier=identifier,
        protocol=aiomqtt.ProtocolVersion.V5
        if endpoint.protocol == 5
        else aiomqtt.ProtocolVersion.V311,
        tls_context=tls,
        **options,
    )


class MqttPublisher:
    """Publishes at QoS 1 and waits for the broker's PUBACK; never raises (a transition
    it publishes is already committed): a failure is logged."""

    def __init__(self, client: paho.Client, *, timeout_s: float = PUBLISH_TIMEOUT_S) -> None:
        self._client = client
        self._timeout_s = timeout_s

    def publish(self, topic: str, payload: bytes) -> None:
        info = self._client.publish(topic, payload, qos=PUBLISH_QOS)
        try:
            info.wait_for_publish(self._timeout_s)
        except (RuntimeError, ValueError) as exc:  # paho: not queued, or client stopped
            log.warning("not published on %s: %s", topic, exc)
            return
        if not info.is_published():
            log.warning("not acknowledged by the broker on %s", topic)


@contextmanager
def publisher(
    endpoint: MqttEndpoint, client_id: str, *, timeout_s: float = PUBLISH_TIMEOUT_S
) -> Iterator[MqttPublisher]:
    """A connected publisher until the block ends; `BrokerUnreachable` when the broker
    does not accept the connection within `timeout_s`."""
    client = paho_client(endpoint, client_id)
    connected = threading.Event()
    client.on_connect = lambda c, u, f, rc, p: connected.set() if not rc.is_failure else None
    try:
        client.connect(endpoint.host, endpoint.port)
    except (OSError, ssl.SSLError) as exc:
        raise BrokerUnreachable(str(endpoint), f"cannot connect: {exc}") from exc
    client.loop_start()
    try:
        if not connected.wait(timeout_s):
            raise BrokerUnreachable(str(endpoint), f"did not accept {endpoint.username}")
        yield MqttPublisher(client, timeout_s=timeout_s)
    finally:
        client.disconnect()
        client.loop_stop()
