"""Wiring: settings -> pool, writer, directory, gateway. Entry points call these."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from psycopg_pool import ConnectionPool

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


def endpoint(settings: Settings, url: str) -> MqttEndpoint:
    host, port, user, password, tls = parse_mqtt_url(url)
    return MqttEndpoint(
        host,
        port,
        user or settings.backend_username,
        password if user else settings.backend_password.get_secret_value(),
        tls,
        settings.mqtt_protocol,
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
            receive_maximum=settings.receive_maximum,
            tls_ca=str(settings.mqtt_tls_ca) if settings.mqtt_tls_ca else None,
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
