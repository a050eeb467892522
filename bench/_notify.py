"""`dayuan bench notify`: from an SOS press to a person's channel, in the production layout.

Everything belongs to the run: a fresh database, a Mosquitto from the generated config,
one `dayuan gateway` (the rules in it, the product's default), `dayuan notifier`
processes, and the channel: one small threaded HTTP server per staff member (each their
own contact point, as their phones are), reached through Apprise's `json://`, that
stamps every arrival with its idempotency key. The compound is the reference one
(`simulators.generate_compound`), with a second compound of lights for background load.

1. latency: the gateway's sustained rate is measured first (C publishers flat out, as
   `bench ingest`); then, idle and under paced background telemetry at fractions of it,
   SOS presses from the pendants of elderly flats; per press, PUBLISH to the first
   notification's arrival; each case is acknowledged once reached;
2. repeat: SOS nobody acknowledges; the first round's arrival to the next person's;
3. throughput: cases queued while the notifiers are stopped (SIGSTOP), then released:
   deliveries per second with 1 and 2 notifier processes;
4. faults: a notifier killed (SIGKILL) mid-delivery and restarted; the channel answering
   503 for `--outage-s`; every notification accounted for by its idempotency key.

Same-run baselines: the gateway's sustained rate, the channel's raw round trip (the
same Apprise delivery, in this process) and the idle SOS latency. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

import broker
import cases
import notify
import simulators
from bench import _faults, _ingest
from broker import Account, DeviceEntry, MqttEndpoint, free_port, mosquitto, write_config
from dayuan.settings import Settings
from domain import Channel, Compound, CompoundFile, Device, Kind, Severity, SystemClock, Topic

LIGHTS_COMPOUND = _ingest.COMPOUND  # the background load's lights (`bench ingest`'s)
# Background telemetry is written to the publishers this often (small, even bursts).
LOAD_TICK_S = 0.05
# Lines per background publisher per second at most: device times are milliseconds, one
# apart, and must not run ahead of the clock.
LOAD_PER_PUBLISHER = 1000
LOAD_SETTLE_S = 2.0  # background load runs this long before the first SOS of a level
# An SOS whose first notification has not arrived after this is counted lost.
ARRIVAL_WAIT_S = 60.0
POLL_S = 0.1
START_WAIT_S = 60.0  # a process that has not started by then failed to
RAW_TRIPS = 50  # channel round trips timed for the baseline
# While a notifier is killed, each arrival is answered this late: deliveries are in
# flight (claimed, not yet recorded) when the kill lands.
KILL_DELAY_S = 0.25
KILL_AT_FRACTION = 0.25  # of the notifications delivered when the notifier is killed
HEADER = "X-Dayuan-Idempotency-Key"


@dataclass(frozen=True, slots=True)
class _Arrival:
    key: str
    path: str
    at: float  # epoch seconds, this process's clock (the presses use the same)
    status: int


@dataclass
class _Receiver:
    """One HTTP server per staff member, one log of arrivals; `failing` answers 503."""

    arrivals: list[_Arrival] = field(default_factory=list)
    failing: bool = False
    delay_s: float = 0.0
    ports: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, key: str, path: str) -> int:
        at = time.time()
        status = 503 if self.failing else 200
        with self._lock:
            self.arrivals.append(_Arrival(key, path, at, status))
        if self.delay_s:
            time.sleep(self.delay_s)
        return status

    def url(self, staff: str) -> str:
        return f"json://127.0.0.1:{self.ports[staff]}/{staff}"

    def delivered(self) -> dict[str, list[float]]:
        """Accepted arrivals' times by idempotency key."""
        out: dict[str, list[float]] = defaultdict(list)
        with self._lock:
            for a in self.arrivals:
                if a.status == 200:
                    out[a.key].append(a.at)
        return out

    def refused(self) -> int:
        with self._lock:
            return sum(1 for a in self.arrivals if a.status != 200)


