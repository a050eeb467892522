"""`Annotated` dependency aliases: the database connection, the current user, a
permission check per route, the live feed's caller (authenticated without holding
a connection, counted against the per-user limit), and the client's address
(X-Forwarded-For believed only from the configured trusted proxies)."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from psycopg_pool import PoolTimeout

from api import _users
from api._access import Permission, User
from api._config import Network
from api._db import Conn
from api._errors import Refusal
from api._state import AppState
from api.security import Claims, InvalidToken, read_token

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token")
_BUSY = "the database is busy or unreachable; retry"


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.dayuan
    return state


StateDep = Annotated[AppState, Depends(get_state)]


@contextmanager
def connection(state: AppState) -> Iterator[Conn]:
    """A pooled connection, or 503 when none frees up in time."""
    try:
        with state.pool.connection() as conn:
            yield conn
    except PoolTimeout as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, _BUSY) from exc


def get_db(state: StateDep) -> Iterator[Conn]:
    with connection(state) as conn:
        yield conn


DbDep = Annotated[Conn, Depends(get_db)]
TokenDep = Annotated[str, Depends(oauth2)]

_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def _claims(state: AppState, token: str) -> Claims:
    try:
        return read_token(token, key=state.key, now=state.clock.now())
    except InvalidToken as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, f"invalid token: {exc}", headers=_UNAUTHORIZED
        ) from exc


def _active(conn: Conn, claims: Claims) -> User:
    account = _users.active_account(conn, claims.username)
    if account is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "the account of this token no longer exists or is disabled",
            headers=_UNAUTHORIZED,
        )
    user, epoch = account
    if claims.epoch != epoch:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "the token was revoked (the password changed since): log in again",
            headers=_UNAUTHORIZED,
        )
    return user


def get_current_user(state: StateDep, token: TokenDep, conn: DbDep) -> User:
    return _active(conn, _claims(state, token))


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


def platform_only(user: User, what: str) -> None:
    """403 unless the account is the platform operator's (what concerns every compound)."""
    if not user.platform:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"{what}: the platform's administrators only"
        )


def in_scope(user: User, compound: str, *, package: str = "scope") -> None:
    """403 with the reason (and its code, `<package>.outside_organisation` or
    `<package>.outside_grids`) unless `user` sees `compound`: their organisation serves
    it and, for a grid worker, their grids lie in it."""
    if user.sees_compound(compound):
        return
    if user.within is not None and compound not in user.within:
        raise Refusal(
            status.HTTP_403_FORBIDDEN,
            f"compound {compound!r} is not one your organisation ({user.organisation}) serves",
            f"{package}.outside_organisation",
            where=compound,
            organisation=user.organisation,
        )
    raise Refusal(
        status.HTTP_403_FORBIDDEN,
        f"compound {compound!r} is outside your grids",
        f"{package}.outside_grids",
        where=compound,
    )


@dataclass(frozen=True, slots=True)
class StreamCaller:
    user: User
    expires_at: datetime  # the token's: the stream ends then
    epoch: int  # the token's: a password change ends the stream


def get_stream_caller(state: StateDep, token: TokenDep) -> StreamCaller:
    """`Reader` for a response that outlives its handler: the connection that finds the
    user goes back to the pool before the response starts (a `DbDep` would be held
    until the stream ends)."""
    claims = _claims(state, token)
    try:
        with state.pool.connection() as conn:
            user = _active(conn, claims)
    except PoolTimeout as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, _BUSY) from exc
    if not user.may(Permission.READ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {user.role.value} may not read")
    assert claims.expires_at is not None  # read_token sets it
    return StreamCaller(user, claims.expires_at, claims.epoch)


async def claim_stream(
    state: StateDep, caller: Annotated[StreamCaller, Depends(get_stream_caller)]
) -> AsyncIterator[StreamCaller]:
    """One of the caller's `streams_per_user` open streams, given back when the response
    ends (a yield dependency's exit runs after the response, however it ends)."""
    username = caller.user.username
    if not state.feed.claim(username):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"{username} already has {state.config.streams_per_user} open live feeds,"
            " the most allowed; close one first",
        )
    try:
        yield caller
    finally:
        state.feed.release(username)


StreamReader = Annotated[StreamCaller, Depends(claim_stream)]


def client_address(request: Request) -> str:
    """The direct peer; behind a trusted proxy, the right-most X-Forwarded-For address
    that is not itself a trusted proxy (the left part of the header is the client's to
    forge)."""
    peer = request.client.host if request.client else "unknown"
    trusted: tuple[Network, ...] = get_state(request).config.trusted_proxies
    if not trusted or not _within(peer, trusted):
        return peer
    hops = [h.strip() for v in request.headers.getlist("x-forwarded-for") for h in v.split(",")]
    nearest = peer
    for hop in reversed(hops):
        if not _within(hop, trusted):
            # Unparseable: a trusted proxy passed garbage on, so the nearest proxy it is.
            return hop if _ip(hop) is not None else nearest
        nearest = hop
    return nearest


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _within(address: str, networks: tuple[Network, ...]) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in n for n in networks)


def purpose(request: Request) -> str | None:
    """Why personal data is read: the `X-Purpose` header, written to the audit log."""
    value = request.headers.get("x-purpose")
    return value[:500] if value else None
