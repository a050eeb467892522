"""The notifier: plans the outbox and delivers what is due, at least once.

One pass: plan (outbox rows -> notifications, one transaction), run the repeat rounds
that are due (`notify._repeat`, one transaction), claim a batch of due
rows (one short transaction), deliver each outside any transaction on a small pool of
threads, and record each outcome (one short transaction each). Several notifiers may
run against one database: SKIP LOCKED shares the rows, the lease and the fenced
outcome updates (`notify._store`) keep a row from being delivered by two at once
while both live, and a killed notifier's rows come back when their lease ends.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

import cases
import registry
from domain import Clock
from notify import _plan, _repeat, _store, _wake
from notify._channels import CHANNEL_TIMEOUT_S, Deliver
from notify._db import transaction
from notify._errors import DeliveryFailed, NotifyError
from notify._links import Links
from notify._model import DEFAULT_NOTIFY_POLICY, Message, NotifyPolicy, public_channel
from notify._text import text

log = logging.getLogger(__name__)

# An idle notifier sleeps until a NOTIFY (notify._wake), the earliest timed work or the
# safety-net poll (notify._wake.SAFETY_POLL_S), but never less than this: a row due
# "now" that another notifier holds must not make it spin.
MIN_WAIT_S = 0.05
# Deliveries in flight per notifier: a slow channel holds one thread, not the rest.
WORKERS = 4
# Rows claimed per pass: a couple per worker, so a pass never claims more than it can
# start before their lease matters.
CLAIM_BATCH = 2 * WORKERS
# A claimed row is due again this long after its claim: a notifier killed mid-delivery
# loses nothing, and any one delivery ends well before (CHANNEL_TIMEOUT_S each try).
LEASE = timedelta(seconds=max(60.0, 6 * CHANNEL_TIMEOUT_S))
# Retries: 2 s, 4 s, 8 s ... capped at 5 min, given up after 12 attempts (about half an
# hour): a channel's outage of minutes is ridden out, a dead address is named.
BACKOFF_BASE = timedelta(seconds=2)
BACKOFF_CAP = timedelta(minutes=5)
MAX_ATTEMPTS = 12
# Per channel (scheme, host, port) and notifier: a burst of alarms must not get us
# throttled or banned by a mail relay or an SMS gateway.
RATE_PER_S = 5.0
RATE_BURST = 10


# What a pass may meet and outlive: the database or the registry away for a while.
_PASS_ERRORS = (NotifyError, cases.CasesError, registry.RegistryError, psycopg.Error, PoolTimeout)


def backoff(attempt: int) -> timedelta:
    """The wait after failed attempt `attempt` (1-based)."""
    wait: timedelta = BACKOFF_BASE * 2 ** (attempt - 1)
    return min(BACKOFF_CAP, wait)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: datetime


@dataclass
class RateLimit:
    """A token bucket per channel: `take` is the wait before the next message may go."""

    per_s: float = RATE_PER_S
    burst: int = RATE_BURST
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, channel: str, now: datetime) -> timedelta:
        with self._lock:
            b = self._buckets.setdefault(channel, _Bucket(float(self.burst), now))
            elapsed = max(0.0, (now - b.at).total_seconds())
            b.tokens, b.at = min(float(self.burst), b.tokens + elapsed * self.per_s), now
            if b.tokens >= 1:
                b.tokens -= 1
                return timedelta()
            return timedelta(seconds=(1 - b.tokens) / self.per_s)


def channel_key(url: str) -> str:
    """What the rate limit counts per: scheme, host and port (never the credentials)."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}:{parts.port}"
    except ValueError:
        return url.split("://", 1)[0]


@dataclass
class NotifierMetrics:
    """This process's counters (the database's gauges are `notify.counts_by_state`)."""

    planned: int = 0
    repeated: int = 0  # notifications made by repeat rounds
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0
    lost_claims: int = 0  # outcomes not written: the lease had passed to another
    idle: int = 0  # passes that found nothing to do (the notifier then waits)
    woken: int = 0  # idle waits ended by a NOTIFY (not by the poll or a timed row)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)


