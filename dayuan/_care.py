"""`dayuan care sweep`: one pass of the care programmes' sweep from the console (what
the API's lifespan runs every minute): follow-up visits for cases closed in that mode,
and a case for each visit overdue past the grace and each missed meal, exactly once
however often it runs. `--every S` repeats it until Ctrl-C, for a deployment that runs
it beside the API rather than in it. Case transitions go to MQTT when
DAYUAN_MQTT_URL is set."""

from __future__ import annotations

import argparse

import psycopg

import broker
import care
from dayuan import wiring
from dayuan._signals import stop_on_signals
from dayuan._users import _database
from dayuan.settings import Settings
from domain import SystemClock


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("care", help="care programmes").add_subparsers(required=True)
    sw = group.add_parser(
        "sweep", help="schedule follow-ups; turn overdue visits and missed meals into cases"
    )
    sw.add_argument(
        "--every", type=float, default=0.0, help="repeat every S seconds until Ctrl-C (0: once)"
    )
    sw.set_defaults(func=sweep)


def sweep(args: argparse.Namespace, settings: Settings) -> int:
    clock = SystemClock()
    stop = stop_on_signals()
    mqtt = settings.mqtt_as(broker.BackendRole.CASES)
    with (
        _database(settings) as url,
        psycopg.connect(url, autocommit=True) as conn,
        wiring.case_workflow(settings, mqtt, clock=clock, role="care") as workflow,
    ):
        while True:
            done = care.run_once(conn, workflow, clock.now())
            print(
                f"care sweep: {done.follow_ups} follow-up(s) scheduled, {done.visit_cases}"
                f" overdue visit(s), {done.meal_cases} missed meal(s) and"
                f" {done.unrecorded_cases} meal(s) not recorded became cases",
                flush=True,
            )
            if args.every <= 0 or stop.wait(args.every):
                return 0
