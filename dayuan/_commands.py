"""The small subcommands: db upgrade, registry load, gateway, broker config."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
from collections.abc import Callable
from contextlib import ExitStack

import psycopg

import broker
import cases
import monitoring
import registry
import rules
from dayuan import _metrics_server, wiring
from dayuan._secrets import MACHINE_SECRET_BITS, weakness
from dayuan._signals import stop_on_signals
from dayuan.settings import Settings
from domain import SystemClock
from gateway import GatewayMetrics

log = logging.getLogger("dayuan")


def _database_url(settings: Settings) -> str:
    if settings.database_url is None:
        raise RuntimeError("set DAYUAN_DATABASE_URL (or use `dayuan up`, which embeds one)")
    return settings.database_url


def db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    mode = wiring.upgrade(_database_url(settings), settings.storage)
    print(f"schema up to date ({mode.value})")
    return 0


def registry_load(args: argparse.Namespace, settings: Settings) -> int:
    compounds = registry.read_compound_file(args.file)
    with psycopg.connect(_database_url(settings)) as conn:
        result = registry.load(conn, compounds, actor=args.actor, now=SystemClock().now())
    print(
        f"loaded {result.compounds} compound(s): {result.added} added, {result.changed} "
        f"changed, {result.removed} removed (recorded in registry_changes as {args.actor!r})"
    )
    return 0


def gateway(args: argparse.Namespace, settings: Settings) -> int:
    mqtt = settings.mqtt_as(broker.BackendRole.GATEWAY)
    if mqtt is None:
        raise RuntimeError("set DAYUAN_MQTT_URL (or use `dayuan up`, which embeds a broker)")
    publishes = settings.mqtt_as(broker.BackendRole.CASES)
    url = _database_url(settings)
    stop = stop_on_signals()
    wiring.upgrade(url, settings.storage)
    with ExitStack() as stack:
        db = stack.enter_context(wiring.pool(url))
        workflow = stack.enter_context(wiring.case_workflow(settings, publishes))
        engine = stack.enter_context(
            wiring.rule_engine(settings, db, sink=cases.AlarmsToCases(db, workflow))
        )
        if engine is not None:
            reload_on_sighup(engine)
        gw = stack.enter_context(wiring.gateway(settings, db, mqtt, engine=engine))
        upkeep = stack.enter_context(
            wiring.maintenance(db, interval_s=settings.maintenance_interval_s)
        )
        engine_metrics = engine.metrics if engine else None
        sources = monitoring.MetricSources(
            gateway=gw.metrics, engine=engine_metrics, maintenance=upkeep
        )
        _metrics(stack, settings, sources, gw.not_ready)
        settle_heap()
        while not stop.wait(settings.stats_interval_s):
            _log_stats(gw.metrics)
    return 0


def rules_run(args: argparse.Namespace, settings: Settings) -> int:
    """The rule engine as a process of its own, for deployments where gateways only store.

    It subscribes without a share group to its partition of compounds, so every message
    of a device reaches this one engine (exact windows and counts); storing gateways
    run with DAYUAN_RULES_ENABLED=false beside it.
    """
    mqtt = settings.mqtt_as(broker.BackendRole.RULES)
    if mqtt is None:
        raise RuntimeError("set DAYUAN_MQTT_URL")
    url = _database_url(settings)
    stop = stop_on_signals()
    wiring.upgrade(url, settings.storage)
    settings = settings.model_copy(update={"rules_enabled": True})
    with ExitStack() as stack:
        db = stack.enter_context(wiring.pool(url))
        workflow = stack.enter_context(
            wiring.case_workflow(settings, settings.mqtt_as(broker.BackendRole.CASES))
        )
        engine = stack.enter_context(
            wiring.rule_engine(settings, db, sink=cases.AlarmsToCases(db, workflow))
        )
        if engine is None:  # pragma: no cover - rules_enabled was forced on above
            raise RuntimeError("the rule engine did not start")
        reload_on_sighup(engine)
        consumer = stack.enter_context(
            wiring.gateway(
                settings,
                db,
                mqtt,
                engine=engine,
                sink=wiring.EvaluateOnly(engine),
                client_id=f"dayuan-rules-{settings.gateway_id}",
                share=False,
            )
        )
        sources = monitoring.MetricSources(gateway=consumer.metrics, engine=engine.metrics)
        _metrics(stack, settings, sources, consumer.not_ready)
        settle_heap()
        stop.wait()
    return 0


def _metrics(
    stack: ExitStack,
    settings: Settings,
    sources: monitoring.MetricSources,
    not_ready: Callable[[], str | None],
) -> None:
    """Serve this process's /metrics, /healthz, /readyz on DAYUAN_METRICS_PORT (when set)."""
    if settings.metrics_port:
        port = stack.enter_context(
            _metrics_server.serve(
                settings.api_host,
                settings.metrics_port,
                lambda: monitoring.render_process(sources),
                not_ready,
                maintenance=sources.maintenance,
                token=settings.metrics_token.get_secret_value() if settings.metrics_token else None,
                closed_without_token=settings.env == "production",
            )
        )
        log.info("metrics on http://%s:%d/metrics", settings.api_host, port)


