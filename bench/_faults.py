"""`dayuan bench faults`: stop and start the broker under traffic; account for every message.

Everything belongs to the run: a fresh database (on the server of DAYUAN_DATABASE_URL), a
Mosquitto from the generated, production-like config (persistence on, in a temp dir) on
a free port, the reference compound in the registry, one `dayuan gateway` process
(rules off) and `dayuan simulate --mode fleet` with a manifest. A named sequence of
faults (`term-restart`, `kill-restart`, comma-separated) is applied to the broker
process at fixed offsets; then the gateway drains, the manifest is checked and one JSON
object per scenario is printed: sent, acknowledged by the broker, stored, lost, the
gateway's redeliveries and withheld acks, where in the run the lost messages were
published (seconds since the simulator started: a lost message's stored predecessor's
device time, mapped to wall time by the earliest arrival of the events stamped then), the
PUBACKs saying "no matching subscribers" and the gateway's connection log. With
`broker="rabbitmq"` the broker is a private RabbitMQ node (`bench._rabbitmq`) and the
gateway speaks MQTT 3.1.1; `gateway-kill-restart` strikes the gateway instead.
"""

from __future__ import annotations

import argparse
import bisect
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import psycopg

import ingest
import registry
import simulators
from bench import _ingest, _manifest
from bench._rabbitmq import RabbitNode
from broker import (
    AUTOSAVE_INTERVAL_S,
    Account,
    DeviceEntry,
    free_port,
    mosquitto_binary,
    wait_for_port,
    write_config,
)
from dayuan import wiring
from dayuan.settings import Settings
from domain import CompoundFile, Kind

# Faults of the broker; `gateway-kill-restart` kills the gateway process instead (SIGKILL)
# and starts it again; `gateway-stall` and `gateway-unstall` stop and continue it
# (SIGSTOP, SIGCONT), putting a backlog in the broker as a database outage does (nothing
# acknowledged, the broker queues).
BROKER_FAULTS = ("term-restart", "kill-restart", "term", "kill")
FAULTS = (
    *BROKER_FAULTS,
    "gateway-kill-restart",
    "gateway-stall",
    "gateway-unstall",
)
BROKERS = ("mosquitto", "rabbitmq")
DOWN_S = 1.0  # the broker stays down this long before it is started again
SETTLE_S = 8.0  # storage unchanged this long after the simulator ended: drained
DRAIN_LIMIT_S = 120.0  # longest wait for the gateway to drain
BUCKET_S = 2  # resolution of the lost-message histogram
# Slices of simulated time in the device-time -> wall-time map: the simulator runs
# flat-out at a message rate, so simulated time is not linear in wall time.
TIME_SLICES = 1000
_LOG_WORTHY = re.compile(r"connected to|disconnected|subscribed|received=|withheld|refused")


@dataclass(frozen=True, slots=True)
class Plan:
    faults: tuple[str, ...]
    rate: float
    duration_s: float
    first_at_s: float
    spacing_s: float
    autosave_interval: int
    autosave_on_changes: bool
    share_group: bool
    mosquitto: str | None = None  # the broker binary; None: the one on the PATH
    # "mosquitto" (the generated config) or "rabbitmq" (a private node, MQTT 3.1.1: the
    # gateway on protocol 4 and a plain subscription; the autosave settings do not apply)
    broker: str = "mosquitto"


def _plan(args: argparse.Namespace, scenario: str, broker: str = "mosquitto") -> Plan:
    faults = tuple(f for f in scenario.split(",") if f and f != "none")
    unknown = [f for f in faults if f not in FAULTS]
    if broker not in BROKERS:
        raise ValueError(f"unknown broker {broker!r}: expected {', '.join(BROKERS)}")
    if unknown:
        raise ValueError(f"unknown fault(s) {unknown}: expected {', '.join(FAULTS)}")
    return Plan(
        faults=faults,
        rate=args.rate,
        duration_s=args.duration,
        first_at_s=args.first_at,
        spacing_s=args.spacing,
        autosave_interval=args.autosave_interval or AUTOSAVE_INTERVAL_S,
        autosave_on_changes=args.autosave_on_changes,
        share_group=not args.no_share_group,
        mosquitto=args.mosquitto,
        broker=broker,
    )


