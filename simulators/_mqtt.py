"""Putting simulator items on a real broker with paho-mqtt, in one thread.

Two transports share one loop: paho clients in non-threaded mode, their sockets in a
`selectors` selector, so thousands of device sessions cost no threads. `service`
is the only place that waits, and the run loop's only way to let wall time pass.

- `FleetTransport`: a few connections under one account carry every device's
  messages (load tests). There are no per-device sessions, so a device's will is
  published on its behalf, retained, when the simulation says it dropped.
- `RealisticTransport`: each device its own session: client id and username are
  the device id, the password `domain.device_password(secret, id)`, the will its
  `{"ts": <connect time>, "online": false}` (a will is fixed at connect, so its ts
  is the connect time). A planned drop is a DISCONNECT with reason 0x04 ("with will
  message") under MQTT 5, or a shut socket under 3.1.1.

Everything is QoS 1, MQTT 5 where the broker speaks it (else 3.1.1). Sessions that
drop unexpectedly reconnect with backoff; paho keeps unacknowledged QoS 1 messages
and sends them again, so a drop costs duplicates, not losses. A PUBACK with reason
0x10 ("no matching subscribers") is not a delivery (the MQTT contract): a message of
a device whose messages were routed earlier in the run is published again every
`RESEND_AFTER_S` for up to `RESEND_FOR_S`, then given up (an error). A device nobody
has listened to (a run without a backend, or a test watching a few devices) does not
resend: every message of it would wait out the bound.

Commands: a realistic session subscribes to its own device's `cmd` topic (all the
broker's ACL lets a device read), the first fleet connection to every device's
(`dayuan/v1/+/+/+/cmd`, what the `dayuan-fleet` account may read), on every
(re)connect. paho calls `on_message` in whichever thread reads the socket (here the
run loop's, inside `service`; paho's own network thread if it ran one). The callback
only queues the message, and the run loop takes the queue (`received`) after it has
served the sockets: a command never re-enters the transport from its own read, never
cuts into the middle of an instant, and would be as safe from another thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import queue
import resource
import secrets
import selectors
import socket
import time
import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

import domain
from broker import MqttEndpoint, Protocol, paho_client
from simulators._device import Connect, Disconnect, Item, Publish
from simulators._errors import BrokerError

log = logging.getLogger(__name__)

QOS = 1
KEEPALIVE_S = 60
CONNECT_TIMEOUT_S = 10.0  # for every session's CONNACK after the first connects
MAX_INFLIGHT = 1000  # per connection: covers a local broker's round trip at ~30k msg/s
RECONNECT_MIN_S = 1.0
RECONNECT_MAX_S = 30.0
MISC_EVERY_S = 1.0  # keepalive bookkeeping; paho wants loop_misc about once a second
PLANNED_DRAIN_S = 2.0  # let a device's in-flight messages be acked before it drops
ERROR_SAMPLES = 10
FD_HEADROOM = 64  # descriptors beyond the device sessions: files, the selector, the probe
# Commands waiting for the run loop, which takes them between instants (at least every
# IDLE_SLICE_S or SERVICE_EVERY messages): past this a flood is dropped, counted as errors.
MAX_RECEIVED = 10_000
NO_MATCHING_SUBSCRIBERS = 0x10  # MQTT 5 PUBACK reason: accepted, delivered to nobody
# A message PUBACKed 0x10 is published again this long after, until this long after it
# was first published: a broker restart leaves no subscriber for as long as the backend
# takes to subscribe again (a second or two); a minute covers a gateway restart too.
RESEND_AFTER_S = 0.5
RESEND_FOR_S = 60.0
# Every device's cmd topic: what the fleet account's ACL lets it read.
FLEET_COMMANDS = f"{domain.PREFIX}/+/+/+/{domain.Channel.CMD.value}"


@dataclass(frozen=True)
class MqttTarget:
    """The broker the devices are played onto: `endpoint` (with the fleet account in fleet
    mode; TLS as its scheme says) and, in realistic mode, the secret each device's own
    password is derived from (`domain.device_password`)."""

    endpoint: MqttEndpoint
    device_secret: str | None = None

    @property
    def host(self) -> str:
        return self.endpoint.host

    @property
    def port(self) -> int:
        return self.endpoint.port

    @property
    def username(self) -> str | None:
        return self.endpoint.username

    @property
    def password(self) -> str | None:
        return self.endpoint.password


@dataclass(frozen=True, slots=True)
class Received:
    """A message that arrived for the devices (a command on a `cmd` topic)."""

    topic: str
    payload: bytes


@dataclass
class TransportStats:
    published: int = 0
    acknowledged: int = 0
    # Messages whose last PUBACK said "no matching subscribers" (MQTT 5 reason 0x10):
    # acknowledged, and counted there too, but the broker routed them to nobody and
    # dropped them. `resent` counts the publishes again after a 0x10; `routed` holds the
    # devices (topic up to the device) a subscriber has taken a message of.
    no_subscribers: int = 0
    resent: int = 0
    routed: set[str] = field(default_factory=set)
    errors: int = 0
    samples: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        """Count an error; the first few are kept and logged, the rest only counted."""
        self.errors += 1
        if len(self.samples) < ERROR_SAMPLES:
            self.samples.append(message)
            log.warning("%s", message)
            if len(self.samples) == ERROR_SAMPLES:
                log.warning("further MQTT errors are counted, not logged")


def _device_of(topic: str) -> str:
    return topic.rsplit("/", 1)[0]  # dayuan/v1/<compound>/<kind>/<device>


class _Session:
    """One paho client and what the loop needs to know about it."""

    def __init__(self, name: str, client: paho.Client, stats: TransportStats) -> None:
        self.name = name
        self.client = client
        self.stats = stats
        self.state: Literal["new", "connecting", "up", "refused", "down", "closed"] = "new"
        self.planned = False  # the next disconnect is ours
        self.retry_at = 0.0
        self.backoff = RECONNECT_MIN_S
        self.refusal = ""
        self.inflight = 0
        self.uncounted: set[int] = set()  # mids of wills published on a device's behalf
        # A device's own message until its final PUBACK: mid -> (topic, payload, retain,
        # when first published), to publish it again after a 0x10; and those waiting to.
        self.unacked: dict[int, tuple[str, bytes, bool, float]] = {}
        self.resends: list[tuple[float, str, bytes, bool, float]] = []
        self.subscriptions: tuple[str, ...] = ()  # the cmd topics it listens on
        self.subscribed = False  # the broker granted them on this connection
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self.state, self.refusal = "refused", str(reason)
            self.stats.error(f"{self.name}: connection refused: {reason}")
            return
        self.state, self.backoff = "up", RECONNECT_MIN_S
        if self.subscriptions:  # a session lasts one connection: subscribe on every one
            client.subscribe([(topic, QOS) for topic in self.subscriptions])

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            self.stats.error(
                f"{self.name}: subscription to {self.subscriptions} refused: {refused}"
            )
        else:
            self.subscribed = True

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self.subscribed = False
        if self.state == "refused":
            return  # the broker hangs up after a refusal; the refusal is the error
        if self.planned or self.state == "closed":
            self.state = "closed" if self.state == "closed" else "down"
            return
        self.state = "down"
        self.retry_at = time.monotonic() + self.backoff
        self.backoff = min(RECONNECT_MAX_S, self.backoff * 2)
        self.stats.error(f"{self.name}: connection lost: {reason}")

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        sent = self.unacked.pop(mid, None)
        if reason.is_failure:
            self.inflight -= 1
            self.stats.error(f"{self.name}: publish refused: {reason}")
        elif mid in self.uncounted:
            self.inflight -= 1
            self.uncounted.discard(mid)
        elif reason == NO_MATCHING_SUBSCRIBERS:
            now = time.monotonic()
            heard = sent is not None and _device_of(sent[0]) in self.stats.routed
            if sent is not None and heard and now - sent[3] < RESEND_FOR_S:
                self.resends.append((now + RESEND_AFTER_S, *sent))  # still in flight
                return
            self.inflight -= 1
            self.stats.acknowledged += 1
            self.stats.no_subscribers += 1
            if sent is not None and heard:
                self.stats.error(
                    f"{self.name}: routed to no subscriber for {RESEND_FOR_S:.0f}s, given up:"
                    f" a message on {sent[0]}"
                )
        else:
            self.inflight -= 1
            self.stats.acknowledged += 1
            if sent is not None:
                self.stats.routed.add(_device_of(sent[0]))

    def publish(self, topic: str, payload: bytes, *, retain: bool, counted: bool = True) -> None:
        """QoS 1; `counted=False` for what is not a device's own message (an emulated will)."""
        info = self._send(topic, payload, retain)
        if info is None:
            return
        self.inflight += 1  # NO_CONN: paho keeps it and sends it on reconnect
        if counted:
            self.stats.published += 1
            self.unacked[info.mid] = (topic, payload, retain, time.monotonic())
        else:
            self.uncounted.add(info.mid)

    def resend_due(self, now: float) -> None:
        """Publish again what was routed to nobody and has waited `RESEND_AFTER_S`."""
        due = [r for r in self.resends if r[0] <= now]
        if not due:
            return
        self.resends = [r for r in self.resends if r[0] > now]
        for _, topic, payload, retain, first in due:
            info = self._send(topic, payload, retain)
            if info is None:
                self.inflight -= 1  # counted as an error by `_send`: no longer in flight
                continue
            self.stats.resent += 1
            self.unacked[info.mid] = (topic, payload, retain, first)

    def _send(self, topic: str, payload: bytes, retain: bool) -> paho.MQTTMessageInfo | None:
        info = self.client.publish(topic, payload, qos=QOS, retain=retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            self.stats.error(f"{self.name}: publish failed: {paho.error_string(info.rc)}")
            return None
        return info


class _Loop:
    """The selector over every session's socket; `service` waits for and handles I/O."""

    def __init__(self, target: MqttTarget, stats: TransportStats, protocol: int) -> None:
        self.target = target
        self.stats = stats
        self.protocol = protocol
        self.selector = selectors.DefaultSelector()
        self.sessions: list[_Session] = []
        self.inbox: queue.Queue[Received] = queue.Queue(MAX_RECEIVED)
        self._misc_at = 0.0

    def session(
        self, name: str, *, client_id: str, username: str | None, password: str | None
    ) -> _Session:
        version: Protocol = 5 if self.protocol == paho.MQTTv5 else 4
        endpoint = dataclasses.replace(
            self.target.endpoint.as_user(username, password), protocol=version
        )
        client = paho_client(endpoint, client_id, reconnect=False)
        client.max_inflight_messages_set(MAX_INFLIGHT)
        client.max_queued_messages_set(0)
        session = _Session(name, client, self.stats)
        client.on_message = self._on_message
        client.on_socket_open = lambda c, u, sock: self._register(sock, session)
        client.on_socket_close = lambda c, u, sock: self._unregister(sock)
        self.sessions.append(session)
        return session

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            self.inbox.put_nowait(Received(str(message.topic), bytes(message.payload)))
        except queue.Full:
            self.stats.error(
                f"more than {MAX_RECEIVED} commands waiting: one on {message.topic} dropped"
            )

    def received(self) -> list[Received]:
        taken: list[Received] = []
        with contextlib.suppress(queue.Empty):
            while True:
                taken.append(self.inbox.get_nowait())
        return taken

    def listening(self) -> bool:
        """Whether every connected session that takes commands has its subscription."""
        listeners = [s for s in self.sessions if s.subscriptions and s.state == "up"]
        return bool(listeners) and all(s.subscribed for s in listeners)

    def _register(self, sock: Any, session: _Session) -> None:
        self.selector.register(sock, selectors.EVENT_READ, session)

    def _unregister(self, sock: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):  # never registered, or already gone
            self.selector.unregister(sock)

    def connect(self, session: _Session) -> None:
        session.state = "connecting"
        try:
            session.client.connect(self.target.host, self.target.port, KEEPALIVE_S)
        except OSError as exc:
            raise BrokerError(self.target.host, self.target.port, f"cannot connect: {exc}") from exc

    def service(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for socket events and handle them."""
        writers = [s for s in self.sessions if s.client.want_write() and s.client.socket()]
        for session in writers:
            sock = session.client.socket()
            if sock is not None:
                self.selector.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, session)
        events = self.selector.select(timeout)  # with no socket registered it just waits
        for key, mask in events:
            session = key.data
            if mask & selectors.EVENT_READ:
                session.client.loop_read()
            if mask & selectors.EVENT_WRITE and session.client.socket() is not None:
                session.client.loop_write()
        for session in writers:
            sock = session.client.socket()
            if sock is not None and not session.client.want_write():
                self.selector.modify(sock, selectors.EVENT_READ, session)
        self._housekeeping()

    def _housekeeping(self) -> None:
        now = time.monotonic()
        for session in self.sessions:
            if session.resends and session.state == "up":
                session.resend_due(now)
        if now < self._misc_at:
            return
        self._misc_at = now + MISC_EVERY_S
        for session in self.sessions:
            if session.client.socket() is not None:
                session.client.loop_misc()
            elif session.state == "down" and not session.planned and now >= session.retry_at:
                self._reconnect(session)

    def _reconnect(self, session: _Session) -> None:
        try:
            session.state = "connecting"
            session.client.reconnect()
        except OSError as exc:
            session.state = "down"
            session.retry_at = time.monotonic() + session.backoff
            session.backoff = min(RECONNECT_MAX_S, session.backoff * 2)
            self.stats.error(f"{session.name}: reconnect failed: {exc}")

    def settle(self, sessions: list[_Session], timeout: float) -> None:
        """Wait for every session's CONNACK; refuse to go on if the broker said no."""
        deadline = time.monotonic() + timeout
        while any(s.state == "connecting" for s in sessions) and time.monotonic() < deadline:
            self.service(0.05)
        refused = [s for s in sessions if s.state == "refused"]
        waiting = [s for s in sessions if s.state == "connecting"]
        if refused:
            raise BrokerError(
                self.target.host,
                self.target.port,
                f"{len(refused)} of {len(sessions)} sessions refused "
                f"(first: {refused[0].name}: {refused[0].refusal})",
            )
        if waiting:
            raise BrokerError(
                self.target.host,
                self.target.port,
                f"no CONNACK within {timeout:.0f}s for {len(waiting)} sessions",
            )

    def outstanding(self) -> int:
        return sum(s.inflight for s in self.sessions)

    def drain(self, timeout: float, sessions: list[_Session] | None = None) -> bool:
        """Serve I/O until every message is acknowledged or `timeout` passes."""
        chosen = self.sessions if sessions is None else sessions
        deadline = time.monotonic() + timeout
        while any(s.inflight > 0 for s in chosen):
            if time.monotonic() >= deadline:
                return False
            self.service(0.05)
        return True

    def close(self) -> None:
        for session in self.sessions:
            if session.client.socket() is not None:
                session.state = "closed"
                session.planned = True
                session.client.disconnect()
                session.client.loop_write()
        self.selector.close()


def _protocol(target: MqttTarget) -> int:
    """MQTT 5 if the broker speaks it, else 3.1.1: ask with one throwaway connection."""
    probe = dataclasses.replace(target.endpoint, protocol=5)
    client = paho_client(probe, f"dayuan-probe-{secrets.token_hex(4)}", reconnect=False)
    result: dict[str, Any] = {}
    client.on_connect = lambda c, u, f, reason, p: result.setdefault("reason", reason)
    try:
        client.connect(target.host, target.port, KEEPALIVE_S)
    except OSError as exc:
        raise BrokerError(target.host, target.port, f"cannot connect: {exc}") from exc
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while "reason" not in result and client.socket() is not None and time.monotonic() < deadline:
        client.loop(0.05)
    client.disconnect()
    reason = result.get("reason")
    unsupported = reason is not None and reason.value in (0x01, 0x84)  # bad protocol version
    return paho.MQTTv311 if unsupported or reason is None else paho.MQTTv5


class Transport(ABC):
    """What the run loop needs from a transport (tests give it a fake one)."""

    stats: TransportStats

    @abstractmethod
    def start(self, items: list[Item]) -> None:
        """Connect and send the first items (every device's connect and status)."""

    @abstractmethod
    def send(self, item: Item) -> None:
        """Put one item on the wire (or act it out: a connect, a drop)."""

    @abstractmethod
    def service(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for I/O and handle it: the only place time passes."""

    @abstractmethod
    def outstanding(self) -> int:
        """Messages sent and not yet acknowledged."""

    @abstractmethod
    def drain(self, timeout: float) -> bool:
        """Wait until nothing is outstanding; False if `timeout` passed first."""

    @abstractmethod
    def close(self) -> None:
        """Close every session."""

    def received(self) -> list[Received]:
        """What arrived for the devices since the last call (their commands), oldest first."""
        return []


class _PahoTransport(Transport):
    def __init__(self, target: MqttTarget) -> None:
        self.target = target
        self.stats = TransportStats()
        self.loop = _Loop(target, self.stats, _protocol(target))

    def service(self, timeout: float) -> None:
        self.loop.service(timeout)

    def outstanding(self) -> int:
        return self.loop.outstanding()

    def drain(self, timeout: float) -> bool:
        return self.loop.drain(timeout)

    def close(self) -> None:
        self.loop.close()

    def received(self) -> list[Received]:
        return self.loop.received()

    def listening(self) -> bool:
        """Whether the broker has granted the connected sessions their `cmd` subscriptions."""
        return self.loop.listening()


class FleetTransport(_PahoTransport):
    def __init__(self, target: MqttTarget, *, connections: int = 2, name: str = "sim") -> None:
        super().__init__(target)
        self.sessions = [
            self.loop.session(
                f"fleet connection {i}",
                client_id=f"dayuan-{name}-{i}",
                username=target.username,
                password=target.password,
            )
            for i in range(max(1, connections))
        ]
        self.sessions[0].subscriptions = (FLEET_COMMANDS,)  # one copy of each command
        self._by_device: dict[str, _Session] = {}

    def _session_of(self, device: str) -> _Session:
        session = self._by_device.get(device)
        if session is None:
            session = self.sessions[zlib.crc32(device.encode()) % len(self.sessions)]
            self._by_device[device] = session
        return session

    def start(self, items: list[Item]) -> None:
        for session in self.sessions:
            self.loop.connect(session)
        self.loop.settle(self.sessions, CONNECT_TIMEOUT_S)
        for item in items:
            self.send(item)

    def send(self, item: Item) -> None:
        if isinstance(item, Publish):
            self._session_of(item.device).publish(item.topic, item.payload, retain=item.retain)
        elif isinstance(item, Disconnect):  # the broker would publish the will: we do it
            session = self._session_of(item.device)
            session.publish(item.will_topic, item.will_payload, retain=True, counted=False)


class RealisticTransport(_PahoTransport):
    def __init__(self, target: MqttTarget) -> None:
        super().__init__(target)
        self.devices: dict[str, _Session] = {}

    def start(self, items: list[Item]) -> None:
        _allow_sockets(sum(isinstance(i, Connect) for i in items) + FD_HEADROOM)
        for item in items:
            self.send(item)
        self.loop.settle(list(self.devices.values()), CONNECT_TIMEOUT_S + len(self.devices) / 100)

    def send(self, item: Item) -> None:
        if isinstance(item, Publish):
            self.devices[item.device].publish(item.topic, item.payload, retain=item.retain)
        elif isinstance(item, Connect):
            self._connect(item)
        else:
            self._drop(item)

    def _connect(self, item: Connect) -> None:
        session = self.devices.get(item.device)
        if session is None:
            secret = self.target.device_secret
            password = domain.device_password(secret, item.device) if secret else None
            session = self.loop.session(
                item.device, client_id=item.device, username=item.device, password=password
            )
            self.devices[item.device] = session
        session.subscriptions = (item.cmd_topic,)
        session.client.will_set(item.will_topic, item.will_payload, qos=QOS, retain=True)
        session.planned = False
        self.loop.connect(session)

    def _drop(self, item: Disconnect) -> None:
        session = self.devices[item.device]
        self.loop.drain(PLANNED_DRAIN_S, [session])
        session.planned = True
        if session.client.socket() is None:
            return
        if self.loop.protocol == paho.MQTTv5:
            session.client.disconnect(
                reasoncode=ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message")
            )
            session.client.loop_write()
        else:
            _shut(session.client.socket())

    def close(self) -> None:
        self.drain(PLANNED_DRAIN_S)
        super().close()


def _allow_sockets(needed: int) -> None:
    """A session per device needs a descriptor per device: raise the soft limit if we may."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    log.info(
        "raised the open-file limit from %d to %d for %d device sessions",
        soft,
        wanted,
        needed - FD_HEADROOM,
    )


def _shut(sock: Any) -> None:
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            log.debug("socket already closed")
