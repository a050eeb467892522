"""The app's one feed poller and the open streams it feeds.

Every `POLL_S` the hub reads what is new in the feed (api/_feed.py) with one short-lived
connection and hands the rows, unfiltered, to each subscribed stream's bounded queue;
each stream filters for its own user. The hub also ends subscriptions: when the token
expires (by the injected clock), when the account is disabled, deleted or changed
(looked up every `recheck_s` for all subscribed users at once), and when a stream's queue
overflows (a client too slow to read; it reconnects with `Last-Event-ID`). It counts the
open streams per user, so that the route can refuse one too many.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Literal

import anyio
import psycopg
from psycopg_pool import ConnectionPool

import cases
import rules
from api import _feed, _users
from api._access import User
from api._db import Conn
from domain import Clock

log = logging.getLogger(__name__)

# Batches a stream may have waiting: at one batch per poll, a client that has not read
# for this many polls is ended rather than buffered without bound.
QUEUE_DEPTH = 64

End = Literal["token_expired", "account_changed", "too_slow", "shutdown"]
Batch = tuple[_feed.Entry, ...]


class Subscription:
    """One open stream's place in the hub: its queue and why it was ended, if it was."""

    def __init__(
        self, user: User, expires_at: datetime, joined_at: _feed.Cursor, *, epoch: int = 0
    ) -> None:
        self.user = user
        self.expires_at = expires_at
        self.epoch = epoch  # the token's: a password change since ends the stream
        self.joined_at = joined_at  # every row after this reaches the queue
        self.ended: End | None = None
        self._send, self._receive = anyio.create_memory_object_stream[Batch](QUEUE_DEPTH)

    async def next(self) -> Batch | None:
        """The next batch of rows, or None once the subscription is ended."""
        if self.ended is not None:
            return None
        try:
            batch = await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            return None
        return None if self.ended is not None else batch

    def offer(self, batch: Batch) -> None:
        if self.ended is not None:
            return
        try:
            self._send.send_nowait(batch)
        except anyio.WouldBlock:
            self.end("too_slow")

    def end(self, reason: End) -> None:
        if self.ended is None:
            self.ended = reason
        self._send.close()

    def close(self) -> None:
        self._send.close()
        self._receive.close()


class FeedHub:
    def __init__(
        self,
        pool: ConnectionPool[Conn],
        clock: Clock,
        *,
        streams_per_user: int,
        recheck_s: float,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._per_user = streams_per_user
        self._recheck = timedelta(seconds=recheck_s)
        self._subs: set[Subscription] = set()
        self._streams: Counter[str] = Counter()
        self._cursor = _feed.Cursor(0, 0)
        self._checked_at: datetime | None = None

    def start(self) -> None:
        """Begin at the feed's head (blocking: run it in a thread before serving)."""
        with self._pool.connection() as conn:
            self._cursor = _feed.head(conn)

    def claim(self, username: str) -> bool:
        """Count one more open stream of this user, unless they have the most allowed."""
        if self._streams[username] >= self._per_user:
            return False
        self._streams[username] += 1
        return True

    def release(self, username: str) -> None:
        self._streams[username] -= 1
        if self._streams[username] <= 0:
            del self._streams[username]

    @contextlib.contextmanager
    def subscribe(
        self, user: User, *, expires_at: datetime, epoch: int = 0
    ) -> Iterator[Subscription]:
        sub = Subscription(user, expires_at, self._cursor, epoch=epoch)
        self._subs.add(sub)
        try:
            yield sub
        finally:
            self._subs.discard(sub)
            sub.close()

    async def run(self) -> None:
        """Poll until cancelled; then end every subscription."""
        try:
            while True:
                try:
                    await self._tick()
                except (psycopg.Error, rules.RulesError, cases.CasesError) as exc:
                    log.warning("the live feed could not be read (%s); retrying", exc)
                await anyio.sleep(_feed.POLL_S)
        finally:
            for sub in list(self._subs):
                sub.end("shutdown")

    async def _tick(self) -> None:
        now = self._clock.now()
        for sub in list(self._subs):  # first: an expired token ends even if reads fail
            if sub.expires_at <= now:
                sub.end("token_expired")
        if not self._subs:
            head = await anyio.to_thread.run_sync(self._head)
            if not self._subs:  # nobody joined at the old cursor meanwhile
                self._cursor = head
        more = True
        while more and self._subs:
            batch, self._cursor, more = await anyio.to_thread.run_sync(self._read, self._cursor)
            if batch:
                for sub in list(self._subs):
                    sub.offer(batch)
        if self._subs and (self._checked_at is None or now - self._checked_at >= self._recheck):
            self._checked_at = now
            await self._recheck_accounts()

    async def _recheck_accounts(self) -> None:
        names = sorted({sub.user.username for sub in self._subs})
        fresh = await anyio.to_thread.run_sync(self._users, names)
        for sub in list(self._subs):
            name = sub.user.username
            if name in fresh and fresh[name] != (sub.user, sub.epoch):
                sub.end("account_changed")

    def _head(self) -> _feed.Cursor:
        with self._pool.connection() as conn:
            return _feed.head(conn)

    def _read(self, cursor: _feed.Cursor) -> tuple[Batch, _feed.Cursor, bool]:
        with self._pool.connection() as conn:
            return _feed.read(conn, cursor)

    def _users(self, names: list[str]) -> dict[str, tuple[User, int] | None]:
        with self._pool.connection() as conn:
            return {name: _users.active_account(conn, name) for name in names}
