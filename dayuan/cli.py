"""`dayuan`: the one console script. Each subcommand is an entry point: it reads the
settings, builds what it needs, and runs it."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import psycopg
from pydantic import ValidationError

import broker
import care
import cases
import ingest
import registry
import rules
from dayuan import _logging
from dayuan.settings import Settings

log = logging.getLogger("dayuan")

Command = Callable[[argparse.Namespace, Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        # The messages only: pydantic's full text would echo the input, secrets included.
        reasons = "\n".join(
            f"  {'.'.join(map(str, e['loc'])) or '-'}: {e['msg']}" for e in exc.errors()
        )
        print(f"dayuan: bad configuration:\n{reasons}", file=sys.stderr)
        return 2
    _logging.configure(settings.log_level, settings.log_format)
    command: Command = args.func
    try:
        return command(args, settings)
    except (
        ingest.IngestError,
        registry.RegistryError,
        broker.BrokerError,
        cases.CasesError,
        care.CareError,
        rules.RulesError,
        psycopg.OperationalError,
        RuntimeError,
        ValueError,
    ) as exc:
        log.error("%s", exc)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dayuan", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    db = sub.add_parser("db", help="database schema").add_subparsers(required=True)
    up = db.add_parser("upgrade", help="apply migrations (idempotent)")
    up.set_defaults(func=_lazy(_commands, "db_upgrade"))

    reg = sub.add_parser("registry", help="the registry").add_subparsers(required=True)
    load = reg.add_parser("load", help="load a compound file (YAML or JSON)")
    load.add_argument("file", type=Path)
    load.add_argument("--actor", default="cli", help="who, in the registry change log")
    load.set_defaults(func=_lazy(_commands, "registry_load"))

    gw = sub.add_parser("gateway", help="run a gateway process (MQTT -> storage)")
    gw.set_defaults(func=_lazy(_commands, "gateway"))

    broker = sub.add_parser("broker", help="broker security").add_subparsers(required=True)
    conf = broker.add_parser(
        "config", help="write Mosquitto's conf and dynamic-security accounts from the registry"
    )
    conf.add_argument("--out", type=Path, required=True, help="directory to write into")
    conf.add_argument("--listen", default="127.0.0.1:1883", help="host:port of the listener")
    conf.add_argument("--fleet-password", help="also create the fleet (simulator) account")
    conf.add_argument(
        "--tls-listen", help="host:port of a TLS listener too (with --tls-cert and --tls-key)"
    )
    conf.add_argument("--tls-cert", type=Path, help="the server's certificate chain (PEM)")
    conf.add_argument("--tls-key", type=Path, help="the server's private key (PEM)")
    conf.add_argument(
        "--dynsec-plugin",
        type=Path,
        help="mosquitto_dynamic_security.so (found in the usual library paths otherwise)",
    )
    conf.add_argument(
        "--autosave-interval",
        type=int,
        help="seconds between persistence snapshots, 10 by default: what a broker SIGKILL"
        " can lose (README 'Broker restarts')",
    )
    conf.set_defaults(func=_lazy(_commands, "broker_config"))

    man = sub.add_parser("manifest", help="simulator manifests").add_subparsers(required=True)
    check = man.add_parser("check", help="account for every message of a simulator run")
    check.add_argument("file", type=Path)
    check.set_defaults(func=_lazy(_bench, "manifest_check"))

    sup = sub.add_parser("supervisor", help="escalate cases whose deadlines passed")
    sup.add_argument("--interval", type=float, default=5.0, help="seconds between passes")
    sup.add_argument("--policy", type=Path, help="a dayuan.cases/1 YAML file (routing, SLAs)")
    sup.set_defaults(func=_lazy(_commands, "supervisor"))

    nt = sub.add_parser("notifier", help="deliver case notifications (email, webhooks, SMS...)")
    nt.set_defaults(func=_lazy(_commands, "notifier"))

    dr = sub.add_parser("drill", help="simulated responders work the open cases; print KPIs")
    dr.add_argument("--seed", type=int, default=0)
    dr.add_argument("--by", choices=["category", "party", "grid", "compound"], default="category")
    dr.set_defaults(func=_lazy(_bench, "drill"))

    upc = sub.add_parser("up", help="run the whole product with a simulated compound")
    upc.add_argument(
        "--speed",
        type=float,
        default=600.0,
        help="simulated seconds per second while catching up with the present",
    )
    upc.add_argument(
        "--history-hours",
        type=float,
        default=6.0,
        help="how much of the compound's recent past to play before going live",
    )
    upc.set_defaults(func=_lazy(_up, "up"))

    _bench_parser(sub)
    _register_packages(sub)
    from dayuan import _care, _parking, _report, _users

    _users.register(sub)
    _report.register(sub)
    _parking.register(sub)
    _care.register(sub)
    return parser


def _bench_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser("bench", help="benchmarks (print JSON)").add_subparsers(required=True)
    ing = bench.add_parser("ingest", help="end-to-end ingest throughput against a broker baseline")
    ing.add_argument("--messages", type=int, default=200_000)
    ing.add_argument("--publishers", type=int, default=8, help="mosquitto_pub processes")
    ing.add_argument("--gateways", type=int, default=1, help="gateway processes sharing the load")
    ing.set_defaults(func=_lazy(_bench, "bench_ingest"))
    _faults_parser(bench)
    sav = bench.add_parser("broker-save", help="what one save of Mosquitto's persistence costs")
    sav.add_argument(
        "--queued",
        type=int,
        nargs="+",
        default=[10_000, 100_000, 1_000_000],
        help="messages queued for an absent session, per run",
    )
    sav.add_argument(
        "--retained",
        type=int,
        nargs="*",
        default=[100_000],
        help="retained messages on as many topics (a fleet's statuses), per run",
    )
    sav.set_defaults(func=_lazy(_bench, "bench_broker_save"))
    _notify_parser(bench)
    brk = bench.add_parser(
        "brokers", help="Mosquitto against RabbitMQ (PUBACK after the disk): msg/s and CPU"
    )
    brk.add_argument("--messages", type=int, default=100_000)
    brk.add_argument("--publishers", type=int, default=4, help="mosquitto_pub processes")
    brk.set_defaults(func=_lazy(_bench, "bench_brokers"))
    dis = bench.add_parser("district", help="GET /district over a loaded district's compounds")
    dis.add_argument("--cases", type=int, default=0, help="cases to open first (scratch database)")
    dis.add_argument("--reads", type=int, default=50, help="timed reads per user")
    dis.set_defaults(func=_lazy(_bench, "bench_district"))
    lay = bench.add_parser("layout", help="narrow against wide telemetry tables")
    lay.add_argument("--messages", type=int, default=200_000)
    lay.set_defaults(func=_lazy(_bench, "bench_layout"))
    rol = bench.add_parser("rollups", help="dirty marks and rollup refreshes, old and late data")
    rol.add_argument("--devices", type=int, default=500, help="devices per writer statement")
    rol.add_argument("--statements", type=int, default=40, help="statements timed per case")
    rol.add_argument("--history-devices", type=int, default=200, help="for the refresh")
    rol.set_defaults(func=_lazy(_bench, "bench_rollups"))
    qry = bench.add_parser("queries", help="a device's series and a district's KPIs on a year")
    qry.add_argument("--days", type=int, default=365, help="days of history")
    qry.add_argument(
        "--per-hour", type=int, default=1, help="raw readings kept per series-hour (0: all)"
    )
    qry.add_argument("--compounds", type=int, default=196, help="compounds of the district")
    qry.add_argument("--cases-per-day", type=float, default=20.0, help="per compound")
    qry.add_argument("--runs", type=int, default=200, help="timed calls per query")
    qry.set_defaults(func=_lazy(_bench, "bench_queries"))
    sto = bench.add_parser(
        "storage", help="bytes per telemetry point, before and after compression"
    )
    sto.add_argument(
        "--days", type=float, default=4.0, help="simulated days of the reference compound"
    )
    sto.add_argument("--seed", type=int, default=0)
    sto.add_argument("--mode", choices=["auto", "timescaledb", "postgres"], default="auto")
    sto.add_argument(
        "--variants", action="store_true", help="also measure candidate layouts (TimescaleDB)"
    )
    sto.set_defaults(func=_lazy(_bench, "bench_storage"))
    rul = bench.add_parser(
        "rules", help="rule engine throughput and SOS-to-alarm latency under load"
    )
    rul.add_argument("--messages", type=int, default=100_000, help="for events_per_s")
    # 10k msg/s: about a one-process gateway's QoS 0 ceiling (~12.9k, platforms.md)
    rul.add_argument("--rate", type=float, default=10_000.0, help="background msgs/s")
    rul.add_argument("--sos", type=int, default=400, help="SOS presses timed under load")
    rul.set_defaults(func=_lazy(_bench, "bench_rules"))
    alm = bench.add_parser(
        "alarms", help="the catalogue's precision and recall on a simulated day's incidents"
    )
    alm.add_argument("--scenario", type=Path, help="scenario file (default: the demo's)")
    alm.add_argument("--hours", type=float, default=24.0, help="simulated hours")
    alm.add_argument("--start", help="ISO instant with offset (default: a fixed local midnight)")
    alm.add_argument("--seed", type=int, default=0, help="compound and simulation seed")
    alm.set_defaults(func=_lazy(_bench, "bench_alarms"))
    api = bench.add_parser("api", help="p50/p99 of the main list and KPI routes at district scale")
    api.add_argument("--compounds", type=int, default=196, help="the generated district's size")
    api.add_argument("--cases", type=int, default=150_000, help="a district's year (alarms: 2x)")
    api.add_argument("--requests", type=int, default=200, help="timed requests per route")
    api.set_defaults(func=_lazy(_bench, "bench_api"))


def _faults_parser(bench: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    flt = bench.add_parser(
        "faults", help="broker, gateways, rules, database failing under traffic: what is lost"
    )
    flt.add_argument(
        "scenarios",
        nargs="+",
        help="fault sequences, comma-separated: of the broker (term-restart, kill-restart,"
        " term, kill), of the gateway (gateway-kill, gateway-kill-restart, gateway-dies,"
        " gateway-stall: SIGSTOP, gateway-unstall: SIGCONT), of the database (db-restart,"
        " db-readonly), rules-kill, api-kill; e.g. term-restart,kill-restart",
    )
    flt.add_argument("--runs", type=int, default=1, help="runs of each scenario")
    flt.add_argument("--rate", type=float, default=3000.0, help="simulator messages per second")
    flt.add_argument("--duration", type=float, default=60.0, help="seconds of traffic")
    flt.add_argument("--first-at", type=float, default=15.0, help="seconds to the first fault")
    flt.add_argument("--spacing", type=float, default=15.0, help="seconds between faults")
    flt.add_argument(
        "--autosave-interval",
        type=int,
        default=None,
        help="the broker's autosave (default: the generated config's)",
    )
    flt.add_argument(
        "--autosave-on-changes", action="store_true", help="autosave every N changes, not seconds"
    )
    flt.add_argument("--no-share-group", action="store_true", help="a plain subscription")
    flt.add_argument("--mosquitto", help="the broker binary (default: mosquitto on the PATH)")
    flt.add_argument(
        "--broker",
        action="append",
        choices=("mosquitto", "rabbitmq"),
        help="the broker (repeat it to run each scenario on each, in one run; default: mosquitto)",
    )
    flt.add_argument("--keep", type=Path, help="leave each run's logs and manifest here")
    flt.add_argument(
        "--takeover-delay", type=float, default=10.0, help="DAYUAN_TAKEOVER_DELAY_S of gateways"
    )
    flt.add_argument(
        "--db-down", type=float, default=10.0, help="seconds db-restart/db-readonly last"
    )
    flt.set_defaults(func=_lazy(_bench, "bench_faults"))


def _notify_parser(bench: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    nt = bench.add_parser(
        "notify", help="SOS to a person's channel under load; repeats, throughput, faults"
    )
    nt.add_argument("--sos", type=int, default=20, help="SOS presses timed per load level")
    nt.add_argument("--duration", type=float, default=20.0, help="seconds of presses per level")
    nt.add_argument("--skip-load", action="store_true", help="SOS latency idle only")
    nt.add_argument(
        "--calibrate-messages", type=int, default=40_000, help="for the gateway's sustained rate"
    )
    nt.add_argument("--publishers", type=int, default=16, help="background load publishers")
    nt.add_argument("--repeat-sos", type=int, default=5, help="SOS nobody acknowledges")
    nt.add_argument("--repeat-interval", type=float, default=10.0, help="their repeat, seconds")
    nt.add_argument("--cases", type=int, default=60, help="cases queued per throughput run")
    nt.add_argument(
        "--rate-limit", type=float, default=1000.0, help="per channel, in the throughput runs"
    )
    nt.add_argument("--fault-cases", type=int, default=20, help="cases per fault scenario")
    nt.add_argument("--lease", type=float, default=20.0, help="the notifiers' lease (kill -9)")
    nt.add_argument("--outage-s", type=float, default=60.0, help="the channel's 503 outage")
    nt.set_defaults(func=_lazy(_bench, "bench_notify"))


def _register_packages(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The subcommands each package brings: its own entry points, wired here. `dayuan api`
    is named here and imported only when it runs: any module of `api` loads FastAPI,
    which the other processes (`dayuan gateway` above all) must not."""
    from rules import cli as rules_cli
    from simulators import cli as simulators_cli

    simulators_cli.register(sub)
    api = sub.add_parser("api", help="serve the HTTP API (FastAPI) for staff")
    api.set_defaults(func=_lazy(_api, "serve"))
    group = rules_cli.register(sub)
    run = group.add_parser(
        "run", help="a rules-only consumer: every message of its compounds (DAYUAN_COMPOUNDS)"
    )
    run.set_defaults(func=_lazy(_commands, "rules_run"))


def _lazy(load: Callable[[], ModuleType], name: str) -> Command:
    """A command whose module is imported only when it runs: keeps `dayuan --help` fast,
    and `dayuan gateway` free of FastAPI and of the benchmarks. The import itself is a
    plain statement in `load`, so lint-imports and mypy see the edge."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        command: Command = getattr(load(), name)
        return command(args, settings)

    return run


def _commands() -> ModuleType:
    from dayuan import _commands

    return _commands


def _up() -> ModuleType:
    from dayuan import _up

    return _up


def _api() -> ModuleType:
    from api import cli

    return cli


def _bench() -> ModuleType:
    import bench

    return bench


if __name__ == "__main__":
    sys.exit(main())