def supervisor(args: argparse.Namespace, settings: Settings) -> int:
    """The SLA supervisor: escalates missed deadlines, publishing each escalation."""
    url = _database_url(settings)
    stop = stop_on_signals()
    policy = cases.DEFAULT_POLICY if args.policy is None else cases.load_policy(args.policy)
    mqtt = settings.mqtt_as(broker.BackendRole.CASES)
    if mqtt is None:
        log.warning("DAYUAN_MQTT_URL is not set: escalations go to case_events only")
    with ExitStack() as stack:
        db = stack.enter_context(wiring.pool(url))
        workflow = stack.enter_context(
            wiring.case_workflow(settings, mqtt, policy=policy, role="supervisor")
        )
        stack.enter_context(wiring.supervisor(db, workflow, interval_s=args.interval))
        stop.wait()
    return 0


def notifier(args: argparse.Namespace, settings: Settings) -> int:
    """Deliver the case notifications (several may run: they share the rows)."""
    url = _database_url(settings)
    stop = stop_on_signals()
    wiring.upgrade(url, settings.storage)
    with ExitStack() as stack:
        db = stack.enter_context(wiring.pool(url))
        worker = stack.enter_context(wiring.notifier(settings, db))
        log.info("notifier %s delivering", worker.name)
        stop.wait()
    return 0


def reload_on_sighup(engine: rules.Engine) -> None:
    """`kill -HUP` reloads the rule file without a restart (an invalid file is refused)."""

    def handler(_signum: int, _frame: object) -> None:
        try:
            engine.reload()
        except rules.RulesError as exc:
            log.error("rule reload refused, the previous rules stay active: %s", exc)

    signal.signal(signal.SIGHUP, handler)


def settle_heap() -> None:
    """Move start-up objects out of the collector's sight: a full collection over them
    costs tens of milliseconds, which an SOS would wait out (measured by bench rules)."""
    gc.collect()
    gc.freeze()


def _log_stats(m: GatewayMetrics) -> None:
    commits = sorted(m.commit_seconds)
    sizes = list(m.batch_sizes)
    log.info(
        "received=%d stored=%d rejected=%s batches=%d retries=%d takeovers=%d adopted=%d "
        "acks_withheld=%d commit_p50_ms=%.0f mean_batch=%.0f",
        m.received,
        m.stored_messages,
        dict(m.rejected),
        m.batches,
        m.retries,
        m.takeovers,
        m.adopted,
        m.acks_withheld,
        1000 * commits[len(commits) // 2] if commits else 0.0,
        sum(sizes) / len(sizes) if sizes else 0.0,
    )


def broker_config(args: argparse.Namespace, settings: Settings) -> int:
    if args.fleet_password and settings.env == "production":
        why = weakness(args.fleet_password, min_bits=MACHINE_SECRET_BITS)
        if why:
            print(f"dayuan: refusing --fleet-password in production: it {why}", file=sys.stderr)
            return 2
    host, _, port = args.listen.rpartition(":")
    with psycopg.connect(_database_url(settings)) as conn:
        devices = [
            broker.DeviceEntry(d, ref.compound, ref.kind)
            for d, ref in sorted(registry.device_refs(conn).items())
        ]
    fleet = broker.Account("dayuan-fleet", args.fleet_password) if args.fleet_password else None
    tls = _tls_listener(args)
    conf = broker.write_config(
        args.out,
        devices,
        device_secret=settings.device_secret.get_secret_value(),
        backend_secret=settings.backend_password.get_secret_value(),
        fleet=fleet,
        host=host or "127.0.0.1",
        port=int(port),
        tls=tls,
        plugin=args.dynsec_plugin,
        autosave_interval_s=args.autosave_interval or broker.AUTOSAVE_INTERVAL_S,
    )
    roles = ", ".join(f"dayuan-{role}" for role in broker.BackendRole)
    print(f"wrote {conf} with {len(devices)} device account(s) and the backend's ({roles})")
    return 0


def _tls_listener(args: argparse.Namespace) -> broker.TlsListener | None:
    given = [args.tls_listen, args.tls_cert, args.tls_key]
    if not any(given):
        return None
    if not all(given):
        raise ValueError("a TLS listener needs --tls-listen, --tls-cert and --tls-key together")
    for path in (args.tls_cert, args.tls_key):
        if not path.is_file():
            raise ValueError(f"{path} is not a file")
    host, _, port = args.tls_listen.rpartition(":")
    return broker.TlsListener(
        host or "0.0.0.0", int(port), args.tls_cert.resolve(), args.tls_key.resolve()
    )
