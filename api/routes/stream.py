"""`GET /stream`: Server-Sent Events of alarm changes and case transitions, filtered by
the caller's role and grids, resumable with `Last-Event-ID` (see api/_feed.py). The rows
come from the app's one poller (api/_hub.py); a stream holds no database connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
import orjson
from fastapi import APIRouter, Header, HTTPException, status
from fastapi.responses import StreamingResponse

from api import _feed
from api._hub import Subscription
from api._state import AppState
from api.deps import StateDep, StreamCaller, StreamReader

router = APIRouter(tags=["stream"])


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "the live feed"},
        429: {"description": "the caller already has the most open live feeds allowed"},
    },
)
async def stream(
    caller: StreamReader,
    state: StateDep,
    last_event_id: Annotated[str | None, Header(max_length=100)] = None,
) -> StreamingResponse:
    """Events `alarm` and `case`, each with an `id:` to resume from. The first event,
    `ready`, carries the cursor the stream starts at; the last, `end`, says why the
    server ended it (`token_expired`, `account_changed`, `too_slow`, `shutdown`)."""
    try:
        cursor = _feed.Cursor.parse(last_event_id) if last_event_id else None
    except _feed.BadCursor as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    if cursor is None:
        cursor = await anyio.to_thread.run_sync(_head, state)
    return StreamingResponse(
        _events(state, caller, cursor),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _head(state: AppState) -> _feed.Cursor:
    with state.pool.connection() as conn:
        return _feed.head(conn)


def _read(
    state: AppState, cursor: _feed.Cursor
) -> tuple[tuple[_feed.Entry, ...], _feed.Cursor, bool]:
    with state.pool.connection() as conn:
        return _feed.read(conn, cursor)


async def _events(
    state: AppState, caller: StreamCaller, cursor: _feed.Cursor
) -> AsyncIterator[bytes]:
    yield b"retry: %d\n" % _feed.RETRY_MS + _feed.frame(str(cursor), "ready", b"{}")
    with state.feed.subscribe(caller.user, expires_at=caller.expires_at, epoch=caller.epoch) as sub:
        # Rows up to where the poller stood when this stream joined are read here once;
        # from there on they arrive in the queue (the cursor drops what was already had).
        while _feed.behind(cursor, sub.joined_at):
            entries, _, _ = await anyio.to_thread.run_sync(_read, state, cursor)
            if not entries:
                break
            frames, cursor = _feed.select(caller.user, cursor, entries)
            for frame in frames:
                yield _feed.frame(*frame)
        while (batch := await _next(sub)) is not None:
            if not batch:
                yield b": keepalive\n\n"
                continue
            frames, cursor = _feed.select(caller.user, cursor, batch)
            for frame in frames:
                yield _feed.frame(*frame)
        yield _feed.frame(str(cursor), "end", orjson.dumps({"reason": sub.ended or "shutdown"}))


async def _next(sub: Subscription) -> tuple[_feed.Entry, ...] | None:
    """The next batch; empty when none came for KEEPALIVE_S; None once ended."""
    with anyio.move_on_after(_feed.KEEPALIVE_S):
        return await sub.next()
    return ()
