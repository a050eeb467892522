"""Alarms raised by the rule engine."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status

from api import _history
from api.deps import DbDep, Reader
from api.models import AlarmPublic, AlarmsPublic
from api.routes._params import From, IdQuery, Limit, Offset, To

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
    state_: Annotated[Literal["open", "cleared"] | None, Query(alias="state")] = None,
    compound: IdQuery = None,
    severity: Literal["critical", "major", "minor", "warning"] | None = None,
    rule: Annotated[str | None, Query(pattern=r"^[a-z0-9_]{1,64}$")] = None,
    device: IdQuery = None,
    start: From = None,
    end: To = None,
    limit: Limit = 100,
    offset: Offset = 0,
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
    data, count = _history.alarms(conn, user, filters=filters, limit=limit, offset=offset)
    return AlarmsPublic(data=[AlarmPublic.model_validate(a) for a in data], count=count)


@router.get("/{alarm_id}")
def get_alarm(
    alarm_id: Annotated[int, Path(ge=1, le=2**62)], user: Reader, conn: DbDep
) -> AlarmPublic:
    data, _ = _history.alarms(conn, user, filters={**_EMPTY, "id": alarm_id}, limit=1, offset=0)
    if not data:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alarm {alarm_id} (or not yours)")
    return AlarmPublic.model_validate(data[0])
