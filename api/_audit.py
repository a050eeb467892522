"""The audit log: every read of personal data and every device command, with who, what,
when, through which route and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from api._access import User
from api._db import Conn, row, rows


def record(
    conn: Conn,
    user: User,
    *,
    action: str,
    subject: str,
    route: str,
    reason: str | None,
    client: str | None,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        "INSERT INTO api_audit (at, actor, role, action, subject, route, reason, client, detail)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            now,
            user.username,
            user.role.value,
            action,
            subject,
            route,
            reason,
            client,
            Jsonb(detail or {}),
        ),
    )


def entries(
    conn: Conn,
    *,
    actor: str | None,
    action: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
    organisations: list[str] | None = None,
    before: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """The log, newest first: of the accounts of these organisations (None: everyone's);
    with `before`, the entries of a smaller id (a keyset page; the count of them all)."""
    where = (
        " WHERE (%(actor)s::text IS NULL OR actor = %(actor)s)"
        " AND (%(orgs)s::text[] IS NULL OR actor IN (SELECT username FROM api_users"
        "   WHERE organisation_id = ANY(%(orgs)s)))"
        " AND (%(action)s::text IS NULL OR action = %(action)s)"
        " AND (%(start)s::timestamptz IS NULL OR at >= %(start)s)"
        " AND (%(end)s::timestamptz IS NULL OR at < %(end)s)"
    )
    params = {"actor": actor, "action": action, "start": start, "end": end, "orgs": organisations}
    data = rows(
        conn,
        "SELECT id, at, actor, role, action, subject, route, reason, client, detail"
        f" FROM api_audit{where}"
        + ("" if before is None else " AND id < %(before)s")
        + " ORDER BY id DESC LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": limit, "offset": offset, "before": before},
    )
    total = row(conn, f"SELECT count(*) AS n FROM api_audit{where}", params)
    return data, int(total["n"]) if total else 0
