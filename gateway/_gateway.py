"""One gateway process: MQTT in, intake, pipeline to the sink, acknowledgements out.

paho-mqtt's callback loop is the receive path (measured here: 2x the throughput of
aiomqtt's async iterator at a seventh of the memory). The session is persistent
(clean start off, a session expiry) and every packet is acknowledged by hand after
its batch commits, so the broker keeps and redelivers whatever a crashed gateway had
not stored. Several gateways share the load through one shared subscription, and take
over the session of a member that has gone (`gateway._takeover`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from domain import Clock, Message, Sink, is_outbound
from gateway._directory import DeviceDirectory
from gateway._intake import Intake, Limits
from gateway._metrics import GatewayMetrics
from gateway._mqtt import (
    MqttOptions,
    Receiver,
    SessionAcks,
    connect_properties,
    disconnect_with_will,
    new_client,
    release,
    topic_of,
)
from gateway._pipeline import Batching, Pipeline
from gateway._takeover import Takeover

log = logging.getLogger(__name__)


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
        self._options = mqtt_options
        self._directory = directory
        # Observers are called with each delivery's valid messages as soon as they are
        # validated, before they are stored (the rule engine: an SOS must not wait for a
        # batch to commit). An observer must be quick and must not raise; it sees
        # redeliveries again.
        self._receive = Receiver(
            Intake(devices=directory.get, limits=limits), clock=clock, observers=observers
        )
        self._client = new_client(mqtt_options)
        self._acks = SessionAcks(self._client, self.metrics)
        self._pipeline = Pipeline(sink, ack=self._acks, batching=batching, metrics=self.metrics)
        self._takeover: Takeover | None = None
        if mqtt_options.takes_over:
            self._takeover = Takeover(
                options=mqtt_options,
                sink=sink,
                batching=batching,
                receiver=self._receive,
                metrics=self.metrics,
            )
            self._takeover.set_will(self._client)
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
        workers: list[tuple[str, Callable[[threading.Event], None]]] = [
            ("flush", self._pipeline.run),
            ("registry", self._directory.run),
        ]
        if self._takeover is not None:
            workers.append(("takeover", self._takeover.run))
        for name, target in workers:
            thread = threading.Thread(target=target, args=(self._stop,), name=f"gateway-{name}")
            thread.start()
            self._threads.append(thread)
        o = self._options
        self._client.connect_async(
            o.endpoint.host,
            o.endpoint.port,
            keepalive=o.keepalive_s,
            clean_start=False if o.protocol == 5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=connect_properties(o),
        )
        self._client.loop_start()
        return self

    def serve(self, stop: threading.Event) -> None:
        stop.wait()

    def not_ready(self) -> str | None:
        """Why this gateway cannot take traffic now, or None when it can."""
        if not self.connected.is_set():
            return f"not subscribed on the broker {self._options.endpoint}"
        since = self._pipeline.unavailable_since
        if since is not None:
            return f"storage unavailable for {time.monotonic() - since:.0f} s (retrying)"
        return None

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._draining = True  # deliveries from now on stay unacknowledged, for redelivery
        tail = self._receive.drain()  # what the dead-letter budget still counts
        if tail is not None:
            self._pipeline.submit(tail)
        self._stop.set()
        self._directory.wake()
        if self._takeover is not None:
            self._takeover.wake()
        self._pipeline.close()
        for thread in self._threads:
            thread.join()
        if self._takeover is not None:
            # Unless we are back within the takeover delay, a survivor takes over what
            # our session still holds and receives.
            disconnect_with_will(self._client)
        else:
            self._client.disconnect()
        self._client.loop_stop()
        release(self._client)

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
        self._acks.moved_on()
        if flags.session_present:
            client.unsubscribe(self._options.other_filters())
        subscriptions = [(t, 1) for t in self._options.filters()]
        if self._takeover is not None:
            self._takeover.announce(client)
            subscriptions.append((self._takeover.watch, 0))
        client.subscribe(subscriptions)
        log.info(
            "connected to %s:%d (session present: %s), subscribing to %s",
            self._options.endpoint.host,
            self._options.endpoint.port,
            flags.session_present,
            ", ".join(t for t, _ in subscriptions),
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
        self._acks.moved_on()
        if not self._draining:
            log.warning("disconnected from the broker (%s); reconnecting", rc)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if self._draining:
            return
        topic = topic_of(msg)
        if self._takeover is not None and self._takeover.is_presence(topic):
            self._takeover.observe(topic, bytes(msg.payload))  # QoS 0: nothing to ack
            return
        self.metrics.received += 1
        if is_outbound(topic):  # our own commands and case events, echoed by the broker
            self.metrics.outbound_ignored += 1
        self._pipeline.submit(self._receive(msg, topic, self._acks.connection))
