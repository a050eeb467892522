"""The one integration test: an accelerated fleet-mode run onto a real Mosquitto, every
message that arrives checked against the manifest."""

from __future__ import annotations

import base64
import threading
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

import domain
from broker import MqttEndpoint
from simulators import MqttTarget, parse_scenario, read_manifest, run_simulation

SCENARIO = """
schedule:
  - {at: '07:05', type: duplicate, device: G-E1, count: 5}
  - {at: '07:06', type: malformed, device: L-002, variant: not_json, count: 2}
  - {at: '07:06', type: malformed, device: L-002, variant: not_utf8}
  - {at: '07:07', type: late_batch, device: L-003, window: 10m, delay: 5m}
  - {at: '07:08', type: out_of_order, device: G-E1, count: 4}
  - {at: '07:10', type: outage, device: B-1, duration: 10m}
  - {at: '07:12', type: fall, flat: 3-2-301}
"""


class _Subscriber:
    """Collects every message under dayuan/v1/ until told how many to expect."""

    def __init__(self, host: str, port: int) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.enough = threading.Event()
        self.expected = -1
        self.client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe("dayuan/v1/#", qos=1)
        self.client.on_subscribe = lambda c, u, m, r, p: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()

    def _on_message(self, client: Any, userdata: Any, message: paho.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((message.topic, message.payload))
            if len(self.messages) == self.expected:
                self.enough.set()

    def wait_for(self, count: int, timeout: float) -> list[tuple[str, bytes]]:
        with self.lock:
            self.expected = count
            if len(self.messages) >= count:
                self.enough.set()
        self.enough.wait(timeout)
        self.client.disconnect()
        self.client.loop_stop()
        return list(self.messages)


def test_a_fleet_run_arrives_exactly_as_the_manifest_says(
    mosquitto: tuple[str, int], small: domain.CompoundFile, midnight: datetime, tmp_path: Path
) -> None:
    host, port = mosquitto
    subscriber = _Subscriber(host, port)
    assert subscriber.subscribed.wait(5)
    path = tmp_path / "manifest.jsonl"
    report = run_simulation(
        small,
        target=MqttTarget(MqttEndpoint(host, port)),
        start=midnight + timedelta(hours=7),
        speed=1800.0,
        duration=timedelta(minutes=30),
        mode="fleet",
        connections=2,
        scenario=parse_scenario(SCENARIO),
        manifest=path,
        seq_start=0,
    )
    manifest = read_manifest(path)
    wills = [s for s in manifest.specials if s["fault"] == "will"]
    arrived = subscriber.wait_for(report.messages + len(wills), timeout=15)

    assert report.errors == 0
    assert report.acknowledged == report.messages
    assert len(arrived) == report.messages + len(wills)
    seqs: dict[str, Counter[int]] = {}
    dead: list[bytes] = []
    for topic, payload in arrived:
        device = domain.Topic.parse(topic).device
        try:
            document = orjson.loads(payload)
        except orjson.JSONDecodeError:
            dead.append(payload)
            continue
        for body in document if isinstance(document, list) else [document]:
            if "seq" in body:
                seqs.setdefault(device, Counter())[body["seq"]] += 1
    for device, record in manifest.devices.items():
        got = seqs.get(device, Counter())
        assert set(got) == record.seq_set(), device
        assert sum(got.values()) == len(record.seq_set()) + record.duplicates, device
    expected_dead = [
        base64.b64decode(s["payload"]) if s["encoding"] == "base64" else s["payload"].encode()
        for s in manifest.specials
        if s["expect"] == "dead_letter"
    ]
    assert sorted(dead) == sorted(expected_dead)
    assert len(dead) == 3
    faults = Counter(s["fault"] for s in manifest.specials)
    assert faults["duplicate"] == 5
    assert faults["late_batch"] == 1
    assert faults["backfill"] >= 1
