"""Alarms as others read them: a page at a time under a reader's `registry.Scope` (a
grid-bound reader sees the alarms of the buildings of their grids, by the flat, else by
the device's address; an elderly-care reader the elderly-care alarms; the rest all), and
the open ones counted by severity for the monitoring gauges. The device's place comes
from the registry's `device_places` view. Rows come back as dicts (the API's models
read them); psycopg's errors leave as `AlarmStoreError`."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

from domain import Severity
from registry import Scope
from rules._errors import AlarmStoreError

Conn = psycopg.Connection[Any]

_COLUMNS = (
    "a.id, a.rule_id, a.title, a.severity, a.compound_id AS compound, a.device_id, a.flat,"
    " a.subject, a.count, a.first_seen, a.last_seen, a.opened_at, a.updated_at, a.cleared_at,"
    " a.flapping, a.trigger_values AS values,"
    " (a.flat IS NOT NULL OR d.kind = 'elder') AS elderly_care"
)
_FROM = """
FROM alarms a LEFT JOIN device_places d ON d.id = a.device_id
WHERE (%(compound)s::text IS NULL OR a.compound_id = %(compound)s)
  AND (%(severity)s::text IS NULL OR a.severity = %(severity)s)
  AND (%(rule)s::text IS NULL OR (CASE WHEN %(neutral)s::text IS NOT NULL
        AND (a.flat IS NOT NULL OR d.kind = 'elder') AND a.rule_id <> ALL(%(plain)s)
        THEN %(neutral)s ELSE a.rule_id END) = %(rule)s)
  AND (%(device)s::text IS NULL OR a.device_id = %(device)s)
  AND (%(id)s::bigint IS NULL OR a.id = %(id)s)
  AND (%(start)s::timestamptz IS NULL OR a.opened_at >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR a.opened_at < %(end)s)
  AND (%(open)s::boolean IS NULL OR (a.cleared_at IS NULL) = %(open)s)
"""


def _scoped(scope: Scope) -> str:
    if scope.grid_bound:
        return scope.address_filter("a.compound_id", "coalesce(a.flat, d.address)")
    where = scope.within_filter("a.compound_id")
    if scope.elderly_only:
        where += " AND (a.flat IS NOT NULL OR d.kind = 'elder')"
    return where


@contextmanager
def _reading() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise AlarmStoreError(f"cannot read the alarms: {exc}".strip()) from exc


def _rows(conn: Conn, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with _reading(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()


def alarm_page(
    conn: Conn,
    scope: Scope,
    *,
    filters: dict[str, Any],
    limit: int,
    offset: int,
    renamed: tuple[str, Collection[str]] | None = None,
    before: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of the alarms the reader sees, newest first (by id), and how many there are
    (with `before`: only alarms of a smaller id, a keyset page; the count of them all).
    `filters` (None: any): compound, severity, rule, device, id, start and end (of
    opened_at), open. Each row says whether it is `elderly_care` (of a flat, or of an
    elderly-care device). With `renamed` = (name, kept), the reader knows elderly-care
    alarms of rules other than `kept` only by `name`: the `rule` filter matches them by
    that name and never by their own (so a count cannot confirm a reading's rule)."""
    where = _FROM + _scoped(scope)
    neutral, plain = renamed if renamed is not None else (None, ())
    params = {**filters, **scope.params(), "neutral": neutral, "plain": sorted(plain)}
    data = _rows(
        conn,
        f"SELECT {_COLUMNS} {where}"
        + ("" if before is None else " AND a.id < %(before)s")
        + " ORDER BY a.id DESC LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": limit, "offset": offset, "before": before},
    )
    total = _rows(conn, f"SELECT count(*) AS n {where}", params)
    return data, int(total[0]["n"]) if total else 0


def open_alarms_by_severity(conn: Conn) -> dict[Severity, int]:
    """The open (not cleared) alarms by severity, in order of the severity's name; a
    severity without an open alarm is left out."""
    with _reading():
        found = conn.execute(
            "SELECT severity, count(*) FROM alarms WHERE cleared_at IS NULL"
            " GROUP BY severity ORDER BY severity"
        ).fetchall()
    return {Severity(severity): int(n) for severity, n in found}
