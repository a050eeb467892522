"""The simulators' command line: `dayuan compound generate` and `dayuan simulate`.

`register` adds both to the `dayuan` parser; every command is `func(args, settings)`
returning an exit code. This is an entry point, so it is where configuration enters:
the broker URL (--mqtt-url, else `settings.mqtt_url`, i.e. DAYUAN_MQTT_URL, else
mqtt://127.0.0.1:1883), the device secret of realistic mode (`settings.device_secret`,
i.e. DAYUAN_DEVICE_SECRET), and the wall clock for the default start. Called without
settings (another CLI), the two DAYUAN_ variables are read from the environment.
Nothing is imported from `dayuan`: `settings` is anything with those two attributes.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from broker import InvalidEndpoint, MqttEndpoint
from registry import CompoundFileError, read_compound_file, write_compound_file
from simulators._errors import SimulatorError
from simulators._generate import CompoundSize, Place, Shares, generate_compound
from simulators._mqtt import MqttTarget
from simulators._run import SimulationReport, run_simulation
from simulators._scenario import load_scenario, parse_duration

DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"
MQTT_URL_ENV = "DAYUAN_MQTT_URL"
DEVICE_SECRET_ENV = "DAYUAN_DEVICE_SECRET"  # noqa: S105 - the variable name, not a secret
OPEN_ENDED_LOOKBACK = timedelta(days=1)  # an accelerated run without --duration starts a day back


class _Secret(Protocol):
    def get_secret_value(self) -> str: ...


class _Settings(Protocol):
    @property
    def mqtt_url(self) -> str | None: ...

    @property
    def device_secret(self) -> _Secret: ...


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `compound generate` and `simulate` to the main CLI's subcommands."""
    compound = subparsers.add_parser("compound", help="compound files")
    actions = compound.add_subparsers(dest="compound_command", required=True)
    _generate_parser(
        actions.add_parser(
            "generate", help="generate a compound file (or a district) with realistic defaults"
        )
    )
    _simulate_parser(
        subparsers.add_parser("simulate", help="play a compound's devices onto the MQTT broker")
    )


# --- compound generate -------------------------------------------------------------------


def _generate_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="output file (.yaml/.yml/.json)")
    parser.add_argument("--seed", type=int, default=0)
    defaults = CompoundSize()
    for spec in fields(CompoundSize):
        value = getattr(defaults, spec.name)
        parser.add_argument(
            f"--{spec.name.replace('_', '-')}",
            type=int,
            default=value,
            help=f"default: {'one per 30 m of lane' if value is None else value}",
        )
    place = Place()
    parser.add_argument("--city", default=place.city)
    parser.add_argument("--lat", type=float, default=place.lat)
    parser.add_argument("--lon", type=float, default=place.lon)
    parser.add_argument("--timezone", default=place.timezone)
    parser.add_argument(
        "--year", type=int, default=place.as_of_year, help="the year birth years are drawn against"
    )
    parser.add_argument(
        "--share",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a population share, e.g. vacant=0.08 "
        f"({', '.join(f.name for f in fields(Shares))})",
    )
    parser.set_defaults(func=_generate)


def _generate(args: argparse.Namespace, settings: _Settings | None = None) -> int:
    try:
        size = CompoundSize(**{f.name: getattr(args, f.name) for f in fields(CompoundSize)})
        shares = Shares(**_shares(args.share))
        place = Place(
            city=args.city, lat=args.lat, lon=args.lon, timezone=args.timezone, as_of_year=args.year
        )
        compounds = generate_compound(seed=args.seed, size=size, shares=shares, place=place)
        write_compound_file(args.out, compounds)
    except (ValueError, TypeError, SimulatorError, CompoundFileError) as exc:
        return _fail(str(exc), code=2 if isinstance(exc, ValueError | TypeError) else 1)
    households = sum(len(c.households) for c in compounds.compounds)
    devices = sum(len(c.devices) for c in compounds.compounds)
    print(
        f"wrote {args.out}: {len(compounds.compounds)} compound(s), "
        f"{households} households, {devices} devices"
    )
    return 0


def _shares(pairs: list[str]) -> dict[str, float]:
    names = {f.name for f in fields(Shares)}
    result = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in names:
            raise ValueError(
                f"--share {pair!r}: expected NAME=VALUE with NAME one of {', '.join(sorted(names))}"
            )
        result[name] = float(value)
    return result


# --- simulate ----------------------------------------------------------------------------


