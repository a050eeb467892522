"""The `dayuan rules ...` subcommands.

`register` adds `rules` (replay, check) to the `dayuan` parser (`dayuan bench rules`
lives in `bench`). Every command is `func(args, settings) -> int`; only
`settings.database_url` is read, so this module needs nothing from `dayuan`.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import psycopg

from rules._alarms import AlarmChange
from rules._definitions import load_rules
from rules._errors import RulesError
from rules._replay import replay

SubParsers = Any  # argparse._SubParsersAction[argparse.ArgumentParser], private in typeshed


class _Settings(Protocol):
    @property
    def database_url(self) -> str | None: ...


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 instant") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a UTC offset (e.g. +08:00 or Z)")
    return value


def register(subparsers: SubParsers) -> SubParsers:
    """Add `rules replay` and `rules check`; return the `rules` group for the entry
    point to add the commands that need its wiring (`rules run`)."""
    rules = subparsers.add_parser("rules", help="the rule engine").add_subparsers(required=True)
    rep = rules.add_parser("replay", help="re-evaluate stored history; raises nothing")
    rep.add_argument("--from", dest="start", type=_instant, required=True, metavar="T1")
    rep.add_argument("--to", dest="end", type=_instant, required=True, metavar="T2")
    rep.add_argument("--rule", action="append", metavar="R", help="only this rule (repeatable)")
    rep.add_argument("--rules-file", type=Path, help="a tuned rule file (default: catalogue)")
    rep.add_argument("--json", action="store_true", help="print every alarm change as JSON")
    rep.set_defaults(func=replay_command)
    check = rules.add_parser("check", help="validate a rule file")
    check.add_argument("file", type=Path, nargs="?")
    check.set_defaults(func=check_command)
    return rules


def check_command(args: argparse.Namespace, settings: _Settings) -> int:
    try:
        ruleset = load_rules(args.file)
    except RulesError as exc:
        print(f"invalid: {exc}", file=sys.stderr)
        return 1
    print(f"ok: {len(ruleset.rules)} rules ({len(ruleset.enabled())} enabled), {ruleset.version}")
    return 0


def replay_command(args: argparse.Namespace, settings: _Settings) -> int:
    if settings.database_url is None:
        raise RulesError("set DAYUAN_DATABASE_URL: replay reads stored history")
    ruleset = load_rules(args.rules_file)
    with psycopg.connect(settings.database_url) as conn:
        report = replay(conn, ruleset, start=args.start, end=args.end, only=args.rule)
    if args.json:
        for change in report.changes:
            print(json.dumps(change_json(change), ensure_ascii=False))
    print(json.dumps(report.summary(), indent=2, ensure_ascii=False))
    return 0


def change_json(c: AlarmChange) -> dict[str, Any]:
    return {
        "change": c.change.value,
        "alarm": c.alarm_id,
        "fingerprint": c.fingerprint,
        "rule": c.rule_id,
        "version": c.rule_version,
        "severity": c.severity.value,
        "compound": c.compound,
        "device": c.device,
        "flat": c.flat,
        "count": c.count,
        "first_seen": c.first_seen.isoformat(),
        "last_seen": c.last_seen.isoformat(),
        "cleared_at": c.cleared_at.isoformat() if c.cleared_at else None,
        "flapping": c.flapping,
        "values": dict(c.values),
    }
