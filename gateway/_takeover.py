"""Taking over a departed gateway's session, so that its share of the traffic moves to
the gateways that remain and nothing it held is lost.

Mosquitto 2.0 hands a shared subscription's messages round-robin to every member
session, connected or not: a departed gateway's share piles up in its persistent
session until it returns, and its unacknowledged messages are never given to the rest
of the group (MQTT 5 §4.8.2 leaves that a SHOULD; EMQX does it, Mosquitto does not).
So each gateway of a group announces itself on a retained presence topic, with a will
saying "gone" that the broker publishes once the gateway has been away for the Will
Delay Interval (a quick restart cancels it). A survivor that reads "gone" connects
under the departed gateway's client id with clean start off - the broker hands it that
session - unsubscribes it from the group so that nothing new is routed there, stores
and acknowledges what the session held until the broker has nothing more to send,
clears the presence and ends the session (DISCONNECT with Session Expiry 0).

The broker arbitrates: one connection per client id, so a second survivor, or the owner
coming back, takes the session over and the first stands down; what it had not
acknowledged is redelivered to the next holder, and storage de-duplicates. An adopter
that dies leaves the same "gone" will behind and the next survivor starts again. No
queue of ours: the broker's sessions are the queue, its wills the failure detector.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from domain import BACKEND_PREFIX, Sink
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

log = logging.getLogger(__name__)

# An adopted session whose deliveries are all acknowledged and that has been sent nothing
# for this long is empty: Mosquitto sends queued messages as soon as the in-flight
# window has room, within milliseconds; two seconds leave margin on a loaded broker.
DRAIN_IDLE_S = 2.0
# Survivors wait a random moment up to this before adopting, so that usually only one
# connects (when two do, the broker's takeover settles it).
JITTER_S = 1.0
# A "gone" peer nobody has taken (every attempt failed) is tried again this often.
SWEEP_S = 30.0
CONNECT_TIMEOUT_S = 10.0
# Our own presence comes back on the group's presence filter within milliseconds; when it
# does not, the broker's ACL withholds `dayuan/backend/#` from us and no takeover can work.
ECHO_WAIT_S = 5.0
PUBLISH_TIMEOUT_S = 5.0
_POLL_S = 0.05


class State(StrEnum):
    ONLINE = "online"  # the gateway holds its own session
    GONE = "gone"  # its will: away for the takeover delay, take its session over
    DRAINING = "draining"  # a survivor holds the session and is emptying it


@dataclass(frozen=True, slots=True)
class Presence:
    """The retained document on `presence_topic(group, gateway)`."""

    state: State
    gateway: str  # the MQTT client id whose session this is
    filters: tuple[str, ...]  # what that session subscribes to: the adopter drops them
    by: str | None = None  # who drains it

    def encode(self) -> bytes:
        doc = {"state": self.state.value, "gateway": self.gateway, "filters": self.filters}
        return orjson.dumps(doc | ({"by": self.by} if self.by else {}))

    @classmethod
    def decode(cls, payload: bytes) -> Presence:
        """Raises `ValueError` for anything but a presence document."""
        try:
            doc = orjson.loads(payload)
            filters = tuple(str(f) for f in doc["filters"])
            return cls(State(doc["state"]), str(doc["gateway"]), filters, doc.get("by"))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a gateway presence document: {payload[:200]!r}") from exc


class Outcome(StrEnum):
    DRAINED = "drained"  # everything stored and acknowledged, the session ended
    STOOD_DOWN = "stood down"  # the connection was taken over or lost: the next holder goes on
    ABANDONED = "abandoned"  # we are stopping: left with its will, for the next survivor
    FAILED = "failed"  # could not connect: tried again on the next sweep


def presence_topic(group: str, client_id: str) -> str:
    return f"{BACKEND_PREFIX}/{group}/gateways/{client_id}"


@dataclass(frozen=True, slots=True)
class _Context:
    """What an adoption shares with the gateway that runs it."""

    options: MqttOptions
    group: str
    sink: Sink
    batching: Batching
    receiver: Receiver
    metrics: GatewayMetrics

    def topic(self, gateway: str) -> str:
        return presence_topic(self.group, gateway)

    def set_will(self, client: mqtt.Client, gateway: str, filters: tuple[str, ...]) -> None:
        properties = Properties(PacketTypes.WILLMESSAGE)  # type: ignore[no-untyped-call]
        properties.WillDelayInterval = self.options.takeover_delay_s
        will = Presence(State.GONE, gateway, filters).encode()
        client.will_set(self.topic(gateway), will, qos=1, retain=True, properties=properties)


class Takeover:
    """One gateway's part: its own presence and will, the group's presence watched from
    the MQTT thread, and departed members' sessions adopted one at a time (`run`)."""

    def __init__(
        self,
        *,
        options: MqttOptions,
        sink: Sink,
        batching: Batching,
        receiver: Receiver,
        metrics: GatewayMetrics,
        random_: Callable[[], float] = random.random,
    ) -> None:
        if not options.takes_over or options.share_group is None:
            raise ValueError("a takeover needs MQTT 5, a share group and a delay")
        self._ctx = _Context(options, options.share_group, sink, batching, receiver, metrics)
        self._random = random_
        self.watch = presence_topic(options.share_group, "+")
        self._prefix = self.watch[:-1]
        self._peers: dict[str, Presence] = {}
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._announced = threading.Event()
        self._echoed = threading.Event()

    @property
    def me(self) -> str:
        return self._ctx.options.client_id

    def filters(self) -> tuple[str, ...]:
        """Everything our session subscribes to (presence at QoS 0: retained, re-read on
        every subscribe, nothing to acknowledge)."""
        return (*self._ctx.options.filters(), self.watch)

    def set_will(self, client: mqtt.Client) -> None:
        self._ctx.set_will(client, self.me, self.filters())

    def announce(self, client: mqtt.Client) -> None:
        online = Presence(State.ONLINE, self.me, self.filters()).encode()
        client.publish(self._ctx.topic(self.me), online, qos=1, retain=True)
        self._announced.set()

    def is_presence(self, topic: str) -> bool:
        return topic.startswith(self._prefix)

    # --- MQTT thread --------------------------------------------------------------------

    def observe(self, topic: str, payload: bytes) -> None:
        peer = topic[len(self._prefix) :]
        if peer == self.me:
            self._echoed.set()
            return
        if not payload:  # cleared: the session was drained and ended
            with self._lock:
                self._peers.pop(peer, None)
            return
        try:
            presence = Presence.decode(payload)
        except ValueError as exc:
            log.warning("ignoring %s: %s", topic, exc)
            return
        with self._lock:
            self._peers[peer] = presence
        if presence.state is State.GONE:
            log.info("gateway %s is gone: its session will be taken over", peer)
            self._changed.set()

    # --- takeover thread ----------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        self._check_echo(stop)
        while not stop.is_set():
            self._changed.wait(SWEEP_S)
            self._changed.clear()
            for peer in self.departed():
                if stop.wait(self._random() * JITTER_S):
                    return
                presence = self._still_gone(peer)
                if presence is not None:
                    self._adopt(presence, stop)

    def wake(self) -> None:
        self._changed.set()

    def _check_echo(self, stop: threading.Event) -> None:
        """Warn once if our own presence does not come back within ECHO_WAIT_S."""
        announced_at: float | None = None
        while not stop.wait(_POLL_S) and not self._echoed.is_set():
            if not self._announced.is_set():
                continue  # not connected yet
            announced_at = announced_at or time.monotonic()
            if time.monotonic() - announced_at > ECHO_WAIT_S:
                log.warning(
                    "our presence on %s never came back: the broker does not let the backend "
                    "account read and write %s/# (regenerate its ACL with `dayuan broker "
                    "config`); without it no gateway of the group can take over another's "
                    "session",
                    self.watch,
                    BACKEND_PREFIX,
                )
                return

    def departed(self) -> list[str]:
        """The group's members whose will said they are gone, not yet taken over."""
        with self._lock:
            return sorted(p for p, s in self._peers.items() if s.state is State.GONE)

    def _still_gone(self, peer: str) -> Presence | None:
        with self._lock:
            presence = self._peers.get(peer)
        return presence if presence is not None and presence.state is State.GONE else None

    def _adopt(self, presence: Presence, stop: threading.Event) -> None:
        started = time.monotonic()
        adoption = _Adoption(presence, self._ctx, is_presence=self.is_presence)
        outcome = adoption.run(stop)
        metrics = self._ctx.metrics
        metrics.adopted += adoption.received
        if outcome is Outcome.DRAINED:
            metrics.takeovers += 1
        log.info(
            "takeover of gateway %s's session: %s, %d message(s) in %.1f s",
            presence.gateway,
            outcome.value,
            adoption.received,
            time.monotonic() - started,
        )


class _Adoption:
    """One departed member's session, held under its client id until it is empty."""

    def __init__(
        self, presence: Presence, ctx: _Context, *, is_presence: Callable[[str], bool]
    ) -> None:
        self._presence = presence
        self._ctx = ctx
        self._is_presence = is_presence
        self._client = new_client(ctx.options, client_id=presence.gateway, reconnect=False)
        ctx.set_will(self._client, presence.gateway, presence.filters)
        self._acks = SessionAcks(self._client, ctx.metrics)
        self._pipeline = Pipeline(
            ctx.sink, ack=self._acks, batching=ctx.batching, metrics=ctx.metrics
        )
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._unsubscribed = threading.Event()
        self._lost = threading.Event()
        self._leaving = False
        self._last_at = time.monotonic()
        self._sealed = False
        self._late = 0
        self.received = 0
        self._client.on_connect = self._on_connect
        self._client.on_unsubscribe = self._on_unsubscribe
        self._client.on_message = self._on_message
        self._client.on_disconnect = self._on_disconnect

    def run(self, stop: threading.Event) -> Outcome:
        o = self._ctx.options
        try:
            self._client.connect(
                o.endpoint.host,
                o.endpoint.port,
                keepalive=o.keepalive_s,
                clean_start=False,
                properties=connect_properties(o),
            )
        except OSError as exc:
            log.warning("could not connect to take over %s: %s", self._presence.gateway, exc)
            release(self._client)
            return Outcome.FAILED
        flush_stop = threading.Event()
        flush = threading.Thread(
            target=self._pipeline.run, args=(flush_stop,), name="gateway-takeover-flush"
        )
        flush.start()
        self._client.loop_start()
        try:
            outcome = self._drain(stop)
        finally:
            flush_stop.set()
            self._pipeline.close()
            flush.join()  # commits and acknowledges what it holds
        self._leave(outcome)
        self._client.loop_stop()
        release(self._client)
        return outcome

    def _drain(self, stop: threading.Event) -> Outcome:
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while not stop.wait(_POLL_S):
            if self._lost.is_set():
                return Outcome.STOOD_DOWN if self._connected.is_set() else Outcome.FAILED
            if not self._connected.is_set():
                if time.monotonic() > deadline:
                    return Outcome.FAILED
                continue
            if self._unsubscribed.is_set():
                with self._lock:
                    idle = time.monotonic() - self._last_at >= DRAIN_IDLE_S
                    if idle and self._pipeline.pending() == 0:
                        self._sealed = True
                        return Outcome.DRAINED
        return Outcome.ABANDONED

    def _leave(self, outcome: Outcome) -> None:
        self._leaving = True
        if outcome is Outcome.DRAINED and self._late == 0:
            topic = self._ctx.topic(self._presence.gateway)
            info = self._client.publish(topic, b"", qos=1, retain=True)  # clear it
            if info.rc == mqtt.MQTT_ERR_SUCCESS:
                info.wait_for_publish(PUBLISH_TIMEOUT_S)
            end = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
            end.SessionExpiryInterval = 0
            self._client.disconnect(properties=end)
        elif outcome in (Outcome.DRAINED, Outcome.ABANDONED):
            disconnect_with_will(self._client)  # something may be left: for the next one
        else:
            self._client.disconnect()

    # --- paho callbacks -----------------------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _u: Any, flags: mqtt.ConnectFlags, rc: ReasonCode, _p: Any
    ) -> None:
        if rc.is_failure:
            log.error("the broker refused the takeover of %s: %s", self._presence.gateway, rc)
            self._lost.set()
            return
        p = self._presence
        draining = Presence(State.DRAINING, p.gateway, p.filters, self._ctx.options.client_id)
        client.publish(self._ctx.topic(p.gateway), draining.encode(), qos=1, retain=True)
        self._connected.set()
        if flags.session_present:
            client.unsubscribe(list(self._presence.filters))
            return
        with self._lock:  # no session left (drained or expired): nothing to wait for
            self._last_at = float("-inf")
        self._unsubscribed.set()

    def _on_unsubscribe(
        self, _c: mqtt.Client, _u: Any, _mid: int, codes: list[ReasonCode], _p: Any
    ) -> None:
        if any(code.is_failure for code in codes):
            log.warning("unsubscribing %s's session: %s", self._presence.gateway, codes)
        with self._lock:
            self._last_at = time.monotonic()
        self._unsubscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        topic = topic_of(msg)
        if self._is_presence(topic):
            return  # the group's presence, subscribed by the departed gateway (QoS 0)
        with self._lock:
            if self._sealed:
                self._late += 1  # left unacknowledged: the session ends with its will
                return
            self._last_at = time.monotonic()
        self.received += 1
        self._pipeline.submit(self._ctx.receiver(msg, topic, self._acks.connection))

    def _on_disconnect(
        self, _c: mqtt.Client, _u: Any, _f: mqtt.DisconnectFlags, rc: ReasonCode, _p: Any
    ) -> None:
        self._acks.moved_on()  # it never reconnects: nothing more to acknowledge
        if not self._leaving:
            log.info("holding %s's session ended: %s", self._presence.gateway, rc)
            self._lost.set()
