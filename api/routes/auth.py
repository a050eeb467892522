"""`POST /auth/token`: the OAuth2 password flow, rate-limited on failures."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from api import _users
from api.deps import DbDep, StateDep, client_address
from api.models import Token
from api.security import (
    Claims,
    issue_token,
    record_failure,
    retry_after,
    verify_password,
)

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/token",
    responses={
        401: {"description": "wrong username or password"},
        429: {"description": "throttled"},
    },
)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    state: StateDep,
    conn: DbDep,
) -> Token:
    now = state.clock.now()
    client = client_address(request)
    username = form.username[:64]
    wait = retry_after(conn, username=username, client=client, now=now)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed logins; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    if not verify_password(form.password, _users.password_hash_of(conn, username)):
        record_failure(conn, username=username, client=client, now=now)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    user = _users.active_user(conn, username)
    assert user is not None  # the hash was found for an active user
    ttl = timedelta(seconds=state.config.token_ttl_s)
    token = issue_token(
        Claims(user.username, user.role.value, tuple(user.grid_keys)),
        key=state.key,
        now=now,
        ttl=ttl,
    )
    return Token(access_token=token, expires_in=state.config.token_ttl_s)
