"""Wiring: settings -> the parts of each process (pool, schema, gateway, rule engine,
case workflow, background loops). Entry points (`dayuan.cli`, `dayuan up`, the bench)
call these; the packages they wire never import this module.

`SCHEMA` is the packages that own tables, in layer order: each keeps its migrations
in `<package>/migrations` and one runner (`ingest.upgrade`) applies them all."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

import cases
import ingest
import notify
import registry
import rules
from broker import MqttEndpoint, publisher
from dayuan.settings import Settings, compound_list, public_url
from domain import Clock, DeadLetter, Message, Sink, SinkUnavailable, SystemClock, subscriptions
from gateway import Batching, Budget, DeviceDirectory, Gateway, KnownDevice, Limits, MqttOptions

log = logging.getLogger(__name__)

# Connections: the flush thread writes on one and `dayuan up`'s supervisor holds one;
# registry reloads, maintenance and a notifier's claims and outcomes take one briefly
# now and then; 6 leaves room without holding idle sessions on a small server.
POOL_MAX = 6
POOL_OPEN_TIMEOUT_S = 60.0
# A rules-only consumer's batch waits this long for the engine (a few ms, unless its
# alarm store is down) before the gateway's pipeline backs off and asks again.
EVALUATE_WAIT_S = 5.0


# Owners of tables, in layer order (a package's migrations may use its lower layers').
SCHEMA = (
    "registry",
    "ingest",
    "rules",
    "cases",
    "notify",
    "announce",
    "parking",
    "residents",
    "deliberation",
    "care",
    "api",
)


def upgrade(url: str, storage: str) -> ingest.StorageMode:
    with psycopg.connect(url) as conn:
        mode = ingest.upgrade(conn, packages=SCHEMA, requested=storage)
    log.info("storage mode: %s", mode.value)
    return mode


@contextlib.contextmanager
def pool(url: str) -> Iterator[ConnectionPool]:
    p: ConnectionPool = ConnectionPool(
        url,
        min_size=1,
        max_size=POOL_MAX,
        open=False,
        configure=ingest.prepare_connection,
        name="dayuan",
    )
    p.open(wait=True, timeout=POOL_OPEN_TIMEOUT_S)
    try:
        yield p
    finally:
        p.close()


@contextlib.contextmanager
def rule_engine(
    settings: Settings,
    db: ConnectionPool,
    *,
    clock: Clock | None = None,
    sink: rules.AlarmSink | None = None,
) -> Iterator[rules.Engine | None]:
    """The rule engine beside a gateway (None when DAYUAN_RULES_ENABLED is false)."""
    if not settings.rules_enabled:
        yield None
        return
    engine = rules.Engine.open(
        db, rules_file=settings.rules_file, clock=clock or SystemClock(), sink=sink
    )
    engine.start()
    try:
        yield engine
    finally:
        engine.close()


@contextlib.contextmanager
def gateway(
    settings: Settings,
    db: ConnectionPool,
    mqtt: MqttEndpoint,
    *,
    clock: Clock | None = None,
    engine: rules.Engine | None = None,
    sink: Sink | None = None,
    client_id: str | None = None,
    share: bool = True,
) -> Iterator[Gateway]:
    """A gateway process's core. With `sink` (and usually `share=False`) it is the
    rule engine's own consumer instead: same intake, no storage."""
    with db.connection() as conn:
        mode = ingest.current_mode(conn)
        classes = ingest.data_classes(conn)

    def load() -> dict[str, KnownDevice]:
        with db.connection() as conn:
            return dict(registry.device_refs(conn))

    retention = {c.name: c.retention for c in classes.values()}
    gw = Gateway(
        sink=sink or ingest.Writer(db, mode=mode, classes=classes),
        directory=DeviceDirectory(load, refresh_s=settings.registry_refresh_s),
        mqtt_options=MqttOptions(
            endpoint=mqtt,
            client_id=client_id or f"dayuan-{settings.gateway_id}",
            share_group=(settings.share_group or None) if mqtt.protocol == 5 and share else None,
            topics=subscriptions(compound_list(settings)),
            session_expiry_s=settings.session_expiry_s,
            takeover_delay_s=settings.takeover_delay_s,
            receive_maximum=settings.receive_maximum,
        ),
        limits=Limits(
            max_payload_bytes=settings.max_payload_bytes,
            max_future_skew=timedelta(seconds=settings.max_future_skew_s),
            retention=retention,
            chunks={c.name: c.chunk_interval for c in classes.values()},
            dead_letters=Budget(
                rows=settings.dead_letters_per_device,
                window=timedelta(seconds=settings.dead_letter_window_s),
            ),
        ),
        batching=Batching(
            max_messages=settings.batch_max_messages,
            max_delay_s=settings.batch_max_delay_ms / 1000,
            max_pending=max(settings.receive_maximum * 2, settings.batch_max_messages * 2),
        ),
        clock=clock or SystemClock(),
        observers=[engine.submit] if engine is not None else [],
    )
    with gw:
        yield gw


class EvaluateOnly:
    """The sink of a rules-only consumer: storing (and dead-lettering) is the storing
    gateways' job. A batch is acknowledged once the engine has evaluated it and its
    alarms are in the store: acknowledged on hand-over instead, a SIGKILL lost the
    alarms of what was still queued (`dayuan bench faults rules-kill`). The engine
    received the batch at intake, before this is called."""

    def __init__(self, engine: rules.Engine) -> None:
        self._engine = engine

    def write(self, messages: Sequence[Message], dead_letters: Sequence[DeadLetter]) -> None:
        if not self._engine.wait_settled(EVALUATE_WAIT_S):
            raise SinkUnavailable("the rule engine has not evaluated the batch yet")


