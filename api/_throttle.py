"""The failed-login throttle, shared by every API process through the database.

Two counts gate a login. Per (username, client): a few free tries, then a lock-out that
doubles with each further failure, so that guesses from one address cannot lock the
real user out of theirs. Per client, across usernames: a looser cap over a fixed window
against spraying, counted whether or not the names exist. An attempt is *reserved*
(counted as a failure) before its password is checked, with both rows locked
(`SELECT ... FOR UPDATE`) in the reserving transaction, so N concurrent guesses check
at most the allowed number of passwords; a successful login then clears its user row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from api._db import Conn

# OWASP's advice for online guessing: a handful of tries, then pauses that grow.
USER_FREE_FAILURES = 5
USER_BACKOFF_BASE = timedelta(minutes=1)  # the first lock-out, doubled at each failure
USER_BACKOFF_MAX = timedelta(hours=1)  # a typing user is never out for longer than this
# A (username, client) row idle this long starts again from zero (and is pruned).
USER_MEMORY = timedelta(hours=24)
# Spraying: one address may fail this often per window across all usernames; loose
# enough that a shared office address (NAT) does not lock its colleagues out.
CLIENT_MAX_FAILURES = 30
CLIENT_WINDOW = timedelta(minutes=15)

_USER = "user"
_CLIENT = "client"


@dataclass(frozen=True, slots=True)
class Denied:
    retry_after_s: int  # whole seconds, at least 1


def _seconds_until(then: datetime, now: datetime) -> int:
    return max(1, int((then - now).total_seconds()) + 1)


def backoff(failures: int) -> timedelta:
    """The lock-out after `failures` consecutive failures of one (username, client)."""
    if failures < USER_FREE_FAILURES:
        return timedelta()
    doublings = min(failures - USER_FREE_FAILURES, 32)  # 2**32 minutes is past any cap
    lock: timedelta = USER_BACKOFF_BASE * 2**doublings
    return min(lock, USER_BACKOFF_MAX)


def reserve(conn: Conn, *, username: str, client: str, now: datetime) -> Denied | None:
    """Count one attempt before its password is checked; `Denied` (and nothing
    counted) when either count is exhausted. Run inside the caller's transaction."""
    keys = ((_CLIENT, "", client), (_USER, username, client))
    for kind, name, address in keys:
        conn.execute(
            "INSERT INTO api_login_throttle (kind, username, client, window_start, last_at)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (kind, name, address, now, now),
        )
    # Locked in a fixed order (kind 'client' < 'user'), so concurrent logins never deadlock.
    found = conn.execute(
        "SELECT kind, failures, window_start, last_at, locked_until FROM api_login_throttle"
        " WHERE (kind, username, client) IN ((%s, %s, %s), (%s, %s, %s))"
        " ORDER BY kind FOR UPDATE",
        tuple(v for key in keys for v in key),
    ).fetchall()
    by_kind: dict[str, tuple[Any, ...]] = {str(r[0]): r for r in found}
    _, c_failures, c_start, _, _ = by_kind[_CLIENT]
    if c_start <= now - CLIENT_WINDOW:
        c_failures, c_start = 0, now
    _, u_failures, _, u_last, u_locked = by_kind[_USER]
    if u_last <= now - USER_MEMORY:
        u_failures, u_locked = 0, None
    waits = []
    if c_failures >= CLIENT_MAX_FAILURES:
        waits.append(_seconds_until(c_start + CLIENT_WINDOW, now))
    if u_locked is not None and u_locked > now:
        waits.append(_seconds_until(u_locked, now))
    if waits:
        return Denied(max(waits))
    conn.execute(
        "UPDATE api_login_throttle SET failures = %s, window_start = %s, last_at = %s"
        " WHERE kind = %s AND username = '' AND client = %s",
        (c_failures + 1, c_start, now, _CLIENT, client),
    )
    u_failures += 1
    lock = backoff(u_failures)
    conn.execute(
        "UPDATE api_login_throttle SET failures = %s, last_at = %s, locked_until = %s"
        " WHERE kind = %s AND username = %s AND client = %s",
        (u_failures, now, now + lock if lock else None, _USER, username, client),
    )
    return None


def succeeded(conn: Conn, *, username: str, client: str, now: datetime) -> None:
    """The reserved attempt was right: clear the user's row, give the client its try
    back, and prune rows nobody has used for a day."""
    conn.execute(
        "DELETE FROM api_login_throttle WHERE kind = %s AND username = %s AND client = %s",
        (_USER, username, client),
    )
    conn.execute(
        "UPDATE api_login_throttle SET failures = greatest(failures - 1, 0)"
        " WHERE kind = %s AND username = '' AND client = %s",
        (_CLIENT, client),
    )
    conn.execute("DELETE FROM api_login_throttle WHERE last_at < %s", (now - USER_MEMORY,))
