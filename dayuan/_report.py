"""`dayuan report evaluation`: the month's evaluation report (考核) of a compound, per
grid or per party, written as PDF from the console - what the API's
`/reports/evaluation.pdf` serves, for the whole compound (an operator on the database's
host, not a scoped API user; not in the API's audit log)."""

from __future__ import annotations

import argparse
from pathlib import Path

import psycopg

import cases
import registry
from dayuan._users import _database
from dayuan.settings import Settings
from domain import SystemClock


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser("report", help="reports").add_subparsers(required=True)
    ev = report.add_parser("evaluation", help="the monthly evaluation report (PDF)")
    ev.add_argument("--compound", required=True, help="the compound's id")
    ev.add_argument("--month", required=True, help="YYYY-MM, in the compound's time zone")
    ev.add_argument("--by", choices=["grid", "party"], default="grid")
    ev.add_argument("--lang", choices=["zh", "en"], default="zh")
    ev.add_argument("--out", type=Path, required=True, help="the PDF file to write")
    ev.set_defaults(func=evaluation)


def evaluation(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: the parser registers this command for every process, and a gateway
    # should not load openpyxl and ReportLab to start.
    import care
    import reports

    try:
        month = reports.Month.parse(args.month)
    except reports.InvalidPeriod as exc:
        raise ValueError(str(exc)) from exc
    now = SystemClock().now()
    with _database(settings) as url, psycopg.connect(url, autocommit=True) as conn:
        # `reports` and `care` are siblings: the console composes them, as the API does.
        since, until = month.bounds(registry.time_zone(conn, args.compound))
        grids = care.kpis_by_grid(
            conn, registry.EVERYTHING, compound=args.compound, now=now, since=since, until=until
        )
        found = reports.evaluate(
            conn,
            compound=args.compound,
            month=month,
            by=cases.KpiDimension(args.by),
            now=now,
            care={f"{k.compound}/{k.grid or '-'}": k for k in grids},
        )
    args.out.write_bytes(reports.render(found, args.lang))
    sections = len(found.sections)
    print(f"wrote {args.out}: {month} of {args.compound}, {sections} {args.by} section(s)")
    return 0
