"""What a gateway's own session and an adopted one share: the connection options, the
paho client they are made with, and the receive path from a PUBLISH to a `Delivery`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from broker import MqttEndpoint, Protocol, paho_client
from domain import SUBSCRIPTION, Clock, Message, is_outbound
from gateway._intake import Intake
from gateway._metrics import GatewayMetrics
from gateway._pipeline import Delivery

LOCAL_BROKER = MqttEndpoint("127.0.0.1", 1883)
# The share group of the deploy files (systemd, compose), for gateways scaled out.
SHARE_GROUP = "dayuan"


@dataclass(frozen=True, slots=True)
class MqttOptions:
    # The broker, the backend's account on it, protocol and TLS: parsed once by the settings.
    endpoint: MqttEndpoint = LOCAL_BROKER
    # Stable across restarts: the broker finds this gateway's session by it.
    client_id: str = "dayuan-gateway-1"
    # Shared-subscription group of several gateways; None subscribes plainly (one
    # gateway, or a broker without $share). A plain subscription is part of the session
    # a broker persists; Mosquitto 2.0 forgets a shared one across a restart, so what
    # devices publish before the group subscribes again is routed to nobody.
    share_group: str | None = None
    # What to subscribe to: the whole namespace, or a partition of compounds
    # (`domain.subscriptions`), so that one process sees every message of its compounds.
    topics: tuple[str, ...] = (SUBSCRIPTION,)
    keepalive_s: int = 30
    # How long the broker keeps the session (and queues for it) while the gateway is
    # away: an hour covers a restart, a deploy and a long database migration.
    session_expiry_s: int = 3600
    # Unacknowledged packets the broker may have in flight to us: two full batches plus
    # one filling, so the pipeline never starves while a batch commits.
    receive_maximum: int = 15_000
    # Seconds a group member may be away before the others take its session over
    # (`gateway._takeover`): longer than a supervised restart, so that a restart keeps
    # its own session; None turns the takeover off. Only with MQTT 5 and a share group.
    takeover_delay_s: int | None = 10

    @property
    def takes_over(self) -> bool:
        return (
            self.protocol == 5
            and self.share_group is not None
            and self.takeover_delay_s is not None
        )

    def filters(self) -> list[str]:
        group = self.share_group
        return [f"$share/{group}/{t}" if group else t for t in self.topics]

    def other_filters(self) -> list[str]:
        """The filters of the other form (plain against shared in the deploy files'
        group), which our session may still hold from a run configured the other way:
        holding both, it would receive every message twice."""
        if self.share_group:
            return list(self.topics)
        return [f"$share/{SHARE_GROUP}/{t}" for t in self.topics]

    @property
    def protocol(self) -> Protocol:
        return self.endpoint.protocol


def new_client(
    o: MqttOptions, *, client_id: str | None = None, reconnect: bool = True
) -> mqtt.Client:
    """A persistent, manually acknowledged session of ours (or one adopted)."""
    return paho_client(
        o.endpoint,
        client_id or o.client_id,
        persistent=True,
        manual_ack=True,
        reconnect=reconnect,
    )


def connect_properties(o: MqttOptions) -> Properties | None:
    """CONNECT properties of a persistent session with our backpressure window."""
    if o.protocol != 5:
        return None
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = o.session_expiry_s
    properties.ReceiveMaximum = o.receive_maximum
    return properties


def disconnect_with_will(client: mqtt.Client) -> None:
    """DISCONNECT asking the broker to publish our will all the same (MQTT 5 reason 0x04):
    the group learns we left, after the will's delay unless we are back by then."""
    client.disconnect(reasoncode=ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message"))


def release(client: mqtt.Client) -> None:
    """Drop the callbacks of a client whose loop has stopped. Bound to their owner, they
    close a reference cycle through the client, and paho closes its wake-up socket pair
    only when the client is freed: by the cycle collector, in no useful order."""
    client.on_connect = None
    client.on_disconnect = None
    client.on_message = None
    client.on_subscribe = None
    client.on_unsubscribe = None


def topic_of(msg: mqtt.MQTTMessage) -> str:
    try:
        return msg.topic
    except UnicodeDecodeError:  # MQTT requires UTF-8 topics; a broken client may not
        return msg._topic.decode("utf-8", "replace")


class SessionAcks:
    """Acknowledges a stored delivery only on the connection it arrived on.

    A PUBACK carries nothing but a packet identifier, and an identifier names a message
    only within the broker's session as the broker holds it. A broker restarted from an
    older snapshot (killed between autosaves) hands the same identifiers to other
    messages: an acknowledgement sent after the reconnect for a delivery of the previous
    connection would acknowledge - delete - a message this gateway has never seen. So
    a delivery of an earlier connection stays unacknowledged: the broker redelivers it if
    it still holds it (a restored session resends what was in flight) and storage
    de-duplicates. The connection count moves on at connect and at disconnect, under the
    lock an acknowledgement is sent under, so no stale one slips onto a new connection.
    """

    def __init__(self, client: mqtt.Client, metrics: GatewayMetrics) -> None:
        self._client = client
        self._metrics = metrics
        self._lock = threading.Lock()
        self._connection = 0

    @property
    def connection(self) -> int:
        with self._lock:
            return self._connection

    def moved_on(self) -> None:
        """A connection began or ended: what arrived before is no longer ours to ack."""
        with self._lock:
            self._connection += 1

    def __call__(self, delivery: Delivery) -> None:
        with self._lock:
            if delivery.connection != self._connection:
                self._metrics.acks_withheld += 1
                return
            self._client.ack(delivery.mid, delivery.qos)


class Receiver:
    """A PUBLISH to a `Delivery`: intake at the edge, and the observers (the rule engine)
    told of the valid messages at once, before storage. What the backend itself published
    (commands, case events echoed by the broker) becomes an empty delivery: acknowledged
    in its turn, never read."""

    def __init__(
        self,
        intake: Intake,
        *,
        clock: Clock,
        observers: Sequence[Callable[[Sequence[Message]], None]] = (),
    ) -> None:
        self._intake = intake
        self._clock = clock
        self._observers = tuple(observers)

    def drain(self) -> Delivery | None:
        """A delivery of the budget's last summaries (QoS 0: nothing to acknowledge)."""
        letters = self._intake.drain(self._clock.now())
        return Delivery(0, 0, "", b"", [], letters) if letters else None

    def __call__(self, msg: mqtt.MQTTMessage, topic: str, connection: int = 0) -> Delivery:
        if is_outbound(topic):
            return Delivery(msg.mid, msg.qos, topic, b"", [], [], connection=connection)
        payload = bytes(msg.payload)
        accepted = self._intake.accept(topic, payload, self._clock.now())
        if accepted.messages:
            for observe in self._observers:
                observe(accepted.messages)
        return Delivery(
            msg.mid,
            msg.qos,
            topic,
            payload,
            accepted.messages,
            accepted.dead_letters,
            accepted.suppressed,
            connection,
        )
