"""Provisioning: an administrator registers a device (it gets its broker account at once)
or retires one (its account goes and the broker drops its connection). The registry
records each change with the acting user (`GET /registry-changes`).

Order, so that a failure half-way leaves nothing worse than before: provisioning writes
the registry first (a taken id or an address the compound lacks is refused before the
broker is touched; an existing device's account is never replaced) and, if the broker
then fails, takes the registration back; retiring deletes the broker account first (a
device that cannot connect any more is then deregistered) and, if the broker fails,
changes nothing. Both answer 503 with the broker's reason when it fails."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, status

import broker
import registry
from api._access import Permission, User
from api._state import AppState
from api.deps import DbDep, StateDep, in_scope, require
from api.models import DeviceCreate, DeviceProvisioned

router = APIRouter(prefix="/devices", tags=["devices"])
Provisioner = Annotated[User, Depends(require(Permission.PROVISION_DEVICES))]
DeviceId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def _refuse_reserved(device_id: str) -> None:
    if device_id.startswith(broker.RESERVED_PREFIX):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"device ids starting {broker.RESERVED_PREFIX!r} are the backend's broker accounts",
        )


def _broker_failed(exc: broker.BrokerError, what: str) -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"{what}: {exc}")


@router.post("", status_code=status.HTTP_201_CREATED)
def provision(
    body: DeviceCreate, user: Provisioner, conn: DbDep, state: StateDep
) -> DeviceProvisioned:
    """Register a device in a compound and create its broker account (username and client
    id = the device id, the password derived from DAYUAN_DEVICE_SECRET, its own topics
    only). 409: the id is registered already; 422: the compound has no such building or
    flat; 503: the broker did not create the account (nothing is registered)."""
    device = body.device
    _refuse_reserved(device.id)
    if body.compound in registry.compound_ids(conn):  # an unknown one: the registry's 422
        in_scope(user, body.compound)
    now = state.clock.now()
    registry.add_device(conn, body.compound, device, actor=user.username, now=now)
    account = _accounts(state)
    if account is None:
        return _answer(device.id, body.compound, device.kind, "external")
    endpoint, secret = account
    try:
        broker.provision_device(
            endpoint,
            broker.DeviceEntry(device.id, body.compound, device.kind),
            device_secret=secret,
        )
    except broker.BrokerError as exc:
        registry.remove_device(conn, device.id, actor=user.username, now=state.clock.now())
        raise _broker_failed(exc, f"device {device.id} not provisioned") from exc
    return _answer(device.id, body.compound, device.kind, "created")


@router.delete("/{device_id}")
def retire(
    device_id: DeviceId, user: Provisioner, conn: DbDep, state: StateDep
) -> DeviceProvisioned:
    """Retire a device: its broker account is deleted (the broker drops its connection
    and refuses the next), then it leaves the registry; its stored history stays. 404: no
    such device; 503: the broker did not delete the account (nothing changed)."""
    _refuse_reserved(device_id)
    found = registry.device_ref(conn, device_id)
    if found is None or not user.sees_compound(found.compound):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device_id!r}")
    account = _accounts(state)
    if account is not None:
        try:
            broker.retire_device(account[0], device_id)
        except broker.BrokerError as exc:
            raise _broker_failed(exc, f"device {device_id} not retired") from exc
    compound = registry.remove_device(conn, device_id, actor=user.username, now=state.clock.now())
    if compound is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device_id!r}")
    return _answer(device_id, compound, found.kind, "external" if account is None else "deleted")


def _accounts(state: AppState) -> tuple[broker.MqttEndpoint, str] | None:
    config = state.config
    if config.accounts_mqtt is None or config.device_secret is None:
        return None
    return config.accounts_mqtt, config.device_secret


def _answer(
    device_id: str, compound: str, kind: object, account: Literal["created", "deleted", "external"]
) -> DeviceProvisioned:
    return DeviceProvisioned.model_validate(
        {"id": device_id, "compound": compound, "kind": kind, "broker_account": account}
    )