class _Restartable(Protocol):
    def start(self) -> None: ...

    def stop(self, how: signal.Signals) -> None: ...


class _Broker(_Restartable, Protocol):
    """A broker process that can be stopped, killed and started again on one port."""

    port: int
    cpu_s: float


def _apply(target: _Restartable, fault: str) -> None:
    target.stop(signal.SIGKILL if fault.startswith("kill") else signal.SIGTERM)
    if fault.endswith("-restart"):
        time.sleep(DOWN_S)
        target.start()


class _Gateway:
    """The `dayuan gateway` process of the run, which a fault may kill and start again;
    each start appends to gateway.log and waits for its own "subscribed"."""

    def __init__(self, log: Path, env: dict[str, str]) -> None:
        self.log, self.env = log, env
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def _subscribed(self) -> int:
        return self.log.read_text().count(": subscribed") if self.log.exists() else 0

    def start(self) -> None:
        before = self._subscribed()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "dayuan.cli", "gateway"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        deadline = time.monotonic() + 60
        while self._subscribed() == before:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the gateway did not subscribe: {self.log.read_text()}")
            time.sleep(0.1)

    def send(self, how: signal.Signals) -> None:
        if self.process is not None:
            self.process.send_signal(how)

    def stop(self, how: signal.Signals) -> None:
        if self.process is None:
            return
        if how == signal.SIGKILL:
            self.process.kill()
            self.process.wait(30)
        else:
            _ingest.stop(self.process)
        self.process = None


