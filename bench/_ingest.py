"""`dayuan bench ingest`: sustained end-to-end ingest against the broker's own ceiling.

Everything runs on this machine and belongs to this run: a private Mosquitto (the
project's generated config, persistence off), a fresh database (on the server of
DAYUAN_DATABASE_URL, or an embedded one), and `dayuan gateway` processes. The load
generator is the C `mosquitto_pub -l`, several processes at once, so that Python is
not the bottleneck of the load. Two phases, same broker, same load:

1. baseline: the publishers into a C `mosquitto_sub` that only counts - the ceiling;
2. end to end: the publishers into the gateway(s), until every message is committed.

Loss and duplication are counted by `seq` in the database. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

import ingest
import registry
from broker import (
    Account,
    BackendRole,
    DeviceEntry,
    backend_account,
    free_port,
    mosquitto,
    write_config,
)
from dayuan import wiring
from dayuan.settings import Settings
from domain import Compound, CompoundFile, Device, Kind, Topic

# mosquitto_pub -l stops early past 65,535 lines at QoS 1 (packet id wrap, measured):
# publishers are fed at most this many lines each.
LINES_PER_PUBLISHER = 25_000
# In-flight window of each C publisher: enough to keep the broker busy.
PUBLISHER_INFLIGHT = 1000
POLL_S = 0.05  # how often the end-to-end phase looks at the committed count
SUBSCRIBE_WAIT_S = 60.0  # a gateway not subscribed by then (schema, rules loaded) failed
COMPOUND = "bench"


def bench_ingest(args: argparse.Namespace, settings: Settings) -> int:
    publishers = max(args.publishers, -(-args.messages // LINES_PER_PUBLISHER))
    per = args.messages // publishers
    total = per * publishers
    devices = [f"bench-{i}" for i in range(publishers)]
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dayuan-bench-")))
        db_url = stack.enter_context(database(settings, work))
        broker = _start_broker(stack, work, devices)
        files = _load_files(work, devices, per)
        payload_bytes = _payload_size(files[0][1])
        baseline = _baseline(broker, files, total)
        result = _end_to_end(stack, settings, db_url, broker, files, total, args.gateways, work)
    print(
        json.dumps(
            {
                "benchmark": "ingest",
                "messages": total,
                "publishers": publishers,
                "gateways": args.gateways,
                "rules_in_gateway": settings.rules_enabled,
                "payload_bytes": payload_bytes,
                "values_per_message": 5,
                "baseline_msgs_per_s": round(baseline),
                **result,
                "ratio_to_baseline": round(result["msgs_per_s"] / baseline, 3)
                if baseline
                else None,
                "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            },
            indent=2,
        )
    )
    return 0 if result["lost"] == 0 else 1


class _Broker:
    def __init__(self, port: int, fleet: Account, secret: str) -> None:
        self.port, self.fleet, self.secret = port, fleet, secret
        # The baseline subscriber reads as a gateway does.
        self.backend = backend_account(BackendRole.GATEWAY, secret)


def _start_broker(stack: ExitStack, work: Path, devices: list[str]) -> _Broker:
    port = free_port()
    fleet = Account("bench-fleet", uuid.uuid4().hex)
    secret = uuid.uuid4().hex
    entries = [DeviceEntry(d, COMPOUND, Kind.LIGHT) for d in devices]
    conf = write_config(
        work / "mosquitto",
        entries,
        device_secret=uuid.uuid4().hex,
        backend_secret=secret,
        fleet=fleet,
        host="127.0.0.1",
        port=port,
        embedded=True,
    )
    text = conf.read_text().replace("persistence true", "persistence false")
    conf.write_text(text)
    stack.enter_context(mosquitto(conf, "127.0.0.1", port))
    return _Broker(port, fleet, secret)


def database(settings: Settings, work: Path) -> Any:
    import contextlib

    @contextlib.contextmanager
    def fresh() -> Any:
        if settings.database_url is None:
            with ingest.embedded_postgres(work / "pg", database="bench") as db:
                yield db.url
            return
        with scratch_database(settings, prefix="dayuan_bench") as url:
            yield url

    return fresh()


@contextmanager
def scratch_database(
    settings: Settings, *, prefix: str, migrate: str | None = None
) -> Iterator[str]:
    """A database of its own on DAYUAN_DATABASE_URL's server (migrated in storage mode
    `migrate` when given), dropped afterwards."""
    if settings.database_url is None:
        raise RuntimeError("set DAYUAN_DATABASE_URL to the server to measure on")
    info = psycopg.conninfo.conninfo_to_dict(settings.database_url)
    admin = psycopg.conninfo.make_conninfo(**{**info, "dbname": "postgres"})  # type: ignore[arg-type]
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = psycopg.conninfo.make_conninfo(**{**info, "dbname": name})  # type: ignore[arg-type]
        if migrate is not None:
            with psycopg.connect(url, autocommit=True) as conn:
                ingest.upgrade(conn, packages=wiring.SCHEMA, requested=migrate)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _load_files(work: Path, devices: list[str], per: int) -> list[tuple[str, Path]]:
    start = int(datetime.now(UTC).timestamp() * 1000) - per * 10
    files = []
    for device in devices:
        path = work / f"{device}.jsonl"
        with path.open("w") as out:
            for seq in range(per):
                dim = 100 if seq % 2 else 50
                out.write(
                    f'{{"ts":{start + seq * 10},"seq":{seq},"values":{{"power_w":{0.6 * dim:.1f},'
                    f'"voltage_v":220.4,"current_a":{0.0028 * dim:.4f},"lux":{seq % 400},'
                    f'"dim_level":{dim}}}}}\n'
                )
        files.append((str(Topic(COMPOUND, Kind.LIGHT, device, _telemetry())), path))
    return files


def _telemetry() -> Any:
    from domain import Channel

    return Channel.TELEMETRY


def _payload_size(path: Path) -> int:
    with path.open() as f:
        return len(f.readline().strip())


def _publish(broker: _Broker, files: list[tuple[str, Path]]) -> list[subprocess.Popen[bytes]]:
    procs = []
    for topic, path in files:
        with path.open("rb") as source:
            procs.append(
                subprocess.Popen(
                    publisher_command(broker, topic),
                    stdin=source,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )
    return procs


def publisher_command(broker: _Broker, topic: str) -> list[str]:
    """A C `mosquitto_pub -l`: one QoS 1 message per line of its stdin, on `topic`."""
    return [
        "mosquitto_pub",
        "-h",
        "127.0.0.1",
        "-p",
        str(broker.port),
        "-V",
        "5",
        "-u",
        broker.fleet.username,
        "-P",
        broker.fleet.password,
        "-q",
        "1",
        "-M",
        str(PUBLISHER_INFLIGHT),
        "-t",
        topic,
        "-l",
    ]


def _baseline(broker: _Broker, files: list[tuple[str, Path]], total: int) -> float:
    sub = subprocess.Popen(
        [
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            str(broker.port),
            "-V",
            "5",
            "-q",
            "1",
            "-u",
            broker.backend.username,
            "-P",
            broker.backend.password,
            "-t",
            "dayuan/v1/#",
            "-C",
            str(total),
            "-W",
            "300",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(0.5)  # let the subscriber's SUBACK land before the clock starts
    started = time.perf_counter()
    for proc in _publish(broker, files):
        proc.wait()
    sub.wait()
    elapsed = time.perf_counter() - started
    return total / elapsed if sub.returncode == 0 else 0.0


def _end_to_end(
    stack: ExitStack,
    settings: Settings,
    db_url: str,
    broker: _Broker,
    files: list[tuple[str, Path]],
    total: int,
    gateways: int,
    work: Path,
) -> dict[str, Any]:
    with psycopg.connect(db_url) as conn:
        mode = ingest.upgrade(conn, packages=wiring.SCHEMA, requested=settings.storage)
    compounds = CompoundFile(
        compounds=[
            Compound(
                id=COMPOUND,
                name="Benchmark compound",
                lat=30.27,
                lon=120.16,
                devices=[
                    Device(id=topic.split("/")[4], kind=Kind.LIGHT, model="led_light")
                    for topic, _ in files
                ],
            )
        ]
    )
    with psycopg.connect(db_url) as conn:
        registry.load(conn, compounds, actor="bench", now=datetime.now(UTC))
    procs = [_start_gateway(stack, db_url, broker, i, work) for i in range(gateways)]
    cpu_before = [cpu_seconds(p.pid) for p in procs]
    started = time.perf_counter()
    publishers = _publish(broker, files)
    committed, elapsed = _wait_committed(db_url, total, started)
    for proc in publishers:
        proc.wait()
    for index in range(gateways):  # the gateways' own counters, for the reader of stderr
        lines = (work / f"gateway-{index}.log").read_text().splitlines()
        print(*[f"gateway-{index}: {line}" for line in lines[-3:]], sep="\n", file=sys.stderr)
    cpu = sum(cpu_seconds(p.pid) - c for p, c in zip(procs, cpu_before, strict=True))
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT (device_id, seq)) FROM telemetry WHERE key = 'power_w'"
        ).fetchone()
        rows = conn.execute("SELECT count(*) FROM telemetry").fetchone()
    if row is None or rows is None:
        raise RuntimeError("the benchmark database returned no counts")
    return {
        "storage": mode.value,
        "msgs_per_s": round(committed / elapsed),
        "rows_per_s": round(int(rows[0]) / elapsed),
        "seconds": round(elapsed, 2),
        "lost": total - int(row[1]),
        "duplicated": int(row[0]) - int(row[1]),
        "gateway_cpu_percent": round(100 * cpu / elapsed, 1),
    }


def _start_gateway(
    stack: ExitStack, db_url: str, broker: _Broker, index: int, work: Path
) -> subprocess.Popen[bytes]:
    """`dayuan gateway` number `index`, returned once it has subscribed."""
    env = {
        **os.environ,
        "DAYUAN_DATABASE_URL": db_url,
        "DAYUAN_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}",
        "DAYUAN_BACKEND_PASSWORD": broker.secret,
        "DAYUAN_GATEWAY_ID": f"bench-{index}",
        "DAYUAN_STATS_INTERVAL_S": "5",
        "DAYUAN_LOG_LEVEL": "INFO",  # its "subscribed" line and its counters
    }
    log = work / f"gateway-{index}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dayuan.cli", "gateway"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    stack.callback(stop, proc)
    _wait_subscribed(log, proc)
    return proc


def _wait_subscribed(log: Path, proc: subprocess.Popen[bytes]) -> None:
    # Subscribed, not merely connected: a new session queues nothing before its SUBSCRIBE,
    # and on a busy machine the rules load for seconds between the two.
    deadline = time.monotonic() + SUBSCRIBE_WAIT_S
    while "subscribed" not in log.read_text():
        if proc.poll() is not None:
            raise RuntimeError(f"a gateway exited during start-up: {log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"a gateway did not subscribe within {SUBSCRIBE_WAIT_S:.0f} s")
        time.sleep(POLL_S)


def _wait_committed(db_url: str, total: int, started: float) -> tuple[int, float]:
    deadline = started + max(120.0, total / 1000)
    committed = 0
    with psycopg.connect(db_url, autocommit=True) as conn:
        while time.perf_counter() < deadline:
            row = conn.execute("SELECT coalesce(sum(messages), 0) FROM device_state").fetchone()
            committed = int(row[0]) if row else 0
            if committed >= total:
                break
            time.sleep(POLL_S)
    return committed, time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