@contextmanager
def _receiver(staff: list[str]) -> Iterator[_Receiver]:
    rec = _Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            code = rec.record(self.headers.get(HEADER, ""), self.path)
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    servers = []
    for s in staff:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        rec.ports[s] = int(server.server_address[1])
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    try:
        yield rec
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@dataclass
class _Run:
    """What every phase uses."""

    work: Path
    db_url: str
    broker: _ingest._Broker
    receiver: _Receiver
    compound: Compound
    pendants: list[Device]  # SOS pendants not pressed yet
    lights: list[str]
    next_seq: int = 0  # the lights' next telemetry seq (after the calibration's)

    def pendant(self) -> Device:
        if not self.pendants:
            raise RuntimeError("no SOS pendant left: lower --sos or --repeat-sos")
        return self.pendants.pop(0)


def bench_notify(args: argparse.Namespace, settings: Settings) -> int:
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dayuan-notify-")))
        db_url = stack.enter_context(_ingest.database(settings, work))
        generated = simulators.generate_compound(seed=0)
        reference = generated.compounds[0]
        receiver = stack.enter_context(_receiver([s.id for s in reference.staff]))
        run = _prepare(stack, work, db_url, receiver, generated, args.publishers)
        _ingest._start_gateway(stack, db_url, run.broker, 0, work)  # once subscribed
        result: dict[str, Any] = {
            "benchmark": "notify",
            "parameters": {k: v for k, v in vars(args).items() if not callable(v)},
            "layout": "1 gateway (rules in it), notifier processes, Mosquitto, PostgreSQL",
            "channel": f"json:// to {len(receiver.ports)} local HTTP servers (one per staff)",
            "machine": {
                "cpus": os.cpu_count(),
                "python": sys.version.split()[0],
                "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
            },
            "baseline": {"channel_round_trip_ms": _raw_trips(receiver)},
        }
        result["latency"] = _latency_phase(stack, run, args, result["baseline"])
        result["repeat"] = _repeat_phase(stack, run, args)
        result["throughput"] = [_throughput(stack, run, args, n) for n in (1, 2)]
        result["faults"] = {
            "kill_9": _kill_phase(stack, run, args),
            "outage": _outage_phase(stack, run, args),
        }
        result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))
    lost = sum(level["lost"] for level in result["latency"]["levels"])
    lost += result["repeat"]["lost"] + sum(f["lost"] for f in result["faults"].values())
    return 0 if lost == 0 else 1


def _prepare(
    stack: ExitStack,
    work: Path,
    db_url: str,
    receiver: _Receiver,
    generated: CompoundFile,
    publishers: int,
) -> _Run:
    reference = generated.compounds[0]
    staff = [s.model_copy(update={"contacts": [receiver.url(s.id)]}) for s in reference.staff]
    compound = reference.model_copy(update={"staff": staff})
    lights = [f"bench-{i}" for i in range(publishers)]
    background = Compound(
        id=LIGHTS_COMPOUND,
        name="Background load",
        lat=30.27,
        lon=120.16,
        devices=[Device(id=d, kind=Kind.LIGHT, model="led_light") for d in lights],
    )
    # With the generated organisations: the reference compound's parties name them.
    file = CompoundFile(compounds=[compound, background], organisations=generated.organisations)
    port, fleet, secret = free_port(), Account("notify-fleet", _pw()), _pw()
    entries = [DeviceEntry(d.id, c.id, Kind(d.kind)) for c in file.compounds for d in c.devices]
    conf = write_config(
        work / "mosquitto",
        entries,
        device_secret=_pw(),
        backend_secret=secret,
        fleet=fleet,
        host="127.0.0.1",
        port=port,
        embedded=True,
    )
    conf.write_text(conf.read_text().replace("persistence true", "persistence false"))
    stack.enter_context(mosquitto(conf, "127.0.0.1", port))
    _faults._prepare(db_url, file)
    pendants = [d for d in compound.devices if d.model == "sos_pendant" and d.address]
    return _Run(
        work, db_url, _ingest._Broker(port, fleet, secret), receiver, compound, pendants, lights
    )