class _Mosquitto:
    """A Mosquitto process that can be stopped, killed and started again on one port."""

    def __init__(self, conf: Path, port: int, binary: str | None) -> None:
        self.conf, self.port, self.binary = conf, port, binary
        self.process: subprocess.Popen[bytes] | None = None
        self.cpu_s = 0.0

    def start(self) -> None:
        binary = self.binary or mosquitto_binary()
        if binary is None:
            raise RuntimeError("mosquitto is not installed")
        self.process = subprocess.Popen(
            [binary, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_port("127.0.0.1", self.port, 10, self.process)

    def stop(self, how: signal.Signals) -> None:
        if self.process is None:
            return
        self.cpu_s += _ingest.cpu_seconds(self.process.pid)
        self.process.send_signal(how)
        self.process.wait(30)
        self.process = None


def run_scenario(plan: Plan, settings: Settings, *, keep: Path | None = None) -> dict[str, Any]:
    """One run of `plan`; `keep` is a directory to leave its files in (logs, manifest)."""
    with ExitStack() as stack:
        if keep is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dayuan-faults-")))
        else:
            work = keep
            work.mkdir(parents=True, exist_ok=True)
        db_url = stack.enter_context(_ingest.database(settings, work))
        compound = simulators.generate_compound(seed=0)
        registry.write_compound_file(work / "compound.yaml", compound)
        fleet, backend = Account("faults-fleet", _pw()), _pw()
        broker, gateway_url = _start_broker(stack, work, compound, plan, fleet, backend)
        _prepare(db_url, compound)
        gateway = _gateway(stack, work, db_url, gateway_url, backend, plan)
        faults_at, wall, began = _traffic(work, broker, gateway, fleet, plan)
        _drain(db_url, wall)
        gateway.stop(signal.SIGTERM)
        broker.stop(signal.SIGTERM)  # its CPU time counted to the end, not to the last fault
        return _report(work, db_url, plan, faults_at, broker.cpu_s, began, gateway.starts)


def _pw() -> str:
    return uuid.uuid4().hex


def _start_broker(
    stack: ExitStack, work: Path, compound: CompoundFile, plan: Plan, fleet: Account, backend: str
) -> tuple[_Broker, str]:
    """The plan's broker, started (stopped when the run ends), and the gateway's URL."""
    if plan.broker == "rabbitmq":
        node = RabbitNode(work / "rabbitmq")
        node.start()
        stack.callback(node.stop, signal.SIGTERM)
        node.add_user(fleet)
        gateway = Account("dayuan-gateway", backend)
        node.add_user(gateway)
        return node, node.url(gateway)
    mosquitto = _mosquitto(work, compound, plan, fleet, backend)
    mosquitto.start()
    stack.callback(mosquitto.stop, signal.SIGTERM)
    # No account in the URL: the gateway logs in as `dayuan-gateway` (its password derived
    # from the backend secret), as the generated config has it.
    return mosquitto, f"mqtt://127.0.0.1:{mosquitto.port}"


def _mosquitto(
    work: Path, compound: CompoundFile, plan: Plan, fleet: Account, backend: str
) -> _Mosquitto:
    port = free_port()
    devices = [DeviceEntry(d.id, c.id, Kind(d.kind)) for c in compound.compounds for d in c.devices]
    conf = write_config(
        work / "mosquitto",
        devices,
        device_secret=_pw(),
        backend_secret=backend,
        fleet=fleet,
        host="127.0.0.1",
        port=port,
        embedded=True,
        autosave_interval_s=plan.autosave_interval,
    )
    text = conf.read_text()
    if plan.autosave_on_changes:  # autosave_interval then counts changes, not seconds
        text += "autosave_on_changes true\n"
    conf.write_text(text + "log_type information\n")
    return _Mosquitto(conf, port, plan.mosquitto)


def _prepare(db_url: str, compound: CompoundFile) -> None:
    with psycopg.connect(db_url) as conn:
        ingest.upgrade(conn, packages=wiring.SCHEMA, requested="postgres")
    with psycopg.connect(db_url) as conn:
        registry.load(conn, compound, actor="bench-faults", now=datetime.now(UTC))


def _gateway(
    stack: ExitStack, work: Path, db_url: str, url: str, backend: str, plan: Plan
) -> _Gateway:
    v5 = plan.broker == "mosquitto"  # RabbitMQ 3's MQTT plugin speaks 3.1.1 only
    env = {
        **os.environ,
        "DAYUAN_DATABASE_URL": db_url,
        "DAYUAN_MQTT_URL": url,
        "DAYUAN_MQTT_PROTOCOL": "5" if v5 else "4",
        "DAYUAN_BACKEND_PASSWORD": backend,
        "DAYUAN_RULES_ENABLED": "false",
        "DAYUAN_SHARE_GROUP": "dayuan" if plan.share_group and v5 else "",
        "DAYUAN_GATEWAY_ID": "faults-1",
        "DAYUAN_STATS_INTERVAL_S": "5",
        "DAYUAN_LOG_LEVEL": "INFO",
    }
    gateway = _Gateway(work / "gateway.log", env)
    stack.callback(gateway.stop, signal.SIGTERM)
    gateway.start()
    return gateway


def _traffic(
    work: Path, broker: _Broker, gateway: _Gateway, fleet: Account, plan: Plan
) -> tuple[list[tuple[str, float]], float, float]:
    """Run the simulator for the plan's duration, faults at their offsets; return when
    each fault struck (seconds since the simulator began: its manifest opened, the
    compound built), the run's length and when it began (epoch seconds)."""
    url = f"mqtt://{fleet.username}:{fleet.password}@127.0.0.1:{broker.port}"
    command = [sys.executable, "-m", "dayuan.cli", "simulate", "--compound"]
    command += [str(work / "compound.yaml"), "--mode", "fleet", "--rate", str(plan.rate)]
    command += ["--mqtt-url", url, "--manifest", str(work / "m.jsonl"), "--no-spontaneous"]
    with (work / "simulate.log").open("wb") as out:
        sim = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not (work / "m.jsonl").exists():
        if sim.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"the simulator did not start: {(work / 'simulate.log').read_text()}"
            )
        time.sleep(0.05)
    started, began = time.monotonic(), time.time()
    struck = []
    for index, fault in enumerate(plan.faults):
        _sleep_until(started + plan.first_at_s + index * plan.spacing_s)
        struck.append((fault, round(time.monotonic() - started, 2)))
        if fault in ("gateway-stall", "gateway-unstall"):
            gateway.send(signal.SIGSTOP if fault == "gateway-stall" else signal.SIGCONT)
        elif fault.startswith("gateway-"):
            _apply(gateway, fault.removeprefix("gateway-"))
        else:
            _apply(broker, fault)
    _sleep_until(started + plan.duration_s)
    gateway.send(signal.SIGCONT)  # a stall left to the end ends with the traffic
    sim.send_signal(signal.SIGINT)  # ends cleanly: last acks awaited, manifest written
    sim.wait(120)
    return struck, time.monotonic() - started, began


def _sleep_until(at: float) -> None:
    time.sleep(max(0.0, at - time.monotonic()))


def _stored_count(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT coalesce(sum(messages), 0) FROM device_state").fetchone()
    return int(row[0]) if row else 0


def _drain(db_url: str, wall: float) -> None:
    """Wait until storage has not moved for SETTLE_S (the gateway has what it will get)."""
    _wait_settled(_stored_count, db_url, SETTLE_S)


def _wait_settled(
    probe: Callable[[psycopg.Connection[Any]], Any], db_url: str, settle_s: float
) -> None:
    """Wait (up to DRAIN_LIMIT_S) until `probe` has answered the same for `settle_s`."""
    deadline = time.monotonic() + DRAIN_LIMIT_S
    with psycopg.connect(db_url, autocommit=True) as conn:
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            now = probe(conn)
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= settle_s:
                return
            time.sleep(0.5)


def _report(
    work: Path,
    db_url: str,
    plan: Plan,
    faults_at: list[tuple[str, float]],
    broker_cpu: float,
    began: float,
    gateway_starts: int = 1,
) -> dict[str, Any]:
    manifest = simulators.read_manifest(work / "m.jsonl")
    summary = manifest.summary or {}
    with psycopg.connect(db_url) as conn:
        account = _manifest.account(conn, manifest)
        lost = _lost(conn, manifest, began)
    lines = (work / "gateway.log").read_text().splitlines()
    stats = [line for line in lines if "received=" in line]
    return {
        "plan": {k: v for k, v in asdict(plan).items() if k != "faults"},
        "faults_at_s": faults_at,
        "sent": summary.get("objects"),
        "publishes": summary.get("messages"),
        "acknowledged_by_broker": summary.get("acknowledged"),
        "acknowledged_to_no_subscriber": summary.get("no_subscribers"),
        "published_again_after_no_subscriber": summary.get("resent"),
        "simulator_wall_s": summary.get("wall_seconds"),
        "acknowledged_per_s": _rate(summary.get("acknowledged"), summary.get("wall_seconds")),
        "expected": account.expected,
        "stored": account.stored,
        "lost": account.lost,
        "unexpected": account.unexpected,
        # A restarted gateway's counters start again: these would count its last life only.
        "gateway_received": _stat(stats, "received") if gateway_starts == 1 else None,
        "redelivered": _redelivered(stats, summary) if gateway_starts == 1 else None,
        "gateway_starts": gateway_starts,
        "acks_withheld": _stat(stats, "acks_withheld"),
        "broker_cpu_s": round(broker_cpu, 2),
        "lost_by_publish_time_s": lost,
        "lost_sample": account.lost_sample[:5],
        "gateway_log": [line[-160:] for line in lines if _LOG_WORTHY.search(line)][-25:],
        "broker_log": _broker_log(work),
    }


def _rate(count: int | None, seconds: float | None) -> float | None:
    """PUBACKs per second the devices saw over the simulator's run (the gateway storing
    at the same time): the broker's throughput as a device meets it."""
    return round(count / seconds, 1) if count is not None and seconds else None


def _stat(stats: list[str], name: str) -> int | None:
    found = re.search(rf"\b{name}=(\d+)", stats[-1]) if stats else None
    return int(found.group(1)) if found else None


def _redelivered(stats: list[str], summary: dict[str, Any]) -> int | None:
    received = _stat(stats, "received")
    if received is None or "messages" not in summary:
        return None
    return received - int(summary["messages"])


def _broker_log(work: Path) -> list[str]:
    path = work / "mosquitto" / "mosquitto.log"
    if not path.exists():
        return []
    keep = re.compile(r"version|Restored|Saving|Error|error|Warning|faults-")
    return [line[-160:] for line in path.read_text().splitlines() if keep.search(line)][-30:]


def _lost(
    conn: psycopg.Connection[Any], manifest: simulators.Manifest, began: float
) -> dict[str, int]:
    """Lost messages by when they were published, in BUCKET_S slices of seconds since the
    simulator started: each at its nearest stored predecessor's device time, on the wall
    clock by when the first events stamped in that slice of device time arrived."""
    stored = _stored_times(conn, list(manifest.devices))
    slices, arrivals = _time_map(conn, list(manifest.devices))
    if not slices:
        return {}
    buckets: Counter[int] = Counter()
    for device in manifest.devices:
        seqs, times = stored.get(device, ([], []))
        for seq in sorted(manifest.expected_data(device) - set(seqs)):
            at = bisect.bisect_left(seqs, seq)
            ts = times[at - 1] if at else (times[0] if times else slices[0])
            wall = arrivals[max(0, bisect.bisect_right(slices, ts) - 1)]
            buckets[int((wall - began) // BUCKET_S * BUCKET_S)] += 1
    return {f"{k}-{k + BUCKET_S}": n for k, n in sorted(buckets.items())}


def _time_map(conn: psycopg.Connection[Any], devices: list[str]) -> tuple[list[float], list[float]]:
    """Device time (slice starts) -> the earliest arrival of an event stamped in it: the
    publication time, give or take the gateway's latency (redeliveries arrive later)."""
    row = conn.execute(
        "SELECT min(extract(epoch FROM ts)), max(extract(epoch FROM ts)) FROM events"
        " WHERE device_id = ANY(%s)",
        (devices,),
    ).fetchone()
    if row is None or row[0] is None:
        return [], []
    low, width = float(row[0]), max(float(row[1]) - float(row[0]), 1.0) / TIME_SLICES
    rows = conn.execute(
        "SELECT floor((extract(epoch FROM ts) - %(low)s) / %(w)s) AS k,"
        " min(extract(epoch FROM received_at)) FROM ("
        " SELECT ts, received_at FROM events WHERE device_id = ANY(%(d)s)"
        " UNION ALL SELECT ts, received_at FROM access_events WHERE device_id = ANY(%(d)s)) x"
        " GROUP BY k ORDER BY k",
        {"low": low, "w": width, "d": devices},
    ).fetchall()
    return [low + float(k) * width for k, _ in rows], [float(t) for _, t in rows]


def _stored_times(
    conn: psycopg.Connection[Any], devices: list[str]
) -> dict[str, tuple[list[int], list[float]]]:
    rows = conn.execute(
        "SELECT device_id, seq, min(extract(epoch FROM ts)) FROM ("
        " SELECT device_id, seq, ts FROM telemetry WHERE device_id = ANY(%(d)s) AND seq >= 0"
        " UNION ALL SELECT device_id, seq, ts FROM events WHERE device_id = ANY(%(d)s) AND seq >= 0"
        " UNION ALL SELECT device_id, seq, ts FROM access_events"
        " WHERE device_id = ANY(%(d)s) AND seq >= 0) x GROUP BY 1, 2 ORDER BY 1, 2",
        {"d": devices},
    )
    out: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    for device, seq, ts in rows:
        out[str(device)][0].append(int(seq))
        out[str(device)][1].append(float(ts))
    return out
