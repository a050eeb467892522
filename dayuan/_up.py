"""`dayuan up`: the whole product on one machine, with a simulated compound.

With no URLs configured it starts an embedded PostgreSQL (data in DAYUAN_DATA_DIR/pg,
kept across restarts) and an embedded broker (Mosquitto with the generated password
file and ACL when it is installed, else amqtt); then it migrates, loads the demo
compound, runs the gateway and plays the compound's recent past accelerated, then live.

A restart on the same data resumes (`dayuan._resume`): it replays only what is not yet
stored and raises no past incident again; the supervisor escalates only deadlines that
pass after this start (`cases.Supervisor`'s `watch_from`), so replayed cases are not
all escalated in the first pass. The banner says how to log in, every start.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import secrets
import threading
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg_pool import ConnectionPool

import api
import broker
import cases
import ingest
import monitoring
import registry
import simulators
from dayuan import _resume, wiring
from dayuan._commands import settle_heap
from dayuan._signals import stop_on_signals
from dayuan.settings import Settings, public_url
from domain import CompoundFile, Kind, SystemClock
from gateway import Gateway

log = logging.getLogger("dayuan")

DEMO_SEED = 1  # the demo compound is the same on every machine
SIM_SEED = 0  # and so is its life: the same cars, the same everyday traffic
PROGRESS_INTERVAL_S = 10.0  # how often `up` prints what has landed
SUPERVISOR_INTERVAL_S = 5.0  # SOS has 60 s to be acknowledged: look well within that
ADMIN_PASSWORD_FILE = "admin-password"  # noqa: S105 - a file name in the data dir (0600)


def up(args: argparse.Namespace, settings: Settings) -> int:
    stop = stop_on_signals()
    data = settings.data_dir.resolve()
    data.mkdir(parents=True, exist_ok=True)
    started = SystemClock().now()
    with ExitStack() as stack:
        url = _database(stack, settings, data)
        wiring.upgrade(url, settings.storage)
        demo = _demo_compound(data)
        with psycopg.connect(url) as conn:
            loaded = registry.load(conn, demo, actor="dayuan up", now=started)
            login = _login(conn, settings, data, now=started)
            history = _resume.plan(
                conn, demo, now=started, history=timedelta(hours=args.history_hours)
            )
        with psycopg.connect(url, autocommit=True) as cars:
            _register_cars(cars, demo, now=started)
        log.info("demo registry: %d added, %d changed", loaded.added, loaded.changed)
        mqtt_as, target = _broker_for(stack, settings, data, demo)
        mqtt = mqtt_as(broker.BackendRole.GATEWAY)
        db = stack.enter_context(wiring.pool(url))
        workflow = stack.enter_context(
            wiring.case_workflow(settings, mqtt_as(broker.BackendRole.CASES))
        )
        latency = monitoring.AlarmLatency()
        sink = wiring.FanOut(cases.AlarmsToCases(db, workflow), latency)
        engine = stack.enter_context(wiring.rule_engine(settings, db, sink=sink))
        gw = stack.enter_context(wiring.gateway(settings, db, mqtt, engine=engine))
        upkeep = stack.enter_context(
            wiring.maintenance(db, interval_s=settings.maintenance_interval_s)
        )
        # One key for the API's tokens and the notifier's links (random per start when
        # DAYUAN_TOKEN_SECRET is unset, as before): both run in this process.
        key = settings.token_secret.get_secret_value() if settings.token_secret else None
        key = key or secrets.token_urlsafe(48)
        app = api.create_app(
            _api_config(settings, url, mqtt_as, key),
            gateway_metrics=gw.metrics,
            engine_metrics=engine.metrics if engine else None,
            alarm_latency=latency,
            maintenance=upkeep,
        )
        address = stack.enter_context(
            api.running(app, host=settings.api_host, port=settings.api_port)
        )
        stack.enter_context(
            wiring.supervisor(db, workflow, interval_s=SUPERVISOR_INTERVAL_S, watch_from=started)
        )
        stack.enter_context(wiring.notifier(settings, db, link_secret=key))
        settle_heap()
        _simulate(stack, demo, target, args.speed, history)
        _banner(url, mqtt, data, args.speed, address, login, history, _try_sos(demo, target, data))
        _watch(stop, gw, db)
    return 0


def _database(stack: ExitStack, settings: Settings, data: Path) -> str:
    if settings.database_url:
        return settings.database_url
    db = stack.enter_context(ingest.embedded_postgres(data / "pg"))
    log.info("embedded PostgreSQL in %s", data / "pg")
    return db.url


def _demo_compound(data: Path) -> CompoundFile:
    path = data / "demo-compound.yaml"
    if not path.exists():
        registry.write_compound_file(path, simulators.generate_compound(seed=DEMO_SEED))
        log.info("generated the demo compound: %s", path)
    return registry.read_compound_file(path)


Accounts = Callable[[broker.BackendRole], broker.MqttEndpoint]


def _register_cars(conn: psycopg.Connection[Any], demo: CompoundFile, *, now: datetime) -> None:
    """The demo households register the simulated lot's resident cars (the simulation's
    seed), once: the unknown-plate overstay rule then raises for
    visitors only, as in a compound whose residents registered their cars."""
    for compound in demo.compounds:
        flats = sorted(h.flat for h in compound.households)
        if not flats or registry.vehicles(conn, compound.id):
            continue
        cars = {p for c, p in simulators.resident_cars(demo, seed=SIM_SEED) if c == compound.id}
        for n, plate in enumerate(sorted(cars)):
            try:
                registry.add_vehicle(
                    conn, compound.id, flats[n % len(flats)], plate, actor="dayuan up", now=now
                )
            except (registry.PlateTaken, registry.ValueRefused):
                continue  # a plate drawn twice, or not one the registry takes
        log.info("demo registry: %d resident cars registered in %s", len(cars), compound.id)


def _broker_for(
    stack: ExitStack, settings: Settings, data: Path, demo: CompoundFile
) -> tuple[Accounts, simulators.MqttTarget]:
    """The broker as each backend connection meets it (its role's account), and the
    simulator's target."""
    secret = settings.device_secret.get_secret_value()
    outside = settings.mqtt_as(broker.BackendRole.GATEWAY)
    if outside is not None:
        # An outside broker knows the devices by their own credentials (`dayuan broker config`).
        target = simulators.MqttTarget(outside.as_user(None, None), device_secret=secret)
        return (lambda role: settings.endpoint_for(str(settings.mqtt_url), role)), target
    port = _port(settings.embedded_mqtt_port)
    if broker.mosquitto_binary() is None:
        log.warning("mosquitto is not installed: embedded amqtt (MQTT 3.1.1, no auth, no $share)")
        stack.enter_context(broker.amqtt_broker("127.0.0.1", port))
        anonymous = broker.MqttEndpoint("127.0.0.1", port, protocol=4)
        return (lambda role: anonymous), simulators.MqttTarget(anonymous)
    fleet = broker.Account("dayuan-fleet", _fleet_password(data))
    backend = settings.backend_password.get_secret_value()
    devices = [
        broker.DeviceEntry(d.id, c.id, Kind(d.kind)) for c in demo.compounds for d in c.devices
    ]
    conf = broker.write_config(
        data / "mosquitto",
        devices,
        device_secret=secret,
        backend_secret=backend,
        fleet=fleet,
        host="127.0.0.1",
        port=port,
        embedded=True,
    )
    stack.enter_context(broker.mosquitto(conf, "127.0.0.1", port))
    plain = broker.MqttEndpoint("127.0.0.1", port)

    def accounts(role: broker.BackendRole) -> broker.MqttEndpoint:
        account = broker.backend_account(role, backend)
        return plain.as_user(account.username, account.password)

    return accounts, simulators.MqttTarget(plain.as_user(fleet.username, fleet.password))


def _port(wanted: int) -> int:
    with contextlib.suppress(OSError):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", wanted))
            return wanted
    free = broker.free_port()
    log.warning("port %d is taken: the embedded broker listens on %d", wanted, free)
    return free


def _fleet_password(data: Path) -> str:
    path = data / "fleet-password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


class _Simulator:
    def __init__(self) -> None:
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.report: simulators.SimulationReport | None = None


def _simulate(
    stack: ExitStack,
    registry: CompoundFile,
    target: simulators.MqttTarget,
    speed: float,
    history: _resume.History,
) -> _Simulator:
    """Play `history` at `speed` (device clocks stay in the past, so nothing is refused
    as clock skew), with the demo's incidents on a first start, then carry on live."""
    sim = _Simulator()
    clock = SystemClock()
    mode: Literal["fleet", "realistic"] = "fleet" if target.username else "realistic"
    scenario = simulators.load_scenario(simulators.UP_SCENARIO) if history.first else None

    now = clock.now()
    start = history.start if history.duration else now
    meets = simulators.Pacer(start, speed=speed, rate=None, present=now).meets or 0.0
    caught_up = threading.Timer(
        meets, log.info, ("caught up with the present: the simulated compound now runs live",)
    )
    caught_up.daemon = True

    def run() -> None:
        try:
            # One simulation from the history's start, its past at `speed` and live from
            # the present on: devices carry their state over (a door opened in the last
            # second of the past closes in the first of the present).
            sim.report = simulators.run_simulation(
                registry,
                target=target,
                start=start,
                speed=speed,
                mode=mode,
                scenario=scenario,
                stop=sim.stop,
                seed=SIM_SEED,
                catch_up=now,
            )
        except Exception as exc:  # reported in the log; the product keeps running
            sim.error = exc
            log.error("the simulator stopped: %s", exc)

    thread = threading.Thread(target=run, name="simulator", daemon=True)
    thread.start()
    caught_up.start()

    def finish() -> None:
        caught_up.cancel()
        sim.stop.set()
        thread.join(30)

    stack.callback(finish)
    return sim


def _api_config(settings: Settings, url: str, mqtt_as: Accounts, secret: str) -> api.ApiConfig:
    admin = settings.admin_password.get_secret_value() if settings.admin_password else None
    return api.ApiConfig(
        database_url=url,
        mqtt=mqtt_as(broker.BackendRole.API),
        case_mqtt=mqtt_as(broker.BackendRole.CASES),
        accounts_mqtt=_accounts_role(settings, mqtt_as),
        device_secret=settings.device_secret.get_secret_value(),
        env=settings.env,
        token_secret=secret,
        token_ttl_s=settings.token_ttl_s,
        trusted_proxies=api.parse_networks(settings.trusted_proxies),
        admin_password=admin,
        command_ack_timeout_s=settings.command_ack_timeout_s,
        streams_per_user=settings.streams_per_user,
        silence_factor=settings.silence_factor,
        metrics_token=settings.metrics_token.get_secret_value() if settings.metrics_token else None,
        public_url=public_url(settings),
        ack_link_ttl_s=settings.ack_link_ttl_s,
        rules_file=settings.rules_file,
        open311_services=tuple(
            c.strip() for c in settings.open311_services.split(",") if c.strip()
        ),
        announce_poll_s=settings.announce_poll_s,
        parking_sweep_s=settings.parking_sweep_s,
        webhook_secret=(
            settings.notify_webhook_secret.get_secret_value()
            if settings.notify_webhook_secret
            else None
        ),
        resident_channel=settings.resident_channel,
        resident_token_ttl_s=settings.resident_token_ttl_s,
    )


def _accounts_role(settings: Settings, mqtt_as: Accounts) -> broker.MqttEndpoint | None:
    """Where provisioned devices get their broker accounts: the dynamic-security plugin of
    Mosquitto (not amqtt, which has no accounts; not a broker whose accounts are external)."""
    endpoint = mqtt_as(broker.BackendRole.ACCOUNTS)
    return endpoint if settings.broker_accounts == "dynsec" and endpoint.username else None


def _banner(
    url: str,
    mqtt: broker.MqttEndpoint,
    data: Path,
    speed: float,
    address: str,
    login: str,
    history: _resume.History,
    try_sos: str,
) -> None:
    print(
        f"\nDayuan is up.\n"
        f"  dashboard: {address}/   (?wall=1 for the wall screen)\n"
        f"  log in   : {login}\n"
        f"  API      : {address}/api/v1   docs: {address}/docs\n"
        f"  database : {url}\n"
        f"  broker   : mqtt://{mqtt.host}:{mqtt.port} (gateway account {mqtt.username})\n"
        f"  data     : {data}\n"
        f"  simulator: {_replaying(history, speed)}\n"
        f"  look     : psql '{url}' -c 'SELECT * FROM device_state LIMIT 10'\n"
        f"  raise SOS: {try_sos}\n"
        f"Ctrl-C stops everything (committed data stays in {data}; a restart resumes).\n",
        flush=True,
    )


def _try_sos(demo: CompoundFile, target: simulators.MqttTarget, data: Path) -> str:
    """One shell line that presses a resident's SOS pendant by hand, as the simulator's
    fleet account (the embedded broker lets it publish for every demo device)."""
    compound = demo.compounds[0]
    pendant = next((d for d in compound.devices if d.model == "sos_pendant"), None)
    if pendant is None:
        return "(the demo compound has no SOS pendant)"
    auth = f' -u {target.username} -P "$(cat {data / "fleet-password"})"' if target.username else ""
    payload = '"{\\"ts\\":$(date +%s%3N),\\"type\\":\\"sos\\"}"'
    return (
        f"mosquitto_pub -h {target.host} -p {target.port}{auth} -q 1"
        f" -t dayuan/v1/{compound.id}/elder/{pendant.id}/event -m {payload}"
        f"   (flat {pendant.address})"
    )


def _replaying(history: _resume.History, speed: float) -> str:
    span = f"{history.duration.total_seconds() / 3600:.1f} h"
    if history.first:
        return (
            f"the last {span} at {speed:g}x, then live; the demo's incidents are placed by"
            f" offsets from {history.start.astimezone():%H:%M} (simulators/scenarios/up.yaml)"
        )
    if history.duration:
        return f"resumed: the {span} not yet stored at {speed:g}x (no incident replayed), then live"
    return "resumed live (everything up to now is stored)"


def _login(conn: psycopg.Connection[Any], settings: Settings, data: Path, *, now: datetime) -> str:
    """How to log in, for the banner; creates the first administrator when there is none."""
    user = api.FIRST_ADMIN
    configured = settings.admin_password.get_secret_value() if settings.admin_password else None
    done = api.first_admin(conn, password=configured, now=now)
    kept = data / ADMIN_PASSWORD_FILE
    if done.generated is not None:
        kept.write_text(done.generated)
        kept.chmod(0o600)
        return f"user '{user}', password {done.generated} (kept in {kept})"
    if done.configured:
        return f"user '{user}', password DAYUAN_ADMIN_PASSWORD"
    lost = f"lost it? dayuan users reset-password {user}"
    if done.configured is False:
        return (
            f"user '{user}' - DAYUAN_ADMIN_PASSWORD is NOT its password (the variable only"
            f" creates the first administrator; {user!r} exists): {lost}"
        )
    if kept.exists() and api.is_password(conn, user, kept.read_text().strip()):
        return f"user '{user}', password in {kept}"
    return f"user '{user}' with the password set for it ({lost})"


_OPEN = (
    "SELECT (SELECT count(*) FROM alarms WHERE cleared_at IS NULL),"
    " (SELECT count(*) FROM cases WHERE state NOT IN ('closed', 'cancelled'))"
)


def _watch(stop: threading.Event, gw: Gateway, db: ConnectionPool) -> None:
    last = 0
    while not stop.wait(PROGRESS_INTERVAL_S):
        m = gw.metrics
        rate = (m.stored_messages - last) / PROGRESS_INTERVAL_S
        last = m.stored_messages
        try:
            with db.connection() as conn:
                alarms, open_cases = conn.execute(_OPEN).fetchone() or (0, 0)
        except psycopg.Error:
            alarms = open_cases = "?"
        now = SystemClock().now().astimezone()  # the operator's local time
        print(status_line(now, m.stored_messages, rate, m.rejected, alarms, open_cases), flush=True)


def status_line(
    now: datetime,
    stored: int,
    rate: float,
    rejected: Mapping[str, int],
    alarms: object,
    open_cases: object,
) -> str:
    """One line every PROGRESS_INTERVAL_S: the time, then what landed and what is open."""
    dead = sum(rejected.values())
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(rejected.items(), key=lambda kv: -kv[1]))
    return (
        f"{now:%H:%M:%S} | stored {stored:,} messages (+{rate:,.0f}/s)"
        f" | dead letters {dead:,}{f' ({reasons})' if reasons else ''}"
        f" | open: {alarms} alarms, {open_cases} cases"
    )
