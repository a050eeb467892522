"""`dayuan parking sweep`: pair the plate reads stored since the last sweep into stays
and purge the stays, reads and visitor passes past their retention, once, from the
console - what the API's lifespan does every `DAYUAN_PARKING_SWEEP_S`. Prints what it
did as JSON."""

from __future__ import annotations

import argparse
import dataclasses
import json

import psycopg

from dayuan._users import _database
from dayuan.settings import Settings
from domain import SystemClock


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("parking", help="parking stays").add_subparsers(required=True)
    sw = group.add_parser("sweep", help="pair new plate reads into stays (idempotent)")
    sw.set_defaults(func=sweep)


def sweep(args: argparse.Namespace, settings: Settings) -> int:
    import parking

    with _database(settings) as url, psycopg.connect(url, autocommit=True) as conn:
        try:
            done = parking.sweep(conn, SystemClock().now())
        except parking.ParkingError as exc:
            raise RuntimeError(f"the parking sweep failed: {exc}") from exc
    print(json.dumps(dataclasses.asdict(done)))
    return 0
