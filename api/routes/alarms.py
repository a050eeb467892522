"""Alarms raised by the rule engine."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, status

from api import _cursor, _health, _history
from api._access import User
from api._db import Conn
from api.deps import DbDep, Reader, StateDep
from api.models import AlarmPublic, AlarmsPublic
from api.routes._params import Cursor, From, IdQuery, Limit, Offset, To

router = APIRouter(prefix="/alarms", tags=["alarms"])
_EMPTY = {
    "compound": None,
    "severity": None,
    "rule": None,
    "device": None,
    "id": None,
    "start": None,
    "end": None,
    "open": None,
}


@router.get("")
def list_alarms(
    user: Reader,
    conn: DbDep,
    state: StateDep,
    request: Request,
    state_: Annotated[Literal["open", "cleared"] | None, Query(alias="state")] = None,
    compound: IdQuery = None,
    severity: Literal["critical", "major", "minor", "warning"] | None = None,
    rule: Annotated[str | None, Query(pattern=r"^[a-z0-9_]{1,64}$")] = None,
    device: IdQuery = None,
    start: From = None,
    end: To = None,
    limit: Limit = 100,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> AlarmsPublic:
    filters = {
        **_EMPTY,
        "compound": compound,
        "severity": severity,
        "rule": rule,
        "device": device,
        "start": start,
        "end": end,
        "open": None if state_ is None else state_ == "open",
    }
    """Alarms in the caller's scope. An elderly-care alarm is shown to every role (the
    monitoring room must act on it), its trigger values (health readings) only to care
    responders and administrators, audited; for the rest they are `redacted`. Newest
    first (by id); walk the list with `cursor` (the previous page's `next_cursor`)."""
    before = _cursor.decode_id(state.key, "alarms", cursor)
    found, count = _history.alarms(
        conn,
        user,
        filters=filters,
        limit=limit + 1,
        offset=offset,
        before=before,
    )
    data, next_cursor = _cursor.page(state.key, "alarms", found, limit, lambda a: (a["id"],))
    _audit_health(conn, user, request, state, data, "GET /api/v1/alarms")
    return AlarmsPublic(
        data=[AlarmPublic.model_validate(a) for a in data], count=count, next_cursor=next_cursor
    )


@router.get("/{alarm_id}")
def get_alarm(
    alarm_id: Annotated[int, Path(ge=1, le=2**62)],
    user: Reader,
    conn: DbDep,
    state: StateDep,
    request: Request,
) -> AlarmPublic:
    data, _ = _history.alarms(conn, user, filters={**_EMPTY, "id": alarm_id}, limit=1, offset=0)
    if not data:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alarm {alarm_id} (or not yours)")
    _audit_health(conn, user, request, state, data, "GET /api/v1/alarms/{alarm_id}")
    return AlarmPublic.model_validate(data[0])


def _audit_health(
    conn: Conn,
    user: User,
    request: Request,
    state: StateDep,
    data: list[dict[str, Any]],
    route: str,
) -> None:
    shown = [a for a in data if a["elderly_care"] and a["values"] and user.reads_health]
    if shown:
        _health.record_read(
            conn,
            user,
            request,
            route=route,
            subject="alarms " + ",".join(str(a["id"]) for a in shown[:50]),
            devices=[a["device_id"] or f"{a['compound']}/{a['flat']}" for a in shown],
            now=state.clock.now(),
        )
