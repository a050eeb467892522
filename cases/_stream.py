"""The stream of transitions: the `case_events` table (durable, ordered, NOTIFY'd) and
its MQTT copy for integrations, `dayuan/v1/<compound>/cases/<case_id>/<transition>`.

The table is the stream of record: the API's live feed resumes from it by id. MQTT is
published after commit through the small `Publisher` protocol; a failed publish is
logged by the publisher and never undoes a transition.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from cases._model import CaseEvent
from domain import PREFIX, is_identifier

log = logging.getLogger(__name__)

# LISTEN on this channel to be woken when transitions commit; the payload is the
# newest case_events id of the transaction (read the rows after your cursor).
NOTIFY_CHANNEL = "dayuan_case_events"
# Case transitions are rare and each matters (an SOS acknowledged): at least once.
MQTT_QOS = 1
# How long a publish may wait for the broker's PUBACK before it is logged as lost.
PUBLISH_TIMEOUT_S = 5.0


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes) -> None:
        """Send one message; must not raise (log instead): the transition is committed."""
        ...


class NoPublisher:
    """For processes without a broker (tests of the workflow alone, batch tools)."""

    def publish(self, topic: str, payload: bytes) -> None:
        return None


def topic_for(event: CaseEvent) -> str:
    return f"{PREFIX}/{event.compound}/cases/{event.case_id}/{event.transition.value}"


def payload_for(event: CaseEvent) -> bytes:
    return orjson.dumps(event_document(event))


def event_document(event: CaseEvent) -> dict[str, Any]:
    """The JSON form of a transition, shared by MQTT and the API's live feed."""
    return {
        "id": event.id,
        "case_id": event.case_id,
        "version": event.version,
        "compound": event.compound,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "transition": event.transition.value,
        "from": None if event.from_state is None else event.from_state.value,
        "to": event.to_state.value,
        "detail": dict(event.detail),
    }


class MqttPublisher:
    """Publishes at QoS 1 through a paho client it connected itself (`connect`)."""

    def __init__(self, client: mqtt.Client) -> None:
        self._client = client

    @classmethod
    @contextmanager
    def connect(
        cls,
        host: str,
        port: int,
        *,
        username: str,
        password: str,
        client_id: str,
        timeout_s: float = PUBLISH_TIMEOUT_S,
        tls: bool = False,
        tls_ca: str | None = None,
    ) -> Iterator[MqttPublisher]:
        """With `tls`, the broker's certificate is verified against `tls_ca` (a PEM file)
        or, without one, the system's CAs."""
        if not is_identifier(client_id):
            raise ValueError(f"MQTT client id {client_id!r} is not an identifier")
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        client.username_pw_set(username, password)
        if tls:
            client.tls_set(ca_certs=tls_ca)
        connected = threading.Event()
        client.on_connect = lambda c, u, f, rc, p: connected.set() if not rc.is_failure else None
        client.connect(host, port)
        client.loop_start()
        try:
            if not connected.wait(timeout_s):
                raise ConnectionError(f"MQTT broker {host}:{port} did not accept {username}")
            yield cls(client)
        finally:
            client.disconnect()
            client.loop_stop()

    def publish(self, topic: str, payload: bytes) -> None:
        info = self._client.publish(topic, payload, qos=MQTT_QOS)
        try:
            info.wait_for_publish(PUBLISH_TIMEOUT_S)
        except (RuntimeError, ValueError) as exc:  # paho: not queued, or client stopped
            log.warning("case transition not published on %s: %s", topic, exc)
            return
        if not info.is_published():
            log.warning("case transition not acknowledged by the broker on %s", topic)
