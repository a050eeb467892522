"""`POST /auth/token`: the OAuth2 password flow, throttled on failures (`api._throttle`).

The password is checked with no database connection held: argon2 takes tens of
milliseconds of CPU, and a burst of logins holding connections meanwhile would starve
the pool. One short transaction reserves the attempt and reads the hash, the check runs
in this (threadpool) handler, and a second short one records a success.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from api import _throttle, _users
from api.deps import StateDep, client_address, connection
from api.models import Token
from api.security import Claims, issue_token, verify_password

router = APIRouter(prefix="/auth", tags=["auth"])

_WRONG = HTTPException(
    status.HTTP_401_UNAUTHORIZED,
    "wrong username or password",
    headers={"WWW-Authenticate": "Bearer"},
)


@router.post(
    "/token",
    responses={
        401: {"description": "wrong username or password"},
        429: {"description": "throttled: too many failed logins (see Retry-After)"},
        503: {"description": "the database is busy or unreachable"},
    },
)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    state: StateDep,
) -> Token:
    now = state.clock.now()
    client = client_address(request)
    username = form.username[:64].replace("\x00", "")  # PostgreSQL text takes no NUL
    with connection(state) as conn, conn.transaction():
        denied = _throttle.reserve(conn, username=username, client=client, now=now)
        hashed = None if denied else _users.password_hash_of(conn, username)
    if denied is not None:
        wait = denied.retry_after_s
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed logins; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    if not verify_password(form.password, hashed):
        raise _WRONG  # already counted by the reservation
    with connection(state) as conn, conn.transaction():
        _throttle.succeeded(conn, username=username, client=client, now=now)
        account = _users.active_account(conn, username)
        unchanged = _users.password_hash_of(conn, username) == hashed
    if account is None or not unchanged:  # disabled or changed during the check
        raise _WRONG
    user, epoch = account
    ttl = timedelta(seconds=state.config.token_ttl_s)
    claims = Claims(user.username, user.role.value, tuple(user.grid_keys), epoch)
    token = issue_token(claims, key=state.key, now=now, ttl=ttl)
    return Token(access_token=token, expires_in=state.config.token_ttl_s)
