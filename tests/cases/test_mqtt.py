"""One integration test: transitions reach a real Mosquitto as the backend account."""

from __future__ import annotations

import threading
import uuid

import orjson
import paho.mqtt.client as mqtt

import cases
from broker import MqttEndpoint, publisher
from tests.cases.conftest import Conn, FakeClock, sos
from tests.factories import COMPOUND
from tests.fix_mqtt import BACKEND, CASES_ACCOUNT, Broker


def test_transitions_are_published_on_the_cases_topics(
    broker: Broker, cc: Conn, clock: FakeClock
) -> None:
    received: list[mqtt.MQTTMessage] = []
    both = threading.Event()
    subscribed = threading.Event()
    listener = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"listen-{uuid.uuid4().hex[:6]}",
        protocol=mqtt.MQTTv5,
    )
    listener.username_pw_set(BACKEND.username, BACKEND.password)
    listener.on_connect = lambda c, u, f, rc, p: c.subscribe(f"dayuan/v1/{COMPOUND}/cases/#", qos=1)
    listener.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()

    def on_message(c: mqtt.Client, u: object, message: mqtt.MQTTMessage) -> None:
        received.append(message)
        if len(received) == 2:
            both.set()

    listener.on_message = on_message
    listener.connect(broker.host, broker.port)
    listener.loop_start()
    try:
        assert subscribed.wait(5)
        endpoint = MqttEndpoint(
            broker.host, broker.port, CASES_ACCOUNT.username, CASES_ACCOUNT.password
        )
        with publisher(endpoint, f"cases-{uuid.uuid4().hex[:6]}") as published:
            case = cases.Workflow(clock=clock, publisher=published).intake_alarm(cc, sos()).case
        assert both.wait(5)
    finally:
        listener.disconnect()
        listener.loop_stop()
    prefix = f"dayuan/v1/{COMPOUND}/cases/{case.id}"
    assert [m.topic for m in received] == [f"{prefix}/opened", f"{prefix}/dispatched"]
    body = orjson.loads(received[1].payload)
    assert (body["case_id"], body["version"], body["to"]) == (case.id, 2, "dispatched")
