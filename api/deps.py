"""`Annotated` dependency aliases: the database connection, the current user, and a
permission check per route."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from psycopg_pool import PoolTimeout

from api import _users
from api._access import Permission, User
from api._db import Conn
from api._state import AppState
from api.security import InvalidToken, read_token

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token")


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.dayuan
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_db(state: StateDep) -> Iterator[Conn]:
    try:
        with state.pool.connection() as conn:
            yield conn
    except PoolTimeout as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the database is busy or unreachable; retry"
        ) from exc


DbDep = Annotated[Conn, Depends(get_db)]
TokenDep = Annotated[str, Depends(oauth2)]

_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def get_current_user(state: StateDep, token: TokenDep, conn: DbDep) -> User:
    try:
        claims = read_token(token, key=state.key, now=state.clock.now())
    except InvalidToken as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, f"invalid token: {exc}", headers=_UNAUTHORIZED
        ) from exc
    user = _users.active_user(conn, claims.username)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "the account of this token no longer exists or is disabled",
            headers=_UNAUTHORIZED,
        )
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require(permission: Permission) -> Callable[[User], User]:
    """A dependency that lets only the roles holding `permission` through."""

    def check(user: CurrentUser) -> User:
        if not user.may(permission):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {user.role.value} may not {permission.value.replace('_', ' ')}",
            )
        return user

    return check


Reader = Annotated[User, Depends(require(Permission.READ))]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def purpose(request: Request) -> str | None:
    """Why personal data is read: the `X-Purpose` header, written to the audit log."""
    value = request.headers.get("x-purpose")
    return value[:500] if value else None
