"""Builds the FastAPI app. `create_app` takes the configuration, an optional clock and
optional in-process metric sources; the lifespan opens the database pool, creates the
first administrator, connects the case workflow's MQTT publisher and runs the device
commands' broker connection and sweeper and the live feed's poller, and closes them all
in reverse order."""

from __future__ import annotations

import contextlib
import functools
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta

import anyio
import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from psycopg_pool import ConnectionPool

import broker
import cases
import ingest
import notify
from api import (
    _announcer,
    _carer,
    _dashboard,
    _docs,
    _errors,
    _openapi,
    _parking,
    _residents,
    _users,
)
from api._commands import Commands
from api._config import ApiConfig
from api._db import open_pool
from api._http import BodyLimit, SecurityHeaders
from api._hub import FeedHub
from api._state import AppState
from api.routes import (
    ack,
    alarms,
    announcements,
    audit,
    auth,
    care,
    contacts,
    dead_letters,
    deliberations,
    devices,
    district,
    events,
    exports,
    kpis,
    open311,
    ops,
    organisations,
    parking,
    plan,
    provision,
    registry,
    resident_announcements,
    resident_deliberations,
    residents,
    stream,
    telemetry,
    users,
)
from api.routes import cases as case_routes
from api.routes import rules as rule_routes
from domain import Clock, SystemClock
from gateway import GatewayMetrics
from monitoring import AlarmLatency, MetricSources
from rules import EngineMetrics

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


def create_app(
    config: ApiConfig,
    *,
    clock: Clock | None = None,
    gateway_metrics: GatewayMetrics | None = None,
    engine_metrics: EngineMetrics | None = None,
    alarm_latency: AlarmLatency | None = None,
    maintenance: ingest.MaintenanceStatus | None = None,
    policy: cases.Policy = cases.DEFAULT_POLICY,
) -> FastAPI:
    clock = clock or SystemClock()
    sources = MetricSources(gateway_metrics, engine_metrics, alarm_latency, maintenance)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with contextlib.ExitStack() as stack:
            pool = await anyio.to_thread.run_sync(open_pool, config.database_url)
            stack.callback(pool.close)
            await anyio.to_thread.run_sync(_first_admin, pool, config, clock)
            publisher = stack.enter_context(_publisher(config))
            commands = Commands(
                pool, mqtt=config.mqtt, clock=clock, ack_timeout_s=config.command_ack_timeout_s
            )
            feed = FeedHub(
                pool,
                clock,
                streams_per_user=config.streams_per_user,
                recheck_s=config.stream_recheck_s,
            )
            await anyio.to_thread.run_sync(feed.start)
            key = config.signing_key()
            app.state.dayuan = AppState(
                config=config,
                clock=clock,
                key=key,
                pool=pool,
                workflow=cases.Workflow(clock=clock, publisher=publisher, policy=policy),
                commands=commands,
                metrics=sources,
                feed=feed,
                links=notify.Links(
                    config.public_url, key, timedelta(seconds=config.ack_link_ttl_s)
                ),
                policy=policy,
            )
            outcomes = _residents.Outcomes(app.state.dayuan, _residents.sender(app.state.dayuan))
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(commands.run)
                tasks.start_soon(feed.run)
                tasks.start_soon(
                    functools.partial(
                        _announcer.run,
                        pool,
                        clock,
                        every_s=config.announce_poll_s,
                        webhook_secret=config.webhook_secret,
                        resident_channel=_announcer.ResidentChannel(outcomes.send)
                        if config.resident_channel_ready
                        else None,
                    )
                )
                tasks.start_soon(outcomes.run)
                tasks.start_soon(
                    functools.partial(_parking.run, pool, clock, every_s=config.parking_sweep_s)
                )
                tasks.start_soon(
                    functools.partial(
                        _carer.run,
                        pool,
                        app.state.dayuan.workflow,
                        clock,
                        every_s=config.care_sweep_s,
                    )
                )
                yield
                tasks.cancel_scope.cancel()

    app = FastAPI(
        title="Dayuan",
        version="1",
        summary="The API for staff and responders of smart old compounds",
        lifespan=lifespan,
        docs_url=None,  # api/_docs.py serves /docs from local files
        redoc_url=None,
    )
    _errors.install(app)
    app.middleware("http")(_request_context)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders, no_store_prefix=API_PREFIX)  # outermost: on 413s too
    v1 = APIRouter(prefix=API_PREFIX)
    for module in (
        auth,
        users,
        devices,
        provision,
        telemetry,
        events,
        alarms,
        case_routes,
        registry,
        plan,
        contacts,
        kpis,
        rule_routes,
        exports,
        dead_letters,
        stream,
        audit,
        announcements,
        residents,
        resident_announcements,
        deliberations,
        resident_deliberations,
        parking,
        care,
        organisations,
        district,
    ):
        v1.include_router(module.router)
    v1.include_router(open311.admin)
    app.include_router(v1)
    app.include_router(open311.router)
    open311.install(app)
    app.include_router(ops.router)
    app.include_router(ack.router)
    _openapi.install(app, api_prefix=API_PREFIX)
    _docs.install(app)
    _dashboard.mount(app, api_prefix=API_PREFIX)
    return app


def _first_admin(pool: ConnectionPool, config: ApiConfig, clock: Clock) -> None:
    with pool.connection() as conn:
        done = _users.first_admin(conn, password=config.admin_password, now=clock.now())
    if done.generated is not None:
        # Development only (production refuses to start without DAYUAN_ADMIN_PASSWORD).
        log.warning(
            "no DAYUAN_ADMIN_PASSWORD: created user %r with password %s (printed this once;"
            " lost it? dayuan users reset-password %s)",
            _users.FIRST_ADMIN,
            done.generated,
            _users.FIRST_ADMIN,
        )
    elif done.configured is False:
        log.warning(_users.ADMIN_PASSWORD_IGNORED)


@contextlib.contextmanager
def _publisher(config: ApiConfig) -> Iterator[cases.Publisher]:
    """Case transitions made through the API go to MQTT too, when a broker is configured."""
    mqtt = config.case_mqtt
    if mqtt is None or mqtt.username is None or mqtt.password is None:
        yield cases.NoPublisher()
        return
    with contextlib.ExitStack() as stack:
        published: cases.Publisher
        try:
            client_id = f"dayuan-api-cases-{secrets.token_hex(4)}"
            published = stack.enter_context(broker.publisher(mqtt, client_id))
        except broker.BrokerError as exc:
            log.warning("case transitions will not reach MQTT: %s", exc)
            published = cases.NoPublisher()
        yield published


async def _request_context(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Every log line written while serving a request carries its id, method and path
    (structlog's context variables; the JSON log formatter merges them in)."""
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
    with structlog.contextvars.bound_contextvars(
        request_id=request_id[:64], method=request.method, path=request.url.path
    ):
        response = await call_next(request)
    response.headers["X-Request-ID"] = request_id[:64]
    return response
