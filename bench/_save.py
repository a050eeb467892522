"""`dayuan bench broker-save`: what one save of Mosquitto's persistence costs by the size of
what it holds, to choose `autosave_interval` (README "Broker restarts and crashes").

Mosquitto's persistence is a snapshot: every `autosave_interval` seconds it writes its
whole in-memory database (sessions, retained messages, every queued message) to one
file, in its only thread, serving nobody meanwhile. What a SIGKILL can lose is what it
acknowledged since the last snapshot and had not yet delivered, so a short interval
bounds the loss, and the cost of each save grows with the backlog a gateway leaves when
it cannot store (a database outage queues everything in the broker).

Per size N: a Mosquitto on a free port (persistence on, the generated config's queue
bound, no autosave during the run), a persistent session subscribed and gone (so the
broker queues for it), N QoS 1 messages of PAYLOAD_BYTES, all PUBACKed, then SIGTERM:
the broker saves and exits. The time from the signal to the exit, less the same for the
empty broker (N = 0, measured first in the same run: the baseline), is one save; also
the file's size.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from broker import (
    MAX_QUEUED_MESSAGES,
    MqttEndpoint,
    free_port,
    mosquitto_binary,
    paho_client,
    wait_for_port,
)

PAYLOAD_BYTES = 300  # about a telemetry message of the contract
TOPIC = "dayuan/v1/bench/light/L-1/telemetry"
WINDOW = 500  # messages in flight from the publisher


def bench_broker_save(args: argparse.Namespace, _settings: Any) -> int:
    binary = mosquitto_binary()
    if binary is None:
        raise RuntimeError("mosquitto is not installed")
    sizes = [0, *sorted(set(args.queued) - {0})]
    runs = [_one(binary, n) for n in sizes]
    runs += [_one(binary, n, retained=True) for n in sorted(set(args.retained) - {0})]
    base = runs[0]["shutdown_s"]
    for run in runs:
        run["save_s"] = round(max(0.0, run["shutdown_s"] - base), 3)
        count = run.get("queued") or run.get("retained")
        per = run["save_s"] / count if count else None
        run["save_us_per_message"] = round(per * 1e6, 2) if per is not None else None
    print(json.dumps({"payload_bytes": PAYLOAD_BYTES, "baseline_shutdown_s": base, "runs": runs}))
    return 0


def _one(binary: str, count: int, *, retained: bool = False) -> dict[str, Any]:
    """A save of `count` messages queued for the parked session, or of `count` retained
    messages on as many topics (a fleet's last statuses) with no session parked."""
    with tempfile.TemporaryDirectory(prefix="dayuan-save-") as tmp:
        work, port = Path(tmp), free_port()
        conf = work / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {work}/\nautosave_interval 86400\n"
            f"max_queued_messages {MAX_QUEUED_MESSAGES}\nmax_inflight_messages 15000\n"
            # As root Mosquitto would drop to its own user and could not write here.
            + ("user root\n" if os.geteuid() == 0 else "")
        )
        proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_for_port("127.0.0.1", port, 10, proc)
            if not retained:
                _park_session(port)
            began = time.monotonic()
            _publish(port, count, retained=retained)
            published_s = time.monotonic() - began
            stopped = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            proc.wait(600)
            shutdown = time.monotonic() - stopped
        finally:
            if proc.poll() is None:
                proc.kill()
        size = (work / "mosquitto.db").stat().st_size if (work / "mosquitto.db").exists() else 0
        return {
            "retained" if retained else "queued": count,
            "publish_rate": round(count / published_s) if count else None,
            "shutdown_s": round(shutdown, 3),
            "file_bytes": size,
        }


def _park_session(port: int) -> None:
    """A persistent session subscribed to TOPIC and disconnected: the broker queues."""
    endpoint = MqttEndpoint("127.0.0.1", port)
    client = paho_client(endpoint, "dayuan-save-bench", persistent=True, reconnect=False)
    done: list[bool] = []
    client.on_subscribe = lambda *a: done.append(True)
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    client.on_connect = lambda c, *a: c.subscribe(TOPIC, qos=1)
    client.connect("127.0.0.1", port, clean_start=False, properties=props)
    deadline = time.monotonic() + 10
    while not done and time.monotonic() < deadline:
        client.loop(0.05)
    if not done:
        raise RuntimeError("the parked session did not subscribe")
    client.disconnect()
    client.loop(0.05)


def _publish(port: int, count: int, *, retained: bool) -> None:
    """`count` QoS 1 messages, returning once the broker has acknowledged every one."""
    client = paho_client(MqttEndpoint("127.0.0.1", port), "dayuan-save-pub", reconnect=False)
    client.max_inflight_messages_set(1000)
    acked: list[int] = [0]
    client.on_publish = lambda *a: acked.__setitem__(0, acked[0] + 1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        payload = b"x" * PAYLOAD_BYTES
        for sent in range(count):
            while sent - acked[0] >= WINDOW:  # paho's own queue beyond its window stalls
                time.sleep(0.001)
            topic = f"{TOPIC}/{sent}" if retained else TOPIC
            client.publish(topic, payload, qos=1, retain=retained)
        deadline = time.monotonic() + 600
        while acked[0] < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{count - acked[0]} of {count} messages unacknowledged")
            time.sleep(0.05)
    finally:
        client.disconnect()
        client.loop_stop()
