"""Passwords, tokens and the failed-login throttle.

Passwords are hashed with argon2id (pwdlib); tokens are HS256 JWTs carrying the user
name, role and grids, signed with the deployment's token secret. Failed logins are
counted per username and per client address over a sliding window in the database, so
that several API processes share one count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pwdlib import PasswordHash

from api._db import Conn

ALGORITHM = "HS256"
# OWASP's advice for online guessing: a handful of tries, then a pause measured in minutes.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=5)

_hasher = PasswordHash.recommended()
# Verified against when the user does not exist, so that timing does not tell who does.
_DUMMY_HASH = _hasher.hash("dayuan-no-such-user")


class InvalidToken(Exception):
    """The bearer token is malformed, forged or expired."""


@dataclass(frozen=True, slots=True)
class Claims:
    username: str
    role: str
    grids: tuple[str, ...]
    expires_at: datetime | None = None  # the token's `exp`, as read_token found it


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    if hashed is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    return bool(_hasher.verify(password, hashed))


def issue_token(claims: Claims, *, key: str, now: datetime, ttl: timedelta) -> str:
    payload: dict[str, Any] = {
        "sub": claims.username,
        "role": claims.role,
        "grids": list(claims.grids),
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(payload, key, algorithm=ALGORITHM)


def read_token(token: str, *, key: str, now: datetime) -> Claims:
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "role"], "verify_exp": False},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if int(payload["exp"]) <= now.timestamp():  # the injected clock, not the wall clock
        raise InvalidToken("the token has expired")
    grids = payload.get("grids", [])
    if not isinstance(grids, list):
        raise InvalidToken("grids must be a list")
    return Claims(
        str(payload["sub"]),
        str(payload["role"]),
        tuple(str(g) for g in grids),
        expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
    )


def retry_after(conn: Conn, *, username: str, client: str, now: datetime) -> int | None:
    """Seconds until a login may be tried again, or None when it may be tried now."""
    since = now - FAILURE_WINDOW
    oldest: datetime | None = None
    for column, value in (("username", username), ("client", client)):
        rows = conn.execute(
            f"SELECT at FROM api_login_failures WHERE {column} = %s AND at > %s"
            " ORDER BY at DESC LIMIT %s",
            (value, since, MAX_FAILURES),
        ).fetchall()
        if len(rows) >= MAX_FAILURES:
            # The window frees a slot when the oldest of the last MAX_FAILURES expires.
            candidate = rows[-1][0]
            oldest = candidate if oldest is None else max(oldest, candidate)
    if oldest is None:
        return None
    return max(1, int((oldest + FAILURE_WINDOW - now).total_seconds()) + 1)


def record_failure(conn: Conn, *, username: str, client: str, now: datetime) -> None:
    conn.execute(
        "INSERT INTO api_login_failures (at, username, client) VALUES (%s, %s, %s)",
        (now, username, client),
    )
    conn.execute("DELETE FROM api_login_failures WHERE at < %s", (now - FAILURE_WINDOW,))