class Notifier:
    """Plans and delivers notifications from one database; `run` until stopped."""

    def __init__(
        self,
        db: ConnectionPool,
        *,
        clock: Clock,
        deliver: Deliver,
        name: str | None = None,
        policy: NotifyPolicy = DEFAULT_NOTIFY_POLICY,
        recipients: _plan.Recipients = _plan.staff_recipients,
        call_list: _plan.CallList = _plan.staff_call_list,
        links: Links | None = None,
        rate: RateLimit | None = None,
        lease: timedelta = LEASE,
    ) -> None:
        """`links`: where each message's acknowledgement link points and what signs it
        (None: messages carry no link)."""
        self._db = db
        self._clock = clock
        self._deliver = deliver
        self.name = name or f"{socket.gethostname()}:{threading.get_native_id()}"
        self._policy = policy
        self._recipients = recipients
        self._call_list = call_list
        self._links = links
        self._rate = rate or RateLimit()
        self._lease = lease
        self.metrics = NotifierMetrics()

    def run(self, stop: threading.Event, *, interval_s: float = _wake.SAFETY_POLL_S) -> None:
        """Pass after pass while there is work; idle, wait for a NOTIFY on the outbox's
        channel, the earliest timed work, or `interval_s` (the safety-net poll)."""
        listener = _wake.Listener(self._listen_connection)
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="notify") as pool, listener:
            while not stop.is_set():
                listener.listen()  # before the pass: a NOTIFY sent during it is kept
                wait = interval_s
                try:
                    if self.run_once(pool):
                        continue
                    self.metrics.add("idle")
                    wait = min(interval_s, self._until_due())
                except _PASS_ERRORS as exc:
                    log.warning("notifier pass failed, will retry: %s", exc)
                if listener.wait(stop, max(MIN_WAIT_S, wait)):
                    self.metrics.add("woken")

    def _listen_connection(self) -> psycopg.Connection[Any]:
        """A connection of its own (not the pool's: it stays LISTENing), to the pool's
        database with the pool's connection settings."""
        info, kwargs = self._db.conninfo, self._db.kwargs
        conninfo = info() if callable(info) else info
        settings = kwargs() if callable(kwargs) else dict(kwargs or {})
        return psycopg.connect(conninfo, **{**settings, "autocommit": True})

    def _until_due(self) -> float:
        with self._db.connection() as conn:
            due = _store.next_due(conn)
        return float("inf") if due is None else (due - self._clock.now()).total_seconds()

    def run_once(self, pool: ThreadPoolExecutor | None = None) -> bool:
        """One pass; True when it found work (the next pass follows at once)."""
        planned = self.plan()
        repeated = self.repeat()
        claims = self.claim()
        if pool is None:
            for c in claims:
                self._attempt(c)
        else:
            list(pool.map(self._attempt, claims))
        return bool(planned or repeated or claims)

    def plan(self) -> int:
        with self._db.connection() as conn, transaction(conn):
            made = _plan.plan_pending(
                conn, policy=self._policy, recipients=self._recipients, now=self._clock.now()
            )
        self.metrics.add("planned", made)
        return made

    def repeat(self) -> int:
        with self._db.connection() as conn, transaction(conn):
            made = _repeat.run_due(
                conn, policy=self._policy, call_list=self._call_list, now=self._clock.now()
            )
        self.metrics.add("repeated", made)
        return made

    def claim(self) -> list[_store.Claim]:
        with self._db.connection() as conn, transaction(conn):
            return _store.claim_due(
                conn, claimer=self.name, now=self._clock.now(), lease=self._lease, limit=CLAIM_BATCH
            )

    def _attempt(self, claim: _store.Claim) -> None:
        try:
            self._attempt_once(claim)
        except (NotifyError, psycopg.Error, PoolTimeout) as exc:
            # The outcome could not be written: the lease brings the row back.
            log.warning(
                "notification %d: outcome not recorded (%s); it will be retried", claim.id, exc
            )

    def _attempt_once(self, claim: _store.Claim) -> None:
        wait = self._rate.take(channel_key(claim.channel), self._clock.now())
        if wait > timedelta():
            self._record("deferred", _store.defer, claim, self._clock.now() + wait)
            return
        try:
            self._deliver(claim.channel, self._linked(claim))
        except DeliveryFailed as exc:
            self._failed(claim, exc)
            return
        except Exception as exc:  # a channel library's bug must not stop every delivery
            log.exception("notification %d: the channel raised", claim.id)
            failed = DeliveryFailed(public_channel(claim.channel) or "?", repr(exc)[:500])
            self._failed(claim, failed)
            return
        self._record("sent", _store.mark_sent, claim, self._clock.now())

    def _linked(self, claim: _store.Claim) -> Message:
        """The message with its acknowledgement link (the same on every attempt)."""
        if self._links is None or claim.message.recipient.startswith(_plan.FAMILY):
            return claim.message  # a relative cannot acknowledge for the responders
        url = self._links.url(claim.id, claim.created_at)
        m = claim.message
        body = f"{m.body}\n{text(str(m.document.get('language', '')), 'ack', url=url)}"
        document = {**m.document, "ack_url": url}
        return Message(
            m.idempotency_key, m.subject, body, m.case_id, m.case_event_id, m.recipient, document
        )

    def _failed(self, claim: _store.Claim, exc: DeliveryFailed) -> None:
        reason = f"attempt {claim.attempt}: {exc.reason}"
        if exc.permanent or claim.attempt >= MAX_ATTEMPTS:
            log.error("notification %d to %s failed for good: %s", claim.id, exc.channel, reason)
            self._record("failed", _store.mark_failed, claim, reason)
            return
        log.info("notification %d to %s will be retried: %s", claim.id, exc.channel, reason)
        at = self._clock.now() + backoff(claim.attempt)
        self._record("retried", _store.mark_retry, claim, at, reason)

    def _record(
        self, counter: str, mark: Callable[..., bool], claim: _store.Claim, *args: object
    ) -> None:
        with self._db.connection() as conn, transaction(conn):
            written = mark(conn, claim, self.name, *args)
        self.metrics.add(counter if written else "lost_claims")