@contextlib.contextmanager
def maintenance(
    db: ConnectionPool, *, interval_s: float, clock: Clock | None = None
) -> Iterator[ingest.MaintenanceStatus]:
    """Run `ingest.maintain` every `interval_s` in a background thread; the status it
    yields is the last pass, for metrics and /readyz."""
    stop = threading.Event()
    now = (clock or SystemClock()).now
    status = ingest.MaintenanceStatus()

    def loop() -> None:
        while not stop.wait(interval_s):
            try:
                with db.connection() as conn:
                    done = ingest.maintain(conn, mode=ingest.current_mode(conn), now=now())
                status.record(done)
                for step, why in done.failed.items():
                    log.error("maintenance step %s failed (the others ran): %s", step, why)
            except (psycopg.Error, PoolTimeout, ingest.IngestError) as exc:
                status.unreachable(str(exc))
                log.warning("maintenance failed, will retry: %s", exc)

    thread = threading.Thread(target=loop, name="maintenance", daemon=True)
    thread.start()
    try:
        yield status
    finally:
        stop.set()
        thread.join()


@contextlib.contextmanager
def case_workflow(
    settings: Settings,
    mqtt: MqttEndpoint | None,
    *,
    clock: Clock | None = None,
    policy: cases.Policy = cases.DEFAULT_POLICY,
    role: str = "cases",
) -> Iterator[cases.Workflow]:
    """The governance loop's workflow, publishing transitions to MQTT when it can. Its
    client id is `dayuan-<role>-<gateway id>`: one per process, or two processes would
    take the connection from each other in turn."""
    clock = clock or SystemClock()
    if mqtt is None or mqtt.username is None or mqtt.password is None:
        yield cases.Workflow(clock=clock, publisher=cases.NoPublisher(), policy=policy)
        return
    with publisher(mqtt, f"dayuan-{role}-{settings.gateway_id}") as published:
        yield cases.Workflow(clock=clock, publisher=published, policy=policy)


class FanOut:
    """One `rules.AlarmSink` that hands every change to several (cases, metrics)."""

    def __init__(self, *sinks: rules.AlarmSink) -> None:
        self._sinks = sinks

    def emit(self, change: rules.AlarmChange) -> None:
        for sink in self._sinks:
            sink.emit(change)


@contextlib.contextmanager
def supervisor(
    db: ConnectionPool,
    workflow: cases.Workflow,
    *,
    interval_s: float,
    clock: Clock | None = None,
    watch_from: datetime | None = None,
) -> Iterator[None]:
    """The SLA supervisor in a background thread (for `dayuan up`); with `watch_from`,
    only deadlines passing after it are escalated (`cases.Supervisor`)."""
    stop = threading.Event()
    clock = clock or SystemClock()

    def loop() -> None:
        # A connection per pass, held only for the pass: a pooled connection kept past
        # its `with` would be handed to another thread while this one still used it.
        log.info("case supervisor running every %.1f s", interval_s)
        while not stop.is_set():
            try:
                with db.connection() as conn:
                    supervisor = cases.Supervisor(
                        conn, workflow=workflow, clock=clock, watch_from=watch_from
                    )
                    escalated = supervisor.run_once(clock.now())
                if escalated:
                    log.info("escalated %d case(s)", len(escalated))
            except (psycopg.Error, PoolTimeout, cases.CasesError) as exc:
                log.warning("supervisor pass failed, will retry: %s", exc)
            stop.wait(interval_s)

    thread = threading.Thread(target=loop, name="supervisor", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextlib.contextmanager
def notifier(
    settings: Settings,
    db: ConnectionPool,
    *,
    clock: Clock | None = None,
    deliver: notify.Deliver | None = None,
    name: str | None = None,
    link_secret: str | None = None,
) -> Iterator[notify.Notifier]:
    """A notifier in a background thread (`dayuan notifier`, `dayuan up`). Its links are
    signed with `link_secret` or DAYUAN_TOKEN_SECRET (the API's key: the API reads
    them); with neither, messages carry no link (a random key would make them
    unreadable by any API process)."""
    token = settings.token_secret.get_secret_value() if settings.token_secret else None
    key = link_secret or token
    links = None
    if key is not None:
        ttl = timedelta(seconds=settings.ack_link_ttl_s)
        links = notify.Links(public_url(settings), key, ttl)
    else:
        log.warning("no DAYUAN_TOKEN_SECRET: notifications carry no acknowledgement link")
    secret = settings.notify_webhook_secret
    worker = notify.Notifier(
        db,
        clock=clock or SystemClock(),
        deliver=deliver
        or notify.Channels(webhook_secret=secret.get_secret_value() if secret else None),
        name=name,
        policy=dataclasses.replace(
            notify.DEFAULT_NOTIFY_POLICY, ack_repeat_s=settings.notify_repeat_s
        ),
        links=links,
        rate=notify.RateLimit(per_s=settings.notify_rate_per_s),
        lease=timedelta(seconds=settings.notify_lease_s),
    )
    stop = threading.Event()
    thread = threading.Thread(
        target=worker.run,
        args=(stop,),
        kwargs={"interval_s": settings.notify_poll_s},
        name="notifier",
        daemon=True,
    )
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join()
