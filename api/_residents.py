"""Residents' tokens and the resident side's background round.

A resident's token is an HS256 JWT like a staff token, but signed with a key derived
from the deployment's (HMAC of the signing key and `RESIDENT_KEY_LABEL`) and carrying
the audience `dayuan-resident`: a staff route never accepts it (the signature is not
the staff key's) and a resident route never accepts a staff token. It names the
resident's account id and token epoch; the account is read at every request.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

import anyio
import jwt
from fastapi import Depends, HTTPException, status
from fastapi.security import OAuth2PasswordBearer

import notify
import residents
from api._state import AppState
from api.deps import DbDep, StateDep, connection

log = logging.getLogger(__name__)

AUDIENCE = "dayuan-resident"
RESIDENT_KEY_LABEL = b"dayuan resident tokens v1"
_resident_bearer = OAuth2PasswordBearer(
    tokenUrl="/api/v1/residents/auth/token", scheme_name="ResidentToken"
)
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def resident_key(key: str) -> str:
    return hmac.new(key.encode(), RESIDENT_KEY_LABEL, hashlib.sha256).hexdigest()


def code_key(key: str) -> bytes:
    """The key the one-time codes are hashed under (never the token key itself)."""
    return hmac.new(key.encode(), b"dayuan resident codes v1", hashlib.sha256).digest()


def issue(resident: residents.Resident, *, key: str, now: datetime, ttl: timedelta) -> str:
    payload = {
        "sub": f"resident:{resident.id}",
        "aud": AUDIENCE,
        "epoch": resident.epoch,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(payload, resident_key(key), algorithm="HS256")


def _refused(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, reason, headers=_UNAUTHORIZED)


def current_resident(
    state: StateDep, token: Annotated[str, Depends(_resident_bearer)], conn: DbDep
) -> residents.Resident:
    try:
        payload = jwt.decode(
            token,
            resident_key(state.key),
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"require": ["sub", "exp", "aud"], "verify_exp": False},
        )
    except jwt.PyJWTError as exc:
        raise _refused(f"not a resident's token: {exc}") from exc
    if int(payload["exp"]) <= state.clock.now().timestamp():
        raise _refused("the sign-in has expired: sign in again")
    sub = str(payload["sub"])
    if not sub.startswith("resident:") or not sub[9:].isdigit():
        raise _refused("not a resident's token")
    found = residents.get_resident(conn, int(sub[9:]))
    if found is None or found.epoch != payload.get("epoch"):
        raise _refused("this sign-in was ended: sign in again")
    return found


ResidentDep = Annotated[residents.Resident, Depends(current_resident)]


@dataclass(frozen=True, slots=True)
class Outcomes:
    """The round that tells residents their outcomes and purges expired photos."""

    state: AppState
    send: residents.Sender

    def once(self) -> int:
        if not self.state.config.resident_channel_ready:
            return 0  # kept unsent until a channel is configured
        now = self.state.clock.now()
        with connection(self.state) as conn:
            sent = residents.deliver_outcomes(conn, self.send, now)
            residents.purge_photos(conn, now)
        return sent

    async def run(self) -> None:
        while True:
            try:
                await anyio.to_thread.run_sync(self.once)
            except (residents.ResidentsError, HTTPException) as exc:
                log.warning("telling residents their outcomes failed: %s", exc)
            await anyio.sleep(self.state.config.resident_outcome_poll_s)


def sender(state: AppState) -> residents.Sender:
    return residents.ChannelSender(state.config.resident_channel, notify.Channels())
