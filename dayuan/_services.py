"""Wiring: settings -> pool, writer, directory, gateway. Entry points call these."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

import cases
import ingest
import rules
from dayuan.settings import Settings, compound_list, parse_mqtt_url
from domain import Clock, DeadLetter, Message, SystemClock, subscriptions
from gateway import Batching, DeviceDirectory, Gateway, KnownDevice, Limits, MqttOptions, Sink

log = logging.getLogger(__name__)

# Connections: the flush thread writes on one, registry reloads and maintenance take
# another now and then; 4 leaves room without holding idle sessions on a small server.
POOL_MAX = 4
POOL_OPEN_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class MqttEndpoint:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool = False
    protocol: int = 5
    tls_ca: str | None = None  # None with tls: the system's CAs


def endpoint(settings: Settings, url: str) -> MqttEndpoint:
    host, port, user, password, tls = parse_mqtt_url(url)
    return MqttEndpoint(
        host,
        port,
        user or settings.backend_username,
        password if user else settings.backend_password.get_secret_value(),
        tls,
        settings.mqtt_protocol,
        str(settings.mqtt_tls_ca) if settings.mqtt_tls_ca else None,
    )


def upgrade(url: str, storage: str) -> ingest.StorageMode:
    with psycopg.connect(url) as conn:
        mode = ingest.upgrade(conn, requested=storage)
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
            return dict(ingest.device_refs(conn))

    retention = {c.name: c.retention for c in classes.values()}
    gw = Gateway(
        sink=sink or ingest.Writer(db, mode=mode, classes=classes),
        directory=DeviceDirectory(load, refresh_s=settings.registry_refresh_s),
        mqtt_options=MqttOptions(
            host=mqtt.host,
            port=mqtt.port,
            username=mqtt.username,
            password=mqtt.password,
            client_id=client_id or f"dayuan-{settings.gateway_id}",
            protocol=5 if mqtt.protocol == 5 else 4,
            share_group=(settings.share_group or None) if mqtt.protocol == 5 and share else None,
            topics=subscriptions(compound_list(settings)),
            session_expiry_s=settings.session_expiry_s,
            takeover_delay_s=settings.takeover_delay_s,
            receive_maximum=settings.receive_maximum,
            tls=mqtt.tls,
            tls_ca=mqtt.tls_ca,
        ),
        limits=Limits(
            max_payload_bytes=settings.max_payload_bytes,
            max_future_skew=timedelta(seconds=settings.max_future_skew_s),
            retention=retention,
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
    gateways' job; acknowledging once the batch was handed to the engine is enough."""

    def write(self, messages: Sequence[Message], dead_letters: Sequence[DeadLetter]) -> None:
        return None


@contextlib.contextmanager
def maintenance(
    db: ConnectionPool, *, interval_s: float, clock: Clock | None = None
) -> Iterator[None]:
    """Run `ingest.maintain` every `interval_s` in a background thread."""
    stop = threading.Event()
    now = (clock or SystemClock()).now

    def loop() -> None:
        while not stop.wait(interval_s):
            try:
                with db.connection() as conn:
                    ingest.maintain(conn, mode=ingest.current_mode(conn), now=now())
            except psycopg.Error as exc:
                log.warning("maintenance failed, will retry: %s", exc)

    thread = threading.Thread(target=loop, name="maintenance", daemon=True)
    thread.start()
    try:
        yield
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
    with cases.MqttPublisher.connect(
        mqtt.host,
        mqtt.port,
        username=mqtt.username,
        password=mqtt.password,
        client_id=f"dayuan-{role}-{settings.gateway_id}",
        tls=mqtt.tls,
        tls_ca=mqtt.tls_ca,
    ) as publisher:
        yield cases.Workflow(clock=clock, publisher=publisher, policy=policy)


class FanOut:
    """One `rules.AlarmSink` that hands every change to several (cases, metrics)."""

    def __init__(self, *sinks: rules.AlarmSink) -> None:
        self._sinks = sinks

    def emit(self, change: rules.AlarmChange) -> None:
        for sink in self._sinks:
            sink.emit(change)


class AlarmsToCases:
    """`rules.AlarmSink`: an opened alarm opens (or joins) a case, a cleared one leaves a
    note on it. Repeats (`updated`) are not forwarded: each would join as a duplicate.

    Runs on the rule engine's thread. A failed intake (database down) is kept and
    retried with the next alarm; the alarm itself is already durable in `alarms`.
    """

    # Alarms kept for retry while the database refuses: hours of a compound's alarms.
    RETRY_LIMIT = 10_000

    def __init__(self, db: ConnectionPool, workflow: cases.Workflow) -> None:
        self._db = db
        self._workflow = workflow
        self._retry: list[cases.AlarmNotice | cases.AlarmCleared] = []

    def emit(self, change: rules.AlarmChange) -> None:
        if change.change is rules.ChangeKind.OPENED:
            self._retry.append(_notice(change))
        elif change.change is rules.ChangeKind.CLEARED:
            self._retry.append(
                cases.AlarmCleared(
                    fingerprint=change.fingerprint,
                    compound=change.compound,
                    values=dict(change.values),
                    cleared_at=change.cleared_at or change.emitted_at,
                )
            )
        else:
            return
        self._flush()

    def _flush(self) -> None:
        try:
            with self._db.connection() as conn:
                while self._retry:
                    item = self._retry[0]
                    if isinstance(item, cases.AlarmNotice):
                        self._workflow.intake_alarm(conn, item)
                    else:
                        self._workflow.alarm_cleared(conn, item)
                    self._retry.pop(0)
        except (psycopg.Error, PoolTimeout, cases.CasesError) as exc:
            log.error("case intake failed, %d alarm(s) kept for retry: %s", len(self._retry), exc)
            del self._retry[: max(0, len(self._retry) - self.RETRY_LIMIT)]


def _notice(change: rules.AlarmChange) -> cases.AlarmNotice:
    return cases.AlarmNotice(
        fingerprint=change.fingerprint,
        rule_id=change.rule_id,
        title=change.title,
        severity=cases.Severity(change.severity.value),
        category=change.rule_id,  # routing and SLA tables are keyed on the rule id
        compound=change.compound,
        device_id=change.device,
        flat=change.flat,
        values=dict(change.values),
        opened_at=change.first_seen,
        alarm_id=change.alarm_id,
    )


@contextlib.contextmanager
def supervisor(
    db: ConnectionPool, workflow: cases.Workflow, *, interval_s: float, clock: Clock | None = None
) -> Iterator[None]:
    """The SLA supervisor in a background thread (for `dayuan up`)."""
    stop = threading.Event()
    clock = clock or SystemClock()

    def loop() -> None:
        while not stop.is_set():
            try:
                with db.connection() as conn:
                    cases.Supervisor(conn, workflow=workflow, clock=clock).run(stop, interval_s)
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
