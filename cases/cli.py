"""`dayuan supervisor`: the case supervisor loop against DAYUAN_DATABASE_URL.

An entry point: it reads the settings, opens the database connection and (when
DAYUAN_MQTT_URL is set) the MQTT publisher, and runs until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from cases._policy import DEFAULT_POLICY, load_policy
from cases._stream import MqttPublisher, NoPublisher, Publisher
from cases._supervisor import DEFAULT_INTERVAL_S, Supervisor
from cases._workflow import Workflow
from domain import SystemClock

if TYPE_CHECKING:
    from dayuan.settings import Settings

log = logging.getLogger("dayuan.cases")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `supervisor` to the main CLI's subcommands."""
    parser = subparsers.add_parser("supervisor", help="escalate cases whose deadlines passed")
    parser.add_argument(
        "--interval", type=float, default=DEFAULT_INTERVAL_S, help="seconds between passes"
    )
    parser.add_argument(
        "--policy", type=Path, help="a dayuan.cases/1 YAML file overriding routing and SLAs"
    )
    parser.set_defaults(func=supervisor)


def supervisor(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url is None:
        raise RuntimeError("set DAYUAN_DATABASE_URL: the supervisor needs the cases database")
    policy = DEFAULT_POLICY if args.policy is None else load_policy(args.policy)
    clock = SystemClock()
    stop = _stop_on_signals()
    with psycopg.connect(settings.database_url) as conn, _publisher(settings) as publisher:
        workflow = Workflow(clock=clock, publisher=publisher, policy=policy)
        Supervisor(conn, workflow=workflow, clock=clock).run(stop, args.interval)
    return 0


@contextmanager
def _publisher(settings: Settings) -> Iterator[Publisher]:
    if settings.mqtt_url is None:
        log.warning("DAYUAN_MQTT_URL is not set: escalations go to case_events only")
        with nullcontext(NoPublisher()) as none:
            yield none
        return
    from dayuan.settings import parse_mqtt_url

    host, port, user, password, _tls = parse_mqtt_url(settings.mqtt_url)
    with MqttPublisher.connect(
        host,
        port,
        username=user or settings.backend_username,
        password=password or settings.backend_password.get_secret_value(),
        client_id=f"{settings.gateway_id}-supervisor",
    ) as publisher:
        yield publisher


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        log.info("received %s: stopping the supervisor", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop
