"""One gateway process: MQTT in, intake, pipeline to the sink, acknowledgements out.

paho-mqtt's callback loop is the receive path (measured here: 2x the throughput of
aiomqtt's async iterator at a seventh of the memory). The session is persistent
(clean start off, a session expiry) and every packet is acknowledged by hand after
its batch commits, so the broker keeps and redelivers whatever a crashed gateway had
not stored. Several gateways share the load through one shared subscription.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from domain import SUBSCRIPTION, Clock, Message, is_outbound
from gateway._directory import DeviceDirectory
from gateway._intake import Intake, Limits
from gateway._metrics import GatewayMetrics
from gateway._pipeline import Batching, Delivery, Pipeline
from gateway._sink import Sink

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MqttOptions:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    # Stable across restarts: the broker finds this gateway's session by it.
    client_id: str = "dayuan-gateway-1"
    protocol: Literal[5, 4] = 5  # 4 is MQTT 3.1.1, for brokers without MQTT 5
    # Shared-subscription group; None subscribes plainly (one gateway, or a broker
    # without $share).
    share_group: str | None = "dayuan"
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
    tls_ca: str | None = None


class Gateway:
    """`with Gateway(...) as gw: gw.serve(stop)`; leaving drains what can be committed."""

    def __init__(
        self,
        *,
        sink: Sink,
        directory: DeviceDirectory,
        mqtt_options: MqttOptions,
        limits: Limits,
        batching: Batching,
        clock: Clock,
        metrics: GatewayMetrics | None = None,
        observers: Sequence[Callable[[Sequence[Message]], None]] = (),
    ) -> None:
        self.metrics = metrics or GatewayMetrics()
        # Called with each delivery's valid messages as soon as they are validated, before
        # they are stored (the rule engine: an SOS must not wait for a batch to commit).
        # An observer must be quick and must not raise; it sees redeliveries again.
        self._observers = tuple(observers)
        self._options = mqtt_options
        self._clock = clock
        self._directory = directory
        self._intake = Intake(devices=directory.get, limits=limits)
        self._client = _client(mqtt_options)
        self._pipeline = Pipeline(
            sink, ack=self._client.ack, batching=batching, metrics=self.metrics
        )
        self._stop = threading.Event()
        self._draining = False
        self._threads: list[threading.Thread] = []
        self.connected = threading.Event()
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe

    def __enter__(self) -> Gateway:
        self._directory.reload()
        for name, target in (("flush", self._pipeline.run), ("registry", self._directory.run)):
            thread = threading.Thread(target=target, args=(self._stop,), name=f"gateway-{name}")
            thread.start()
            self._threads.append(thread)
        o = self._options
        properties = None
        if o.protocol == 5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = o.session_expiry_s
            properties.ReceiveMaximum = o.receive_maximum
        self._client.connect_async(
            o.host,
            o.port,
            keepalive=o.keepalive_s,
            clean_start=False if o.protocol == 5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=properties,
        )
        self._client.loop_start()
        return self

    def serve(self, stop: threading.Event) -> None:
        stop.wait()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._draining = True  # deliveries from now on stay unacknowledged, for redelivery
        self._stop.set()
        self._directory.wake()
        self._pipeline.close()
        for thread in self._threads:
            thread.join()
        self._client.disconnect()
        self._client.loop_stop()

    # --- paho callbacks (MQTT thread) ---------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        _u: Any,
        flags: mqtt.ConnectFlags,
        rc: ReasonCode,
        _p: Properties | None,
    ) -> None:
        if rc.is_failure:
            log.error("broker refused the connection: %s", rc)
            return
        group = self._options.share_group
        topics = [f"$share/{group}/{t}" if group else t for t in self._options.topics]
        client.subscribe([(t, 1) for t in topics])
        log.info(
            "connected to %s:%d (session present: %s), subscribing to %s",
            self._options.host,
            self._options.port,
            flags.session_present,
            ", ".join(topics),
        )

    def _on_subscribe(
        self, _c: mqtt.Client, _u: Any, _mid: int, codes: list[ReasonCode], _p: Properties | None
    ) -> None:
        if any(code.is_failure for code in codes):
            log.error("the broker refused the subscription: %s", codes)
            return
        log.info("subscribed")
        self.connected.set()

    def _on_disconnect(
        self,
        _c: mqtt.Client,
        _u: Any,
        _f: mqtt.DisconnectFlags,
        rc: ReasonCode,
        _p: Properties | None,
    ) -> None:
        self.connected.clear()
        if not self._draining:
            log.warning("disconnected from the broker (%s); reconnecting", rc)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if self._draining:
            return
        self.metrics.received += 1
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # MQTT requires UTF-8 topics; a broken client may not
            topic = msg._topic.decode("utf-8", "replace")
        if is_outbound(topic):  # our own commands and case events, echoed by the broker
            self.metrics.outbound_ignored += 1
            if msg.qos > 0:
                self._pipeline.submit(Delivery(msg.mid, msg.qos, topic, b"", [], []))
            return
        payload = bytes(msg.payload)
        accepted = self._intake.accept(topic, payload, self._clock.now())
        if accepted.messages:
            for observe in self._observers:
                observe(accepted.messages)
        self._pipeline.submit(
            Delivery(msg.mid, msg.qos, topic, payload, accepted.messages, accepted.dead_letters)
        )


def _client(o: MqttOptions) -> mqtt.Client:
    protocol = mqtt.MQTTv5 if o.protocol == 5 else mqtt.MQTTv311
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=o.client_id,
        protocol=protocol,
        manual_ack=True,
        clean_session=None if o.protocol == 5 else False,
    )
    if o.username is not None:
        client.username_pw_set(o.username, o.password)
    if o.tls_ca:
        client.tls_set(ca_certs=o.tls_ca)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client
