"""Passwords, tokens and the failed-login throttle.

Passwords are hashed with argon2id (pwdlib); tokens are HS256 JWTs carrying the user
name, role, grids and the user's token epoch (advanced by a password change, which so
revokes older tokens), signed with the deployment's token secret. The failed-login
throttle is `api._throttle`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pwdlib import PasswordHash

ALGORITHM = "HS256"

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
    epoch: int = 0  # the user's token_epoch when issued; tokens before the claim had 0
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
        "epoch": claims.epoch,
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
    epoch = payload.get("epoch", 0)
    if not isinstance(epoch, int):
        raise InvalidToken("epoch must be an integer")
    return Claims(
        str(payload["sub"]),
        str(payload["role"]),
        tuple(str(g) for g in grids),
        epoch,
        expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
    )
