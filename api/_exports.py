"""What the exports and the evaluation report need of the API: the caller's scope
checked against the filters asked for (403 with the reason, never a silently empty
file), the reader's language and time zone, the cases as the list route shows them
(redacted the same way), and the audit row of every export."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import HTTPException, Request, status

import care
import cases
import registry
import reports
from api import _ack, _audit, _cases, _health
from api._access import User
from api._db import Conn
from api.deps import client_address, purpose


def check_scope(user: User, *, compound: str | None, grid: str | None, party: str | None) -> None:
    """403 for a compound or grid outside the caller's grids; 422 for a grid or party
    filter without its compound (their ids repeat across compounds)."""
    if (grid or party) and compound is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "a grid or party filter needs its `compound` (ids repeat across compounds)",
        )
    if grid and party:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "filter by a grid or by a party, not both"
        )
    if compound is not None and not user.sees_compound(compound):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"compound {compound!r} is outside your grids: you cannot export its cases",
        )
    if compound is not None and grid is not None and not user.sees_grid(compound, grid):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"grid {compound}/{grid} is not one of your grids: you cannot export its cases",
        )


def language(request: Request, lang: str | None) -> reports.Language:
    return "en" if _ack.language(lang, request.headers.get("accept-language")) == "en" else "zh"


def timezone(conn: Conn, compound: str | None, asked: str | None) -> str:
    """The zone asked for (422 when it is no IANA zone), else the compound's, else UTC."""
    if not asked:
        return registry.time_zone(conn, compound) if compound else "UTC"
    try:
        ZoneInfo(asked)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"{asked!r} is not a known time zone"
        ) from exc
    return asked


def care_of_month(
    conn: Conn, scope: registry.Scope, *, compound: str, month: reports.Month, now: datetime
) -> dict[str, care.CareKpis]:
    """The grids' care figures of the month, for the evaluation ("compound/grid" keys):
    composed here since `reports` and `care` are siblings."""
    since, until = month.bounds(registry.time_zone(conn, compound))
    found = care.kpis_by_grid(conn, scope, compound=compound, now=now, since=since, until=until)
    return {f"{k.compound}/{k.grid or '-'}": k for k in found}


def renamed(user: User) -> tuple[str, frozenset[str]] | None:
    return None if user.reads_health else (_health.NEUTRAL_RULE, _health.PLAIN_ALARMS)


def case_batches(
    conn: Conn, user: User, filters: cases.CaseFilter
) -> Iterator[list[dict[str, Any]]]:
    """Every case the caller's list would show for `filters`, oldest first, a page at a
    time, redacted as the list redacts it."""
    for batch in cases.iter_cases(conn, scope=user.scope, filters=filters, renamed=renamed(user)):
        found = [_cases.public(c) for c in batch]
        _cases.redact_cases(conn, user, found)
        yield found


def redactor(conn: Conn, user: User) -> reports.Redact:
    """The evaluation's listed cases as the caller's list shows them."""

    def redact(found: Sequence[cases.Case]) -> Sequence[cases.Case]:
        if user.reads_health or not found:
            return found
        elderly = cases.elderly_alarm_cases(conn, [c.id for c in found])
        out = []
        for c in found:
            rule = elderly.get(c.id)
            if rule is not None and rule not in _health.PLAIN_ALARMS:
                c = replace(c, title=_health.NEUTRAL_TITLE, category=_health.NEUTRAL_RULE)
            out.append(c)
        return out

    return redact


def audit(
    conn: Conn,
    user: User,
    request: Request,
    *,
    action: str,
    subject: str,
    route: str,
    now: datetime,
    detail: dict[str, Any],
) -> None:
    _audit.record(
        conn,
        user,
        action=action,
        subject=subject,
        route=route,
        reason=purpose(request),
        client=client_address(request),
        now=now,
        detail={k: v for k, v in detail.items() if v is not None},
    )
