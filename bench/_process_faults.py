"""`dayuan bench faults` beyond the broker: the product's own processes and its database
failing under traffic, in the production layout, every message and alarm accounted for.

A run owns what `bench._faults` builds (a fresh database on the server of
DAYUAN_DATABASE_URL, a Mosquitto from the generated config, the reference compound,
`dayuan simulate --mode fleet --manifest`) and runs the product as separate processes:
`dayuan gateway` (two with `gateway-dies`, storing only), and `dayuan rules run` for the
compound with `rules-kill`. The faults of a scenario (comma-separated, at `--first-at`
and every `--spacing` seconds):

    gateway-kill   SIGKILL the first gateway, start it again (same gateway id, its session)
    gateway-dies   SIGKILL the second of two gateways for good: the survivor takes its
                   session over after DAYUAN_TAKEOVER_DELAY_S (README "Scale-out")
    db-restart     the gateways' database connections cut, new ones refused, for
                   `DB_DOWN_S`, then accepted again (a TCP proxy between the gateways and
                   PostgreSQL: the server is shared, it is not stopped)
    db-readonly    the server made read-only (`ALTER SYSTEM SET default_transaction_read_only`
                   and a reload: open sessions too) for `DB_DOWN_S`, then writable again;
                   the run's database is then on a private PostgreSQL of its own
    rules-kill     SIGKILL the rules process, start it again
    api-kill       SIGKILL `dayuan api` while `STREAMS` live feeds are open, start it
                   again; the clients reconnect and resume with Last-Event-ID (a rules
                   process runs, to give the feeds alarms and cases to carry)
    term-restart, kill-restart, term, kill   the broker faults of `bench._faults`

With `rules-kill` the simulator also plays SOS presses and falls in distinct flats over
the run. The report adds to `bench._faults`' accounting the duplicated rows, the dead
letters by reason and, when a rules process runs, the alarm evidence: every stored SOS
or fall event should be counted once by exactly one open alarm of its device (rules
`sos` and `fall`), and each such alarm should have opened one case.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
import psycopg

import ingest
import registry
import simulators
from bench import _faults, _ingest, _manifest, _proxy, _streams
from broker import AUTOSAVE_INTERVAL_S, Account, free_port
from dayuan.settings import Settings
from domain import CompoundFile

PROCESS_FAULTS = (
    "gateway-kill",
    "gateway-dies",
    "db-restart",
    "db-readonly",
    "rules-kill",
    "api-kill",
)
FAULTS = PROCESS_FAULTS + _faults.FAULTS
DB_DOWN_S = 10.0  # a database outage: long enough for retries to back off to their cap
RESTART_AFTER_S = 1.0  # a killed process stays down this long (systemd's RestartSec=1)
ALARM_RULES = ("sos", "fall")  # event rules: one alarm per device, every press counted
# The reference compound sends ~160 messages per simulated minute (230,000 a day): at R
# msg/s the simulator covers about R/160 simulated minutes per second of the run.
MESSAGES_PER_SIMULATED_MINUTE = 160.0
INCIDENTS = 24  # SOS presses and falls played in a `rules-kill` run, one flat each
START_LIMIT_S = 60.0  # longest wait for a process to subscribe
STREAMS = 3  # live-feed clients held open through `api-kill`
STREAM_SETTLE_S = 3.0  # the feeds received nothing new this long: they have it all
_LOG_WORTHY = _faults._LOG_WORTHY


@dataclass(frozen=True, slots=True)
class ProcessPlan:
    faults: tuple[str, ...]
    rate: float
    duration_s: float
    first_at_s: float
    spacing_s: float
    takeover_delay_s: float = 10.0  # the product's default (README, DAYUAN_TAKEOVER_DELAY_S)
    db_down_s: float = DB_DOWN_S
    broker: _faults.Plan = field(init=False)

    def __post_init__(self) -> None:
        broker = _faults.Plan(
            faults=(),
            rate=self.rate,
            duration_s=self.duration_s,
            first_at_s=self.first_at_s,
            spacing_s=self.spacing_s,
            autosave_interval=AUTOSAVE_INTERVAL_S,
            autosave_on_changes=False,
            share_group=True,
        )
        object.__setattr__(self, "broker", broker)

    @property
    def gateways(self) -> int:
        return 2 if "gateway-dies" in self.faults else 1

    @property
    def rules(self) -> bool:
        return "rules-kill" in self.faults or self.api

    @property
    def api(self) -> bool:
        return "api-kill" in self.faults


def bench_faults(args: argparse.Namespace, settings: Settings) -> int:
    """Every scenario of the command line: broker-only ones by `bench._faults`, the rest
    here; one JSON list, exit 1 on any loss or duplicate."""
    results = []
    for scenario in args.scenarios:
        faults = tuple(f for f in scenario.split(",") if f and f != "none")
        unknown = [f for f in faults if f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}: expected {', '.join(FAULTS)}")
        for run in range(args.runs):
            keep = args.keep / f"{scenario.replace(',', '+')}-{run}" if args.keep else None
            if any(f in PROCESS_FAULTS for f in faults):
                result = run_process_scenario(_plan(args, faults), settings, keep=keep)
                results.append({"scenario": scenario, "broker": "mosquitto", "run": run, **result})
                print(json.dumps(results[-1]), file=sys.stderr, flush=True)
                continue
            for broker in args.broker or ["mosquitto"]:
                plan = _faults._plan(args, scenario, broker)
                where = keep / broker if keep else None
                result = _faults.run_scenario(plan, settings, keep=where)
                results.append({"scenario": scenario, "broker": broker, "run": run, **result})
                print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    print(json.dumps(results, indent=2))
    return 0 if all(_clean(r) for r in results) else 1


def _clean(result: dict[str, Any]) -> bool:
    alarms = result.get("alarms") or {}
    feeds = result.get("feeds") or {}
    return (
        not feeds.get("missing")
        and not feeds.get("duplicated")
        and result["lost"] == 0
        and not result.get("duplicated")
        and not alarms.get("evidence_missing")
        and not alarms.get("doubled")
    )


def _plan(args: argparse.Namespace, faults: tuple[str, ...]) -> ProcessPlan:
    return ProcessPlan(
        faults=faults,
        rate=args.rate,
        duration_s=args.duration,
        first_at_s=args.first_at,
        spacing_s=args.spacing,
        takeover_delay_s=args.takeover_delay,
        db_down_s=args.db_down,
    )


# --- the processes -----------------------------------------------------------------------


@dataclass(slots=True)
class _Process:
    """One product process, restartable under the same identity."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    ready: str  # the log line that says it is up (or, with `probe`, its first try)
    probe: Callable[[], bool] | None = None  # True once it serves
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    died: list[int] = field(default_factory=list)  # exit codes of exits nobody asked for

    def _up(self, mark: int) -> bool:
        if self.probe is not None:
            return self.probe()
        return self.ready in self.log.read_bytes()[mark:].decode(errors="replace")

    def start(self) -> None:
        mark = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.command, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        self.starts += 1
        deadline = time.monotonic() + START_LIMIT_S
        while not self._up(mark):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        if self.proc is not None:
            self._check()
            self.proc.kill()
            self.proc.wait(30)
            self.proc = None

    def _check(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            self.died.append(self.proc.returncode)

    def stop(self) -> None:
        if self.proc is not None:
            self._check()
            _ingest.stop(self.proc)
            self.proc = None


@dataclass(slots=True)
class _Rig:
    work: Path
    db_url: str  # the bench's own connection, never cut
    admin_url: str  # the server's maintenance database, for db-readonly
    broker: _faults._Broker
    gateways: list[_Process]
    rules: _Process | None
    proxy: _proxy.Proxy | None
    api: _Process | None = None
    struck: list[tuple[str, float]] = field(default_factory=list)
    outages: list[tuple[float, float]] = field(default_factory=list)  # epoch s, fault to back

    def apply(self, fault: str, plan: ProcessPlan) -> None:
        began = time.time()
        self._apply(fault, plan)
        self.outages.append((began, time.time()))

    def _apply(self, fault: str, plan: ProcessPlan) -> None:
        if fault == "gateway-kill":
            self.gateways[0].kill()
            time.sleep(RESTART_AFTER_S)
            self.gateways[0].start()
        elif fault == "gateway-dies":
            self.gateways[-1].kill()
        elif fault in ("rules-kill", "api-kill"):
            process = self.rules if fault == "rules-kill" else self.api
            if process is None:
                raise RuntimeError(f"{fault}: the run has no such process")
            process.kill()
            time.sleep(RESTART_AFTER_S)
            process.start()
        elif fault == "db-restart":
            if self.proxy is None:
                raise RuntimeError("db-restart: the run has no database proxy")
            self.proxy.cut()
            time.sleep(plan.db_down_s)
            self.proxy.restore()
        elif fault == "db-readonly":
            _read_only(self.admin_url, on=True)
            time.sleep(plan.db_down_s)
            _read_only(self.admin_url, on=False)
        elif fault in _faults.BROKER_FAULTS:
            _faults._apply(self.broker, fault)
        else:
            raise ValueError(f"unknown fault {fault!r}: expected {', '.join(FAULTS)}")


def _read_only(admin_url: str, *, on: bool) -> None:
    """The server read-only (or writable again) as an operator does it for maintenance:
    `ALTER SYSTEM` and a reload, which open sessions take up at their next transaction -
    the gateway's pooled connections stay open and are refused their writes."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SET default_transaction_read_only = off")  # this session still writes
        if on:
            conn.execute("ALTER SYSTEM SET default_transaction_read_only = on")
        else:
            conn.execute("ALTER SYSTEM RESET default_transaction_read_only")
        conn.execute("SELECT pg_reload_conf()")


@contextmanager
def _database(settings: Settings, work: Path, plan: ProcessPlan) -> Iterator[tuple[str, str]]:
    """(admin URL, database URL): the run's database on the server of DAYUAN_DATABASE_URL,
    or, for `db-readonly` (which changes the server's configuration), on a private
    PostgreSQL. Its files live outside the run's private directory: the server runs as a
    system user of its own when the bench runs as root."""
    if "db-readonly" not in plan.faults:
        with _ingest.database(settings, work) as url:
            yield url, url
        return
    directory = Path(tempfile.mkdtemp(prefix="dayuan-faults-pg-"))
    directory.chmod(0o755)
    try:
        with ingest.embedded_postgres(directory / "pg", database="faults") as db:
            yield db.admin_url, db.url
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def run_process_scenario(
    plan: ProcessPlan, settings: Settings, *, keep: Path | None = None
) -> dict[str, Any]:
    """One run of `plan`; `keep` is a directory to leave its files in (logs, manifest)."""
    with ExitStack() as stack:
        work = _workdir(stack, keep)
        admin_url, db_url = stack.enter_context(_database(settings, work, plan))
        compound = simulators.generate_compound(seed=0)
        registry.write_compound_file(work / "compound.yaml", compound)
        fleet, backend = Account("faults-fleet", _faults._pw()), _faults._pw()
        broker = _faults._mosquitto(work, compound, plan.broker, fleet, backend)
        broker.start()
        stack.callback(broker.stop, signal.SIGTERM)
        _faults._prepare(db_url, compound)
        proxy = stack.enter_context(_db_proxy(db_url)) if _cuts_db(plan) else None
        gateway_url = _via(db_url, proxy.port) if proxy else db_url
        env = _env(backend, broker.port, plan)
        gateways = [
            _gateway(work, gateway_url, env, index) for index in range(1, plan.gateways + 1)
        ]
        rules = _rules(work, db_url, env, compound) if plan.rules else None
        for process in [*gateways, *([rules] if rules else [])]:
            process.start()
            stack.callback(process.stop)
        rig = _Rig(work, db_url, admin_url, broker, gateways, rules, proxy)
        streams = _api(stack, rig, env) if plan.api else None
        scenario = _incidents(work, compound, plan) if plan.rules else None
        wall, began = _traffic(rig, fleet, plan, scenario)
        _drain(db_url, settle_s=max(_faults.SETTLE_S, plan.takeover_delay_s + 5))
        feeds = _feeds(streams, db_url) if streams else None
        for process in _processes(rig):
            process.stop()
        return {**_report(rig, plan, wall, began, proxy), "feeds": feeds}


def _workdir(stack: ExitStack, keep: Path | None) -> Path:
    if keep is None:
        return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dayuan-faults-")))
    keep.mkdir(parents=True, exist_ok=True)
    return keep


def _cuts_db(plan: ProcessPlan) -> bool:
    return "db-restart" in plan.faults


@contextmanager
def _db_proxy(db_url: str) -> Iterator[_proxy.Proxy]:
    info = psycopg.conninfo.conninfo_to_dict(db_url)
    host, port = str(info.get("host") or "127.0.0.1"), int(info.get("port") or 5432)
    target = f"{host}/.s.PGSQL.{port}" if host.startswith("/") else (host, port)
    with _proxy.running(target, free_port()) as proxy:
        yield proxy


def _via(db_url: str, port: int) -> str:
    info = psycopg.conninfo.conninfo_to_dict(db_url)
    return psycopg.conninfo.make_conninfo(**{**info, "host": "127.0.0.1", "port": str(port)})  # type: ignore[arg-type]


def _env(backend: str, port: int, plan: ProcessPlan) -> dict[str, str]:
    return {
        **os.environ,
        "DAYUAN_MQTT_URL": f"mqtt://127.0.0.1:{port}",
        "DAYUAN_BACKEND_PASSWORD": backend,
        "DAYUAN_RULES_ENABLED": "false",
        "DAYUAN_SHARE_GROUP": "dayuan",
        "DAYUAN_TAKEOVER_DELAY_S": str(plan.takeover_delay_s),
        "DAYUAN_STATS_INTERVAL_S": "5",
        "DAYUAN_LOG_LEVEL": "INFO",
    }


def _gateway(work: Path, db_url: str, env: dict[str, str], index: int) -> _Process:
    return _Process(
        name=f"gateway faults-{index}",
        command=[sys.executable, "-m", "dayuan.cli", "gateway"],
        env={**env, "DAYUAN_DATABASE_URL": db_url, "DAYUAN_GATEWAY_ID": f"faults-{index}"},
        log=work / f"gateway-{index}.log",
        ready="subscribed",
    )


def _rules(work: Path, db_url: str, env: dict[str, str], compound: CompoundFile) -> _Process:
    ids = ",".join(c.id for c in compound.compounds)
    return _Process(
        name="rules",
        command=[sys.executable, "-m", "dayuan.cli", "rules", "run"],
        env={
            **env,
            "DAYUAN_DATABASE_URL": db_url,
            "DAYUAN_GATEWAY_ID": "faults-rules",
            "DAYUAN_COMPOUNDS": ids,
        },
        log=work / "rules.log",
        ready="subscribed",
    )


def _api(stack: ExitStack, rig: _Rig, env: dict[str, str]) -> _streams.Clients:
    """`dayuan api` as a process, and the live-feed clients on it."""
    port, password = free_port(), _faults._pw()
    base = f"http://127.0.0.1:{port}"
    api = _Process(
        name="api",
        command=[sys.executable, "-m", "dayuan.cli", "api"],
        env={
            **env,
            "DAYUAN_DATABASE_URL": rig.db_url,
            "DAYUAN_API_HOST": "127.0.0.1",
            "DAYUAN_API_PORT": str(port),
            "DAYUAN_ADMIN_PASSWORD": password,
            "DAYUAN_TOKEN_SECRET": _faults._pw() + _faults._pw(),
        },
        log=rig.work / "api.log",
        ready="",
        probe=lambda: _serves(base),
    )
    api.start()
    stack.callback(api.stop)
    rig.api = api
    clients = _streams.Clients(base, "admin", password, STREAMS)
    clients.start(START_LIMIT_S)
    stack.callback(clients.stop)
    return clients


def _serves(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _feeds(clients: _streams.Clients, db_url: str) -> dict[str, Any]:
    """Each client's events against the feed's rows since it first connected."""
    _faults._wait_settled(lambda _: clients.settled(), db_url, STREAM_SETTLE_S)
    clients.stop()
    out: dict[str, Any] = {"clients": []}
    with psycopg.connect(db_url) as conn:
        for client in clients.clients:
            alarm0, case0 = (int(x) for x in (client.started_at or "0.0").split("."))
            expected = {
                "alarm": _count(conn, _FEED_ALARMS, {"after": alarm0}),
                "case": _count(conn, _FEED_CASES, {"after": case0}),
            }
            got = client.account()
            distinct = Counter(event for event, _ in set(client.seen))
            missing = {k: n - distinct.get(k, 0) for k, n in expected.items()}
            out["clients"].append({**got, "expected": expected, "missing": missing})
    out["missing"] = sum(sum(c["missing"].values()) for c in out["clients"])
    out["duplicated"] = sum(c["duplicated"] for c in out["clients"])
    return out


_FEED_ALARMS = "SELECT count(*) FROM alarm_feed WHERE id > %(after)s"
_FEED_CASES = "SELECT count(*) FROM case_events WHERE id > %(after)s"


def _incidents(work: Path, compound: CompoundFile, plan: ProcessPlan) -> Path:
    """A scenario of SOS presses and falls, one flat each, spread over four fifths of the
    simulated time the run will cover (estimated from its rate and length), so that
    they come before the faults, while they last and between them."""
    span_min = plan.duration_s * plan.rate / MESSAGES_PER_SIMULATED_MINUTE
    models = {"sos_pendant": "sos", "fall_detector": "fall"}
    picks = [
        (d.address, models[d.model or ""])
        for c in compound.compounds
        for d in c.devices
        if (d.model or "") in models and d.address
    ][:INCIDENTS]
    step = max(span_min * 0.8 / max(len(picks), 1), 0.5)
    lines = ["format: dayuan.scenario/1", "name: faults-alarms", "schedule:"]
    for index, (flat, kind) in enumerate(picks):
        extra = ", lying: 5m" if kind == "fall" else ""
        minutes = 1 + index * step
        lines.append(f'  - {{at: "+{int(minutes * 60)}s", type: {kind}, flat: {flat}{extra}}}')
    path = work / "incidents.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _traffic(
    rig: _Rig, fleet: Account, plan: ProcessPlan, scenario: Path | None
) -> tuple[float, float]:
    """The simulator for the plan's duration, the faults at their offsets; returns the
    run's length and when it began (epoch seconds)."""
    url = f"mqtt://{fleet.username}:{fleet.password}@127.0.0.1:{rig.broker.port}"
    work = rig.work
    command = [sys.executable, "-m", "dayuan.cli", "simulate", "--compound"]
    command += [str(work / "compound.yaml"), "--mode", "fleet", "--rate", str(plan.rate)]
    command += ["--mqtt-url", url, "--manifest", str(work / "m.jsonl"), "--no-spontaneous"]
    command += ["--scenario", str(scenario)] if scenario else []
    with (work / "simulate.log").open("wb") as out:
        sim = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        started, began = _faulted(rig, plan, sim)
    finally:
        if sim.poll() is None:  # a fault failed: the simulator must not outlive the run
            sim.kill()
            sim.wait(30)
    return time.monotonic() - started, began


def _faulted(rig: _Rig, plan: ProcessPlan, sim: subprocess.Popen[bytes]) -> tuple[float, float]:
    """The faults at their offsets while `sim` runs, then its clean end; returns when the
    simulator began (monotonic and epoch seconds)."""
    deadline = time.monotonic() + 120
    while not (rig.work / "m.jsonl").exists():
        if sim.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"the simulator did not start: {(rig.work / 'simulate.log').read_text()}"
            )
        time.sleep(0.05)
    started, began = time.monotonic(), time.time()
    for index, fault in enumerate(plan.faults):
        _faults._sleep_until(started + plan.first_at_s + index * plan.spacing_s)
        rig.struck.append((fault, round(time.monotonic() - started, 2)))
        rig.apply(fault, plan)
    _faults._sleep_until(started + plan.duration_s)
    sim.send_signal(signal.SIGINT)  # ends cleanly: last acks awaited, manifest written
    sim.wait(120)
    return started, began


_PROGRESS = (
    "SELECT (SELECT coalesce(sum(messages), 0) FROM device_state),"
    " (SELECT count(*) FROM alarm_triggers), (SELECT count(*) FROM cases)"
)


def _drain(db_url: str, *, settle_s: float) -> None:
    """Wait until storage, alarm evidence and cases have not moved for `settle_s`."""
    _faults._wait_settled(lambda conn: conn.execute(_PROGRESS).fetchone(), db_url, settle_s)


# --- the account -------------------------------------------------------------------------

_DUPLICATED = """
SELECT (SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM telemetry
        WHERE seq >= 0 GROUP BY device_id, seq, key HAVING count(*) > 1) t)
     + (SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM events
        WHERE seq >= 0 GROUP BY device_id, seq HAVING count(*) > 1) e)
     + (SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM access_events
        WHERE seq >= 0 GROUP BY device_id, seq HAVING count(*) > 1) a)
"""
_EVIDENCE = """
SELECT e.device_id, e.type, e.ts, e.seq, extract(epoch FROM e.received_at) FROM events e
WHERE e.type = ANY(%(rules)s) AND e.channel = 'event'
"""
_ALARMS = """
SELECT a.id, a.rule_id, a.device_id, a.count, a.fingerprint,
       (SELECT count(*) FROM alarm_triggers t WHERE t.fingerprint = a.fingerprint),
       (SELECT count(*) FROM cases c WHERE c.fingerprint = a.fingerprint
                                      AND c.source = 'alarm')
FROM alarms a WHERE a.rule_id = ANY(%(rules)s)
"""


def _report(
    rig: _Rig, plan: ProcessPlan, wall: float, began: float, proxy: _proxy.Proxy | None
) -> dict[str, Any]:
    manifest = simulators.read_manifest(rig.work / "m.jsonl")
    summary = manifest.summary or {}
    with psycopg.connect(rig.db_url) as conn:
        account = _manifest.account(conn, manifest)
        duplicated = _count(conn, _DUPLICATED, {})
        dead: dict[Any, Any] = dict(
            conn.execute("SELECT reason, count(*) FROM dead_letters GROUP BY 1").fetchall()
        )
        alarms = _alarms(conn, rig.outages) if rig.rules else None
    return {
        "plan": {k: v for k, v in asdict(plan).items() if k not in ("faults", "broker")},
        "faults_at_s": rig.struck,
        "wall_s": round(wall, 1),
        "sent": summary.get("objects"),
        "publishes": summary.get("messages"),
        "acknowledged_by_broker": summary.get("acknowledged"),
        "acknowledged_to_no_subscriber": summary.get("no_subscribers"),
        "expected": account.expected,
        "stored": account.stored,
        "lost": account.lost,
        "duplicated": duplicated,
        "unexpected": account.unexpected,
        "dead_letters": {str(k): int(v) for k, v in dead.items()},
        "lost_sample": account.lost_sample[:5],
        "alarms": alarms,
        "database_connections_via_proxy": proxy.connections if proxy else None,
        "processes": {p.name: _log(p) for p in _processes(rig)},
    }


def _processes(rig: _Rig) -> list[_Process]:
    return [*rig.gateways, *([rig.rules] if rig.rules else []), *([rig.api] if rig.api else [])]


def _count(conn: psycopg.Connection[Any], query: str, params: dict[str, Any]) -> int:
    row = conn.execute(query, params).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _alarms(conn: psycopg.Connection[Any], outages: list[tuple[float, float]]) -> dict[str, Any]:
    """Stored SOS/fall events against the alarms and cases of rules `sos` and `fall`.

    Each such event is evidence of its device's one alarm (a quiet period of 30 min
    and no clearing during a run: one alarm per device and rule), counted once."""
    rules = list(ALARM_RULES)
    evidence = conn.execute(_EVIDENCE, {"rules": rules}).fetchall()
    alarms = conn.execute(_ALARMS, {"rules": rules}).fetchall()
    subjects = {(str(row[0]), str(row[1])) for row in evidence}
    raised = {(str(device), str(rule)) for _, rule, device, *_ in alarms}
    per_subject = len(alarms) - len(raised)
    counted = sum(int(row[3]) for row in alarms)
    arrivals = [float(row[4]) for row in evidence]
    during = sum(1 for t in arrivals if any(a <= t <= b for a, b in outages))
    before = sum(1 for t in arrivals if outages and t < outages[0][0])
    triggers = {str(t) for (t,) in conn.execute("SELECT trigger FROM alarm_triggers")}
    uncounted = [row for row in evidence if _trigger(row) not in triggers]
    return {
        "evidence_stored": len(evidence),
        "evidence_uncounted_sample": [
            {"device": str(r[0]), "type": str(r[1]), "ts": r[2].isoformat(), "seq": int(r[3])}
            for r in uncounted[:5]
        ],
        "evidence_before_first_fault": before,
        "evidence_during_faults": during,  # arrived (at the gateway) while the fault lasted
        "evidence_after_first_fault": len(evidence) - before - during,
        "evidence_counted": counted,
        "evidence_missing": max(0, len(evidence) - counted),
        "alarms_expected": len(subjects),
        "alarms_raised": len(alarms),
        "alarms_missing": len(subjects - raised),
        "doubled": per_subject + max(0, counted - len(evidence)),
        "cases_opened": sum(int(row[6]) for row in alarms),
        "alarms_without_case": sum(1 for row in alarms if int(row[6]) == 0),
        "alarms_with_several_cases": sum(1 for row in alarms if int(row[6]) > 1),
    }


_COUNTERS = ("received", "stored", "retries", "takeovers", "adopted")  # its last stats line


def _trigger(row: tuple[Any, ...]) -> str:
    """The rules' identity of an event (rules' `EventItem.trigger`): device|ts|seq|type."""
    device, kind, ts, seq = row[0], row[1], row[2], row[3]
    return f"{device}|{ts.astimezone(UTC).isoformat()}|{seq}|{kind}"


def _log(process: _Process) -> dict[str, Any]:
    lines = process.log.read_text(errors="replace").splitlines() if process.log.exists() else []
    stats = [line for line in lines if "received=" in line]
    return {
        "starts": process.starts,
        "died": process.died,
        **{name: _faults._stat(stats, name) for name in _COUNTERS},
        "log": [line[-160:] for line in lines if _LOG_WORTHY.search(line)][-12:],
        "errors": [line[-200:] for line in lines if "Traceback" in line or "ERROR" in line][-5:],
    }
