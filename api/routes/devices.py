"""Devices: list with filters, detail with last values, and commands."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status

import ingest
from api import _audit, _cursor, _devices, _health
from api._access import COMMAND_PERMISSION, Permission, User
from api._commands import BrokerUnavailable, command, commands_of
from api._db import Conn
from api._state import AppState
from api.deps import CurrentUser, DbDep, Reader, StateDep, client_address, purpose, require
from api.models import (
    CommandCreate,
    CommandPublic,
    CommandsPublic,
    DeviceDetail,
    DevicePublic,
    DevicesPublic,
    LastValue,
)
from api.routes._params import Cursor, IdQuery, Limit, Offset
from domain import ACTIONS, Kind

router = APIRouter(prefix="/devices", tags=["devices"])
DeviceId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def _one(conn: Conn, user: User, device: str, state: AppState) -> dict[str, Any]:
    found = _devices.devices(
        conn,
        user,
        now=state.clock.now(),
        silence_factor=state.config.silence_factor,
        device=device,
    )
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device!r} (or not yours)")
    return found[0]


@router.get("")
def list_devices(
    user: Reader,
    conn: DbDep,
    state: StateDep,
    kind: Kind | None = None,
    compound: IdQuery = None,
    grid: IdQuery = None,
    status_: Annotated[Literal["online", "offline"] | None, Query(alias="status")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> DevicesPublic:
    """Devices in id order; walk them with `cursor` (the previous page's `next_cursor`)."""
    after = _cursor.decode(state.key, "devices", cursor)
    found = _devices.devices(
        conn,
        user,
        now=state.clock.now(),
        silence_factor=state.config.silence_factor,
        compound=compound,
        kind=kind.value if kind else None,
        grid=grid,
        online=None if status_ is None else status_ == "online",
    )
    rest = found if after is None else [d for d in found if d["id"] > after[0]]
    page, next_cursor = _cursor.page(
        state.key, "devices", rest[offset : offset + limit + 1], limit, lambda d: (d["id"],)
    )
    return DevicesPublic(
        data=[DevicePublic.model_validate(d) for d in page],
        count=len(found),
        next_cursor=next_cursor,
    )


@router.get("/{device_id}")
def get_device(
    device_id: DeviceId, user: Reader, conn: DbDep, state: StateDep, request: Request
) -> DeviceDetail:
    """A device with its last values; an elderly-care device's health readings only for
    care responders and administrators (audited), left out (`redacted`) for the rest."""
    device = _one(conn, user, device_id, state)
    found = ingest.last_values(conn, device_id)
    health = [v for v in found if _health.is_health_key(device["kind"], v["key"])]
    if health and not user.reads_health:
        found = [v for v in found if v not in health]
    elif health:
        _health.record_read(
            conn,
            user,
            request,
            route="GET /api/v1/devices/{device_id}",
            subject=device_id,
            devices=[device_id],
            now=state.clock.now(),
            detail={"keys": sorted(v["key"] for v in health)},
        )
    values = [LastValue.model_validate(v) for v in found]
    redacted = bool(health) and not user.reads_health
    return DeviceDetail.model_validate({**device, "values": values, "redacted": redacted})


@router.post("/{device_id}/commands", status_code=status.HTTP_202_ACCEPTED)
async def send_command(
    device_id: DeviceId, body: CommandCreate, user: CurrentUser, state: StateDep, request: Request
) -> CommandPublic:
    """Publish a command on the device's `cmd` topic. Answers at once with status `sent`;
    poll `GET .../commands/{correlation_id}` for `acknowledged` or `failed`."""
    action = body.command.action
    if not any(user.may(p) for p in COMMAND_PERMISSION.values()):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"role {user.role.value} may not command devices"
        )
    device = await anyio.to_thread.run_sync(_checked_device, state, user, device_id, action)
    try:
        created = await state.commands.send(device, body.command, requested_by=user.username)
    except BrokerUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    await anyio.to_thread.run_sync(
        _audit_command, state, user, device_id, created, body.reason or purpose(request), request
    )
    return CommandPublic.model_validate(created)


def _checked_device(state: AppState, user: User, device_id: str, action: str) -> dict[str, Any]:
    with state.pool.connection() as conn:
        device = _one(conn, user, device_id, state)
    kind = device["kind"]
    if action not in ACTIONS[kind]:
        accepted = ", ".join(sorted(ACTIONS[kind])) or "no commands"
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"a {kind} device accepts {accepted}; not {action!r}",
        )
    if not user.may(COMMAND_PERMISSION[kind]):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"role {user.role.value} may not command a {kind}"
        )
    return device


def _audit_command(
    state: AppState,
    user: User,
    device_id: str,
    created: dict[str, Any],
    reason: str | None,
    request: Request,
) -> None:
    with state.pool.connection() as conn:
        _audit.record(
            conn,
            user,
            action="device_command",
            subject=device_id,
            route="POST /api/v1/devices/{device_id}/commands",
            reason=reason,
            client=client_address(request),
            now=state.clock.now(),
            detail={"correlation_id": created["correlation_id"], "command": created["command"]},
        )


CommandReader = Annotated[User, Depends(require(Permission.READ_COMMANDS))]


@router.get("/{device_id}/commands")
def list_commands(
    device_id: DeviceId,
    user: CommandReader,
    conn: DbDep,
    state: StateDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> CommandsPublic:
    _one(conn, user, device_id, state)
    data, count = commands_of(conn, device_id, limit=limit, offset=offset)
    return CommandsPublic(data=[CommandPublic.model_validate(c) for c in data], count=count)


@router.get("/{device_id}/commands/{correlation_id}")
def get_command(
    device_id: DeviceId,
    correlation_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")],
    user: CommandReader,
    conn: DbDep,
) -> CommandPublic:
    found = command(conn, device_id, correlation_id)
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no command {correlation_id!r} for device {device_id!r}"
        )
    return CommandPublic.model_validate(found)
