"""`dayuan bench brokers`: what a broker that stores before it acknowledges costs.

The same load through each broker in one run: Mosquitto from the generated config
(persistence on, the production setting: a snapshot every 60 s) as the baseline, then a
private RabbitMQ node with its MQTT plugin (`bench._rabbitmq`: PUBACK after the message is
on disk in the subscriber's durable queue). C `mosquitto_pub -l` publishers at QoS 1 (so
that Python is not the bottleneck) into one C `mosquitto_sub` holding a gateway's kind of
session (clean session off, QoS 1, a stable client id) that only counts; MQTT 3.1.1 on
both, RabbitMQ's plugin speaks nothing else. Per broker: PUBACKed messages per second
(all publishers done), delivered per second (the subscriber has all), and the broker's CPU
time per message over the load (its start-up excluded). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench import _ingest
from bench._rabbitmq import RabbitNode, rabbitmq_installed
from broker import (
    Account,
    BackendRole,
    DeviceEntry,
    backend_account,
    free_port,
    mosquitto,
    write_config,
)
from dayuan.settings import Settings
from domain import Kind

SUBSCRIBER_ID = "dayuan-bench-sub"
SUBACK_LIMIT_S = 30.0  # the subscriber's SUBACK, on a loaded machine
LOAD_LIMIT_S = 600.0  # the longest one broker's load may take


class _Target:
    """A running broker: where it listens, the accounts, and its processes' CPU time."""

    def __init__(
        self, port: int, fleet: Account, reader: Account, pids: Callable[[], list[int]]
    ) -> None:
        self.port, self.fleet, self.reader, self._pids = port, fleet, reader, pids

    def cpu_s(self) -> float:
        return sum(_ingest.cpu_seconds(pid) for pid in self._pids())


def bench_brokers(args: argparse.Namespace, settings: Settings) -> int:
    publishers = max(args.publishers, -(-args.messages // _ingest.LINES_PER_PUBLISHER))
    per = args.messages // publishers
    total = per * publishers
    devices = [f"bench-{i}" for i in range(publishers)]
    results = {}
    with tempfile.TemporaryDirectory(prefix="dayuan-brokers-") as tmp:
        work = Path(tmp)
        files = _ingest._load_files(work, devices, per)
        payload_bytes = _ingest._payload_size(files[0][1])
        brokers = ["mosquitto", "rabbitmq"] if rabbitmq_installed() else ["mosquitto"]
        for name in brokers:
            with _started(name, work / name, devices) as target:
                results[name] = _load(target, files, total, work / name)
    base = results["mosquitto"]["acknowledged_msgs_per_s"]
    print(
        json.dumps(
            {
                "benchmark": "brokers",
                "messages": total,
                "publishers": publishers,
                "payload_bytes": payload_bytes,
                "protocol": "MQTT 3.1.1, QoS 1",
                **results,
                "rabbitmq_to_mosquitto": round(
                    results["rabbitmq"]["acknowledged_msgs_per_s"] / base, 3
                )
                if "rabbitmq" in results and base
                else None,
                "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            },
            indent=2,
        )
    )
    return 0


@contextmanager
def _started(name: str, work: Path, devices: list[str]) -> Iterator[_Target]:
    fleet = Account("bench-fleet", uuid.uuid4().hex)
    if name == "rabbitmq":
        reader = Account("dayuan-gateway", uuid.uuid4().hex)
        with RabbitNode(work) as node:
            node.add_user(fleet)
            node.add_user(reader)
            yield _Target(node.port, fleet, reader, node.pids)
        return
    port, secret = free_port(), uuid.uuid4().hex
    conf = write_config(
        work,
        [DeviceEntry(d, _ingest.COMPOUND, Kind.LIGHT) for d in devices],
        device_secret=uuid.uuid4().hex,
        backend_secret=secret,
        fleet=fleet,
        host="127.0.0.1",
        port=port,
        embedded=True,
    )
    with mosquitto(conf, "127.0.0.1", port) as process:
        reader = backend_account(BackendRole.GATEWAY, secret)
        yield _Target(port, fleet, reader, lambda: [process.pid])


def _load(target: _Target, files: list[tuple[str, Path]], total: int, work: Path) -> dict[str, Any]:
    with ExitStack() as stack:
        sub = _subscriber(stack, target, total, work / "sub.log")
        cpu_before, started = target.cpu_s(), time.perf_counter()
        pubs = _publishers(target, files)
        for proc in pubs:
            proc.wait(LOAD_LIMIT_S)
        acknowledged_s = time.perf_counter() - started
        sub.wait(LOAD_LIMIT_S)
        delivered_s = time.perf_counter() - started
        cpu = target.cpu_s() - cpu_before
    failed = [p.returncode for p in pubs if p.returncode] + (
        [sub.returncode] * bool(sub.returncode)
    )
    return {
        "acknowledged_msgs_per_s": round(total / acknowledged_s),
        "delivered_msgs_per_s": round(total / delivered_s),
        "broker_cpu_s": round(cpu, 2),
        "broker_cpu_us_per_msg": round(cpu / total * 1e6, 1),
        "client_failures": failed,
    }


def _client(target: _Target, account: Account, tool: str) -> list[str]:
    where = ["-h", "127.0.0.1", "-p", str(target.port), "-V", "mqttv311", "-q", "1"]
    return [tool, *where, "-u", account.username, "-P", account.password]


def _subscriber(
    stack: ExitStack, target: _Target, total: int, log: Path
) -> subprocess.Popen[bytes]:
    """A gateway's kind of session that counts to `total`. The session and its
    subscription are made first by a client that leaves at the SUBACK (RabbitMQ drops what
    is published before the subscriber's queue is bound); the counter resumes it."""
    command = _client(target, target.reader, "mosquitto_sub")
    command += ["-c", "-i", SUBSCRIBER_ID, "-t", "dayuan/v1/#"]
    made = subprocess.run(
        [*command, "-E"], capture_output=True, text=True, timeout=SUBACK_LIMIT_S, check=False
    )
    if made.returncode != 0:
        raise RuntimeError(f"the subscriber could not subscribe: {made.stdout}{made.stderr}")
    with log.open("wb") as out:
        sub = subprocess.Popen([*command, "-C", str(total)], stdout=subprocess.DEVNULL, stderr=out)
    stack.callback(_end, sub)
    return sub


def _publishers(target: _Target, files: list[tuple[str, Path]]) -> list[subprocess.Popen[bytes]]:
    procs = []
    for topic, path in files:
        command = _client(target, target.fleet, "mosquitto_pub")
        command += ["-M", str(_ingest.PUBLISHER_INFLIGHT), "-t", topic, "-l"]
        with path.open("rb") as source:
            procs.append(
                subprocess.Popen(
                    command, stdin=source, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )
    return procs


def _end(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
