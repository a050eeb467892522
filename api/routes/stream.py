"""`GET /stream`: Server-Sent Events of alarm changes and case transitions, filtered by
the caller's role and grids, resumable with `Last-Event-ID` (see api/_feed.py)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import StreamingResponse

from api import _feed
from api._access import User
from api._state import AppState
from api.deps import Reader, StateDep

router = APIRouter(tags=["stream"])


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "the live feed"}},
)
async def stream(
    user: Reader,
    state: StateDep,
    request: Request,
    last_event_id: Annotated[str | None, Header(max_length=100)] = None,
) -> StreamingResponse:
    """Events `alarm` and `case`, each with an `id:` to resume from. The first event,
    `ready`, carries the cursor the stream starts at."""
    try:
        cursor = _feed.Cursor.parse(last_event_id) if last_event_id else None
    except _feed.BadCursor as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    if cursor is None:
        cursor = await anyio.to_thread.run_sync(_head, state)
    return StreamingResponse(
        _events(state, user, cursor, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _head(state: AppState) -> _feed.Cursor:
    with state.pool.connection() as conn:
        return _feed.head(conn)


def _poll(
    state: AppState, user: User, cursor: _feed.Cursor
) -> tuple[list[tuple[str, str, bytes]], _feed.Cursor]:
    with state.pool.connection() as conn:
        return _feed.poll(conn, user, cursor)


async def _events(
    state: AppState, user: User, cursor: _feed.Cursor, request: Request
) -> AsyncIterator[bytes]:
    yield b"retry: %d\n" % _feed.RETRY_MS + _feed.frame(str(cursor), "ready", b"{}")
    quiet_since = time.monotonic()
    while not await request.is_disconnected():
        batch, cursor = await anyio.to_thread.run_sync(_poll, state, user, cursor)
        for event_id, name, data in batch:
            yield _feed.frame(event_id, name, data)
        if batch:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= _feed.KEEPALIVE_S:
            yield b": keepalive\n\n"
            quiet_since = time.monotonic()
        await anyio.sleep(_feed.POLL_S)
