"""Waking an idle notifier: LISTEN on the channel the outbox's transactions NOTIFY
(migration 0017), with a slow poll as the safety net.

A NOTIFY reaches only the sessions listening when it commits: one sent while the
notifier is disconnected (a database restart) is lost, so the notifier also looks for
work at least every `SAFETY_POLL_S`, and whenever the listening connection is down it
falls back to polling. Timed work (a retry's backoff, a quiet-hours deferral, the next
repeat round) sends no NOTIFY: the caller passes how long until the earliest of it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

log = logging.getLogger(__name__)

# The channel the triggers of migration 0017 notify (the payload is the case id).
CHANNEL = "dayuan_notify"
# The safety net: an idle notifier looks for work this often even without a NOTIFY
# (one lost while it was disconnected waits at most this long).
SAFETY_POLL_S = 5.0
# How often a wait looks at its stop event: a notifier stops within this.
STOP_CHECK_S = 0.5
# Polling while the listening connection is down, as before LISTEN (and how often it
# tries to listen again).
DISCONNECTED_POLL_S = 0.5


class Listener:
    """One autocommit connection LISTENing on `CHANNEL`, opened lazily and again after
    it breaks; `wait` returns at a NOTIFY, after `timeout_s`, or when stopped."""

    def __init__(self, connect: Callable[[], psycopg.Connection[Any]]) -> None:
        """`connect`: a new autocommit connection to the database the work is in."""
        self._connect = connect
        self._conn: psycopg.Connection[Any] | None = None
        self._polling = False  # the last LISTEN failed

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def listen(self) -> bool:
        """Listening now (opened if it was not); False when the database is away."""
        if self._conn is not None and not self._conn.closed:
            return True
        try:
            self._conn = self._connect()
            self._conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            if not self._polling:  # once per outage, not at every poll
                log.warning("cannot LISTEN for work, polling instead: %s", exc)
            self._polling = True
            self.close()
            return False
        if self._polling:
            log.info("listening for work again")
        self._polling = False
        return True

    def wait(self, stop: threading.Event, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for a NOTIFY; True when one came (any queued after it
        are taken too: one pass does all the work there is)."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if not self.listen():
                stop.wait(min(left, DISCONNECTED_POLL_S))
                return False
            if self._notified(min(left, STOP_CHECK_S)):
                return True
        return False

    def _notified(self, timeout_s: float) -> bool:
        assert self._conn is not None
        try:
            got = any(True for _ in self._conn.notifies(timeout=timeout_s, stop_after=1))
            if got:
                for _ in self._conn.notifies(timeout=0):  # drain: one pass serves them all
                    pass
        except psycopg.Error as exc:
            log.warning("lost the LISTEN connection (%s); polling until it is back", exc)
            self.close()
            return False
        return got
