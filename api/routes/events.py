"""Device events; gate access and plate reads (personal data) apart, audited."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status

import ingest
from api import _audit, _cursor, _health, _history
from api._access import Permission, User
from api._db import Conn
from api.deps import DbDep, Reader, StateDep, client_address, purpose, require
from api.models import EventPublic, EventsPublic
from api.routes._params import Cursor, From, IdQuery, Limit, Offset, To
from domain import Kind

router = APIRouter(prefix="/events", tags=["events"])
AccessReader = Annotated[User, Depends(require(Permission.READ_ACCESS_EVENTS))]
TypeQuery = Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$")]
ChannelQuery = Literal["event", "status", "ack"] | None


def _window(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    end = end or now
    start = start or end - timedelta(days=1)
    if end <= start:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "`to` must be after `from`")
    if end - start > _history.MAX_EVENT_RANGE:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"the range is longer than {_history.MAX_EVENT_RANGE.days} days; ask in parts",
        )
    return start, end


def _key(event: dict[str, Any]) -> _cursor.Key:
    seq = event["seq"]
    return (event["ts"], event["device_id"], event["type"], -1 if seq is None else seq)


def _read(
    conn: Conn,
    user: User,
    table: Literal["events", "access_events"],
    window: tuple[datetime, datetime],
    filters: dict[str, str | None],
    paging: tuple[int, int, str | None, str],
) -> EventsPublic:
    """`paging`: limit, offset, cursor and the key that signs cursors."""
    limit, offset, cursor, secret = paging
    after = _cursor.decode(secret, table, cursor)
    found, count = _history.events(
        conn,
        user,
        table=table,
        start=window[0],
        end=window[1],
        filters=filters,
        limit=limit + 1,
        offset=offset,
        after=None if after is None else cast(ingest.EventKey, after),
    )
    data, next_cursor = _cursor.page(secret, table, found, limit, _key)
    return EventsPublic(
        data=[EventPublic.model_validate(e) for e in data], count=count, next_cursor=next_cursor
    )


@router.get("")
def list_events(
    user: Reader,
    conn: DbDep,
    state: StateDep,
    request: Request,
    start: From = None,
    end: To = None,
    device: IdQuery = None,
    compound: IdQuery = None,
    kind: Kind | None = None,
    type_: Annotated[str | None, Query(alias="type", pattern=r"^[a-z_]{1,32}$")] = None,
    channel: ChannelQuery = None,
    limit: Limit = 100,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> EventsPublic:
    """Events that name no person, newest first (default: the last 24 hours; at most 31
    days, and `to` after `from`: 422 otherwise; walking by `cursor`, give `to` so that the
    window does not move on). Of
    elderly-care devices, care responders and administrators see every event (audited);
    the other roles see SOS and fall events without their data (`redacted`), nothing else."""
    now = state.clock.now()
    window = _window(start, end, now)
    filters = {
        "device": device,
        "compound": compound,
        "kind": kind.value if kind else None,
        "type": type_,
        "channel": channel,
    }
    page = _read(conn, user, "events", window, filters, (limit, offset, cursor, state.key))
    elderly = [e.device_id for e in page.data if e.kind == _health.ELDER]
    if elderly and user.reads_health:
        _health.record_read(
            conn,
            user,
            request,
            route="GET /api/v1/events",
            subject=f"device={device or '*'} compound={compound or '*'} kind={kind or '*'}",
            devices=elderly,
            now=now,
            detail={"from": window[0].isoformat(), "to": window[1].isoformat()},
        )
    return page


@router.get("/access")
def list_access_events(
    user: AccessReader,
    conn: DbDep,
    state: StateDep,
    request: Request,
    start: From = None,
    end: To = None,
    device: IdQuery = None,
    compound: IdQuery = None,
    type_: Annotated[Literal["access", "plate"] | None, Query(alias="type")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> EventsPublic:
    """Gate access (person refs) and plate reads: personal data; every read is audited.
    At most 31 days, `to` after `from` (422 otherwise)."""
    now = state.clock.now()
    window = _window(start, end, now)
    filters = {"device": device, "compound": compound, "kind": None, "type": type_, "channel": None}
    paging = (limit, offset, cursor, state.key)
    page = _read(conn, user, "access_events", window, filters, paging)
    _audit.record(
        conn,
        user,
        action="read_access_events",
        subject=f"device={device or '*'} compound={compound or '*'} type={type_ or '*'}",
        route="GET /api/v1/events/access",
        reason=purpose(request),
        client=client_address(request),
        now=now,
        detail={
            "from": window[0].isoformat(),
            "to": window[1].isoformat(),
            "rows": len(page.data),
        },
    )
    return page