def _simulate_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--compound", type=Path, required=True, help="compound file")
    parser.add_argument("--scenario", type=Path, help="scenario file (YAML)")
    parser.add_argument(
        "--speed",
        type=float,
        default=60.0,
        help="simulated seconds per wall second (1: real time; default 60)",
    )
    parser.add_argument(
        "--duration", help="simulated time to run, e.g. 30m, 1d (default: until interrupted)"
    )
    parser.add_argument("--rate", help="flat-out: messages per second in total, or 'max'")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--mqtt-url",
        help=f"mqtt://user:pass@host:port (default: ${MQTT_URL_ENV} or {DEFAULT_MQTT_URL})",
    )
    parser.add_argument(
        "--mode",
        choices=("realistic", "fleet"),
        default="fleet",
        help="realistic: a session per device; fleet: a few shared connections",
    )
    parser.add_argument("--connections", type=int, default=2, help="fleet-mode connections")
    parser.add_argument("--manifest", type=Path, help="write the manifest (JSON lines) here")
    parser.add_argument(
        "--start",
        help="simulated start, ISO 8601 with an offset (default: "
        "now for real time, else so that the run ends now)",
    )
    parser.add_argument(
        "--no-spontaneous",
        action="store_true",
        help="only the scenario's incidents, no random ones",
    )
    parser.set_defaults(func=_simulate)


def _simulate(args: argparse.Namespace, settings: _Settings | None = None) -> int:
    try:
        options = _simulate_options(args, settings)
        report = _run_until_interrupted(options)
    except (ValueError, SimulatorError, CompoundFileError) as exc:
        return _fail(str(exc), code=2 if isinstance(exc, ValueError) else 1)
    _print_report(report)
    return 0 if report.errors == 0 else 1


def _simulate_options(args: argparse.Namespace, settings: _Settings | None) -> dict[str, Any]:
    duration = _duration(args.duration)
    rate = _rate(args.rate)
    url: str | None
    secret: str | None
    if settings is not None:
        url, secret = settings.mqtt_url, settings.device_secret.get_secret_value()
    else:
        url, secret = os.environ.get(MQTT_URL_ENV), os.environ.get(DEVICE_SECRET_ENV)
    target = mqtt_target(args.mqtt_url or url or DEFAULT_MQTT_URL, device_secret=secret)
    if args.mode == "realistic" and target.device_secret is None:
        print(
            f"dayuan: {DEVICE_SECRET_ENV} is not set: devices connect without passwords",
            file=sys.stderr,
        )
    start = _start(args.start, speed=args.speed, rate=rate, duration=duration)
    return {
        "compound": read_compound_file(args.compound),
        "target": target,
        "start": start,
        "speed": args.speed,
        "duration": duration,
        "rate": rate,
        "seed": args.seed,
        "mode": args.mode,
        "connections": args.connections,
        "manifest": args.manifest,
        "scenario": load_scenario(args.scenario) if args.scenario else None,
        "spontaneous": not args.no_spontaneous,
        "progress": True,
    }


def _run_until_interrupted(options: dict[str, Any]) -> SimulationReport:
    """Ctrl-C ends the run cleanly: the manifest is written, devices say goodbye."""
    stop = threading.Event()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        return run_simulation(stop=stop, **options)
    finally:
        signal.signal(signal.SIGINT, previous)


def mqtt_target(url: str, *, device_secret: str | None = None) -> MqttTarget:
    """mqtt[s]://[user:pass@]host[:port] -> MqttTarget (parsed as the backend parses it)."""
    try:
        return MqttTarget(MqttEndpoint.parse(url), device_secret=device_secret)
    except InvalidEndpoint as exc:
        raise ValueError(str(exc)) from exc


def _duration(text: str | None) -> timedelta | None:
    if text is None:
        return None
    value = parse_duration(text)
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValueError(f"--duration {text!r}: expected a positive duration such as 30m or 1d")
    return value


def _rate(text: str | None) -> float | None:
    if text is None:
        return None
    if text.lower() in ("max", "unlimited", "inf"):
        return math.inf
    try:
        rate = float(text)
    except ValueError:
        raise ValueError(f"--rate {text!r}: a number of messages per second, or 'max'") from None
    if not rate > 0:
        raise ValueError("--rate must be positive")
    return rate


def _start(
    text: str | None, *, speed: float, rate: float | None, duration: timedelta | None
) -> datetime:
    if text is not None:
        start = datetime.fromisoformat(text)
        if start.tzinfo is None:
            raise ValueError("--start needs a UTC offset, e.g. 2024-05-06T07:00:00+08:00")
        return start.astimezone(UTC)
    now = datetime.now(UTC).replace(microsecond=0)
    if rate is None and speed <= 1:
        return now  # real time: device clocks agree with the wall
    # Faster than real time: start in the past so that no timestamp lies in the future.
    return now - (duration if duration is not None else OPEN_ENDED_LOOKBACK)


def _print_report(report: SimulationReport) -> None:
    kinds = ", ".join(f"{k} {n:,}" for k, n in sorted(report.per_kind.items()))
    print(
        f"sent {report.messages:,} messages ({report.objects:,} objects; {kinds}) "
        f"in {report.wall_seconds:.1f}s ({report.rate:,.0f}/s), simulated "
        f"{report.simulated_span}; acknowledged {report.acknowledged:,} "
        f"({report.no_subscribers:,} to no subscriber; {report.resent:,} published again"
        " after one), "
        f"errors {report.errors}, commands received {report.commands:,}"
    )
    for sample in report.error_samples:
        print(f"  error: {sample}", file=sys.stderr)


def _fail(message: str, *, code: int) -> int:
    print(f"dayuan: error: {message}", file=sys.stderr)
    return code