def _pw() -> str:
    return uuid.uuid4().hex


# -- processes ---------------------------------------------------------------------------


def _notifier(stack: ExitStack, run: _Run, name: str, **settings: float) -> subprocess.Popen[bytes]:
    """A `dayuan notifier` with these DAYUAN_NOTIFY_* settings, once it is delivering."""
    env = {
        **os.environ,
        "DAYUAN_DATABASE_URL": run.db_url,
        "DAYUAN_TOKEN_SECRET": _pw() + _pw(),  # links on, as in production
        "DAYUAN_LOG_LEVEL": "INFO",
        **{f"DAYUAN_NOTIFY_{k.upper()}": str(v) for k, v in settings.items()},
    }
    log = run.work / f"notifier-{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dayuan.cli", "notifier"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    stack.callback(_ingest.stop, proc)
    deadline = time.monotonic() + START_WAIT_S
    while "delivering" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"notifier {name} did not start: {log.read_text()[-2000:]}")
        time.sleep(POLL_S)
    return proc


class _Load:
    """Paced background telemetry: C publishers fed lines at `rate` in total."""

    def __init__(self, run: _Run, rate: float) -> None:
        if rate > LOAD_PER_PUBLISHER * len(run.lights):
            raise ValueError(f"{rate:.0f} msg/s needs more than {len(run.lights)} --publishers")
        self._run, self._rate = run, rate
        self._stop = threading.Event()
        self._procs = [
            subprocess.Popen(
                _ingest.publisher_command(run.broker, _light_topic(d)),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for d in run.lights
        ]
        self.sent = 0
        self._thread = threading.Thread(target=self._feed, daemon=True)
        self._started = time.perf_counter()
        self._thread.start()

    def _feed(self) -> None:
        per = self._rate / len(self._procs)
        seq = self._run.next_seq
        while not self._stop.is_set():
            due = int(per * (time.perf_counter() - self._started)) + self._run.next_seq
            now_ms = int(time.time() * 1000)
            lines = [_telemetry(now_ms - (due - 1 - s), s) for s in range(seq, due)]
            block = "".join(lines).encode()
            for proc in self._procs:
                if proc.stdin is not None:
                    proc.stdin.write(block)
                    proc.stdin.flush()
            self.sent += len(lines) * len(self._procs)
            seq = due
            self._stop.wait(LOAD_TICK_S)
        self._run.next_seq = seq

    def stop(self) -> float:
        """Stop; the rate actually offered (messages per second)."""
        self._stop.set()
        self._thread.join()
        elapsed = time.perf_counter() - self._started
        for proc in self._procs:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(60)
        return self.sent / elapsed if elapsed > 0 else 0.0


def _light_topic(device: str) -> str:
    return str(Topic(LIGHTS_COMPOUND, Kind.LIGHT, device, Channel.TELEMETRY))


def _telemetry(ts_ms: int, seq: int) -> str:
    dim = 100 if seq % 2 else 50
    return (
        f'{{"ts":{ts_ms},"seq":{seq},"values":{{"power_w":{0.6 * dim:.1f},"voltage_v":220.4,'
        f'"current_a":{0.0028 * dim:.4f},"lux":{seq % 400},"dim_level":{dim}}}}}\n'
    )


# -- baselines ---------------------------------------------------------------------------


def _raw_trips(receiver: _Receiver) -> dict[str, float]:
    """The channel alone: Apprise's json:// delivery to the receiver, in this process."""
    deliver, staff = notify.Channels(), next(iter(receiver.ports))
    # Untimed first: Apprise loads its plugins on first use.
    deliver(receiver.url(staff), notify.Message("bench-warm", "warm", "warm", 0, 0, staff, {}))
    times = []
    for i in range(RAW_TRIPS):
        message = notify.Message(f"bench-raw-{i}", "baseline", "baseline", 0, 0, staff, {})
        started = time.perf_counter()
        deliver(receiver.url(staff), message)
        times.append(time.perf_counter() - started)
    return _percentiles(times)


def _sustained(run: _Run, messages: int) -> float:
    """What the gateway sustains here: C publishers flat out, until all is committed."""
    per = max(1, messages // len(run.lights))
    files = _ingest._load_files(run.work, run.lights, per)
    started = time.perf_counter()
    procs = _ingest._publish(run.broker, files)
    committed, elapsed = _ingest._wait_committed(run.db_url, per * len(run.lights), started)
    for proc in procs:
        proc.wait()
    if committed < per * len(run.lights):
        raise RuntimeError(f"calibration: {committed} of {per * len(run.lights)} committed")
    run.next_seq = per
    return committed / elapsed


def _percentiles(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {"p50": None, "p99": None, "max": None, "count": 0}
    ms = np.asarray(seconds) * 1000.0
    return {
        "p50": round(float(np.percentile(ms, 50)), 1),
        "p99": round(float(np.percentile(ms, 99)), 1),
        "max": round(float(ms.max()), 1),
        "count": len(ms),
    }


# -- phase 1: latency --------------------------------------------------------------------


def _latency_phase(
    stack: ExitStack, run: _Run, args: argparse.Namespace, baseline: dict[str, Any]
) -> dict[str, Any]:
    fractions = [0.0] if args.skip_load else [0.0, 0.5, 0.9]
    if not args.skip_load:
        sustained = _sustained(run, args.calibrate_messages)
        baseline["gateway_sustained_msgs_per_s"] = round(sustained)
    notifier = _notifier(stack, run, "latency")
    levels = []
    for fraction in fractions:
        rate = fraction * baseline.get("gateway_sustained_msgs_per_s", 0)
        levels.append(_level(run, args, fraction, rate))
    _ingest.stop(notifier)
    return {"goal_p99_ms": 2000, "levels": levels}


def _level(run: _Run, args: argparse.Namespace, fraction: float, rate: float) -> dict[str, Any]:
    load = _Load(run, rate) if rate > 0 else None
    if load is not None:
        time.sleep(LOAD_SETTLE_S)
    spacing = args.duration / max(1, args.sos)
    presses = _press(run, args.sos, spacing, f"bench-sos-{int(fraction * 100)}")
    offered = load.stop() if load is not None else 0.0
    first = _first_arrivals(run, presses, acknowledge=True)
    latencies = [first[d] - at for d, at in presses.items() if d in first]
    return {
        "load_fraction": fraction,
        "background_target_msgs_per_s": round(rate),
        "background_offered_msgs_per_s": round(offered),
        "sos_to_first_notification_ms": _percentiles(latencies),
        "lost": len(presses) - len(latencies),
    }


def _press(run: _Run, count: int, spacing: float, client_id: str) -> dict[str, float]:
    """`count` SOS presses, each from a pendant of its own; device -> when published."""
    endpoint = MqttEndpoint(
        "127.0.0.1", run.broker.port, run.broker.fleet.username, run.broker.fleet.password
    )
    presses: dict[str, float] = {}
    with broker.publisher(endpoint, client_id) as pub:
        for i in range(count):
            device = run.pendant().id
            topic = str(Topic(run.compound.id, Kind.ELDER, device, Channel.EVENT))
            now = time.time()
            body = json.dumps({"type": "sos", "ts": int(now * 1000), "seq": 1_000_000 + i})
            presses[device] = now
            pub.publish(topic, body.encode())
            time.sleep(spacing)
    return presses


def _first_arrivals(run: _Run, presses: dict[str, float], *, acknowledge: bool) -> dict[str, float]:
    """Device -> the first arrival of its case's notifications (round 0); each case is
    acknowledged once reached when `acknowledge` (as its responder would: no repeats)."""
    first: dict[str, float] = {}
    deadline = time.monotonic() + ARRIVAL_WAIT_S
    workflow = cases.Workflow(clock=SystemClock())
    with psycopg.connect(run.db_url, autocommit=True) as conn:
        while len(first) < len(presses) and time.monotonic() < deadline:
            delivered = run.receiver.delivered()
            for case_id, device, keys in _case_keys(conn, list(presses), rounds=(0,)):
                times = [min(delivered[k]) for k in keys if k in delivered]
                if device in first or not times:
                    continue
                first[device] = min(times)
                if acknowledge:
                    _acknowledge(conn, workflow, case_id)
            time.sleep(POLL_S)
    return first


def _case_keys(
    conn: psycopg.Connection[Any], devices: list[str], *, rounds: tuple[int, ...]
) -> list[tuple[int, str, list[str]]]:
    rows = conn.execute(
        "SELECT c.id, c.device_id, array_agg(n.idempotency_key) FROM cases c"
        " JOIN notifications n ON n.case_id = c.id"
        " WHERE c.device_id = ANY(%s) AND n.round = ANY(%s) GROUP BY c.id, c.device_id",
        (devices, list(rounds)),
    ).fetchall()
    return [(int(r[0]), str(r[1]), list(r[2])) for r in rows]


def _acknowledge(conn: psycopg.Connection[Any], workflow: cases.Workflow, case_id: int) -> None:
    case = cases.get_case(conn, case_id)
    if case.acknowledged_at is None:
        workflow.acknowledge(conn, case_id, actor="bench", version=case.version)


# -- phase 2: repeat ---------------------------------------------------------------------


def _repeat_phase(stack: ExitStack, run: _Run, args: argparse.Namespace) -> dict[str, Any]:
    interval = args.repeat_interval
    notifier = _notifier(stack, run, "repeat", repeat_s=interval)
    presses = _press(run, args.repeat_sos, 1.0, "bench-repeat")
    first = _first_arrivals(run, presses, acknowledge=False)
    gaps = _next_person(run, list(presses), first, deadline_s=3 * interval + ARRIVAL_WAIT_S)
    with psycopg.connect(run.db_url, autocommit=True) as conn:
        workflow = cases.Workflow(clock=SystemClock())
        for case_id, _, _ in _case_keys(conn, list(presses), rounds=(0,)):
            _acknowledge(conn, workflow, case_id)
    _ingest.stop(notifier)
    deviations = [abs(g - interval) for g in gaps.values()]
    return {
        "interval_s": interval,
        "first_to_next_person_s": {d: round(g, 2) for d, g in gaps.items()},
        "deviation_s": {
            "p50": round(float(np.percentile(deviations, 50)), 2) if deviations else None,
            "max": round(max(deviations), 2) if deviations else None,
        },
        "within_2_s": bool(deviations) and max(deviations) <= 2.0,
        "lost": len(presses) - len(gaps),
    }


def _next_person(
    run: _Run, devices: list[str], first: dict[str, float], *, deadline_s: float
) -> dict[str, float]:
    """Device -> seconds from its case's first arrival to the arrival of round 1's
    notification of the person round 0 did not reach."""
    gaps: dict[str, float] = {}
    deadline = time.monotonic() + deadline_s
    with psycopg.connect(run.db_url, autocommit=True) as conn:
        while len(gaps) < len(first) and time.monotonic() < deadline:
            delivered = run.receiver.delivered()
            rows = conn.execute(
                "SELECT c.device_id, n.idempotency_key FROM cases c"
                " JOIN notifications n ON n.case_id = c.id WHERE c.device_id = ANY(%s)"
                " AND n.round = 1 AND n.recipient <> ALL(SELECT recipient FROM notifications"
                " WHERE case_id = c.id AND round = 0)",
                (devices,),
            ).fetchall()
            for device, key in rows:
                if device in first and device not in gaps and key in delivered:
                    gaps[device] = min(delivered[key]) - first[device]
            time.sleep(POLL_S)
    return gaps


# -- phase 3: throughput ----------------------------------------------------------------


def _intake(run: _Run, count: int, tag: str) -> list[int]:
    """`count` SOS cases opened directly (no gateway): the notifiers' work, queued."""
    workflow = cases.Workflow(clock=SystemClock())
    pendants = [d for d in run.compound.devices if d.model == "sos_pendant" and d.address]
    ids = []
    with psycopg.connect(run.db_url, autocommit=True) as conn:
        for i in range(count):
            device = pendants[i % len(pendants)]
            notice = cases.AlarmNotice(
                fingerprint=f"bench-{tag}:{i}",
                rule_id="sos",
                title="SOS button pressed",
                severity=Severity.CRITICAL,
                category="sos",
                compound=run.compound.id,
                device_id=device.id,
                flat=device.address,
                values={},
                opened_at=datetime.now(UTC),
            )
            ids.append(workflow.intake_alarm(conn, notice).case.id)
    return ids


def _throughput(
    stack: ExitStack, run: _Run, args: argparse.Namespace, notifiers: int
) -> dict[str, Any]:
    rate = args.rate_limit
    procs = [
        _notifier(stack, run, f"throughput-{notifiers}-{i}", rate_per_s=rate)
        for i in range(notifiers)
    ]
    for proc in procs:
        os.kill(proc.pid, signal.SIGSTOP)
    ids = _intake(run, args.cases, f"throughput-{notifiers}")
    started = time.time()
    for proc in procs:
        os.kill(proc.pid, signal.SIGCONT)
    done = _wait_done(run, ids, ARRIVAL_WAIT_S + args.cases)
    for proc in procs:
        _ingest.stop(proc)
    account = _account(run, ids)
    delivered = run.receiver.delivered()
    last = max((min(delivered[k]) for k in _keys(run, ids) if k in delivered), default=started)
    elapsed = last - started
    _acknowledge_all(run, ids)
    return {
        "notifiers": notifiers,
        "rate_limit_per_channel_per_s": rate,
        "cases": len(ids),
        "notifications": account["notifications"],
        "sent": account["sent"],
        "seconds": round(elapsed, 2),
        "delivered_per_s": round(account["sent"] / elapsed, 1) if elapsed > 0 else None,
        "delivered_per_s_per_notifier": round(account["sent"] / elapsed / notifiers, 1)
        if elapsed > 0
        else None,
        "complete": done,
    }


def _keys(run: _Run, ids: list[int]) -> list[str]:
    with psycopg.connect(run.db_url) as conn:
        rows = conn.execute(
            "SELECT idempotency_key FROM notifications WHERE case_id = ANY(%s)", (ids,)
        ).fetchall()
    return [str(r[0]) for r in rows]


def _wait_done(run: _Run, ids: list[int], limit_s: float) -> bool:
    """Until every outbox row is planned and none of these cases' notifications is queued."""
    deadline = time.monotonic() + limit_s
    with psycopg.connect(run.db_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM notify_outbox WHERE planned_at IS NULL),"
                " (SELECT count(*) FROM notifications WHERE case_id = ANY(%s)"
                " AND state = 'queued'), (SELECT count(*) FROM notifications"
                " WHERE case_id = ANY(%s))",
                (ids, ids),
            ).fetchone()
            if row is not None and row[0] == 0 and row[1] == 0 and row[2] > 0:
                return True
            time.sleep(POLL_S)
    return False


def _acknowledge_all(run: _Run, ids: list[int]) -> None:
    workflow = cases.Workflow(clock=SystemClock())
    with psycopg.connect(run.db_url, autocommit=True) as conn:
        for case_id in ids:
            _acknowledge(conn, workflow, case_id)


# -- phase 4: faults --------------------------------------------------------------------


def _account(run: _Run, ids: list[int]) -> dict[str, Any]:
    """Every notification of these cases: its state, and how often its key arrived."""
    with psycopg.connect(run.db_url) as conn:
        rows = conn.execute(
            "SELECT idempotency_key, state, attempts, round FROM notifications"
            " WHERE case_id = ANY(%s)",
            (ids,),
        ).fetchall()
    delivered = run.receiver.delivered()
    arrivals = [len(delivered.get(str(r[0]), [])) for r in rows]
    states = [str(r[1]) for r in rows]
    return {
        "notifications": len(rows),
        # Of them made by repeat rounds: nobody acknowledged within the interval.
        "of_them_repeats": sum(1 for r in rows if int(r[3]) > 0),
        "sent": states.count("sent"),
        "failed": states.count("failed"),
        "queued": states.count("queued"),
        "delivered_once": sum(1 for n in arrivals if n == 1),
        "delivered_more_than_once": sum(1 for n in arrivals if n > 1),
        "duplicate_arrivals": sum(n - 1 for n in arrivals if n > 1),
        "lost": sum(1 for n in arrivals if n == 0),
        "attempts_max": max((int(r[2]) for r in rows), default=0),
    }


def _kill_phase(stack: ExitStack, run: _Run, args: argparse.Namespace) -> dict[str, Any]:
    lease = args.lease
    first = _notifier(stack, run, "kill-1", lease_s=lease)
    run.receiver.delay_s = KILL_DELAY_S
    ids = _intake(run, args.fault_cases, "kill")
    in_flight = _kill_when_delivering(run, ids, first)
    started = time.monotonic()
    _notifier(stack, run, "kill-2", lease_s=lease)
    done = _wait_done(run, ids, lease + ARRIVAL_WAIT_S + args.fault_cases)
    recovered = time.monotonic() - started
    run.receiver.delay_s = 0.0
    _acknowledge_all(run, ids)
    return {
        "lease_s": lease,
        "receiver_delay_s": KILL_DELAY_S,
        "claimed_at_kill": in_flight,
        "restart_to_all_delivered_s": round(recovered, 1),
        "complete": done,
        **_account(run, ids),
    }


def _kill_when_delivering(run: _Run, ids: list[int], proc: subprocess.Popen[bytes]) -> int:
    """SIGKILL `proc` once KILL_AT_FRACTION of the notifications arrived; how many rows it
    held claimed (mid-delivery) then."""
    deadline = time.monotonic() + ARRIVAL_WAIT_S
    with psycopg.connect(run.db_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            keys = _keys(run, ids)
            delivered = run.receiver.delivered()
            if keys and sum(1 for k in keys if k in delivered) >= KILL_AT_FRACTION * len(keys):
                break
            time.sleep(POLL_S / 2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        row = conn.execute(
            "SELECT count(*) FROM notifications WHERE case_id = ANY(%s) AND state = 'queued'"
            " AND claimed_by IS NOT NULL AND next_attempt_at > now()",
            (ids,),
        ).fetchone()
    return int(row[0]) if row else 0


def _outage_phase(stack: ExitStack, run: _Run, args: argparse.Namespace) -> dict[str, Any]:
    proc = _notifier(stack, run, "outage")
    run.receiver.failing = True
    refused_before = run.receiver.refused()
    ids = _intake(run, args.fault_cases, "outage")
    time.sleep(args.outage_s)
    run.receiver.failing = False
    started = time.monotonic()
    cap = notify.BACKOFF_CAP.total_seconds()
    done = _wait_done(run, ids, cap + ARRIVAL_WAIT_S + args.fault_cases)
    recovered = time.monotonic() - started
    _ingest.stop(proc)
    _acknowledge_all(run, ids)
    return {
        "outage_s": args.outage_s,
        "answered_503": run.receiver.refused() - refused_before,
        "recovery_to_all_delivered_s": round(recovered, 1),
        "complete": done,
        **_account(run, ids),
    }
