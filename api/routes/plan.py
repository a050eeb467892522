"""The compound plan: one request for everything the dashboard's map draws (buildings,
flats with their households' tags, grids, every device at its place with its state and
its open alarms and cases), and a light one for the devices' states alone, which the
dashboard polls for online/offline (alarms and cases reach it over the stream)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status

import registry
from api import _plan
from api._access import User
from api._db import Conn
from api.deps import DbDep, Reader, StateDep
from api.models import PlanDeviceState, PlanPublic, PlanStatesPublic

router = APIRouter(prefix="/compounds", tags=["plan"])
CompoundId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def _compound(conn: Conn, user: User, compound_id: str) -> dict[str, Any]:
    found, _ = registry.compound_page(conn, user.scope, compound=compound_id, limit=1, offset=0)
    if not found:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no compound {compound_id!r} (or not yours)"
        )
    return found[0]


@router.get("/{compound_id}/plan")
def get_plan(compound_id: CompoundId, user: Reader, conn: DbDep, state: StateDep) -> PlanPublic:
    """The plan of a compound as the caller may see it: a grid worker their grids'
    buildings, a care responder the elderly-care devices; no residents, no readings."""
    compound = _compound(conn, user, compound_id)
    found = _plan.plan(
        conn, user, compound, now=state.clock.now(), silence_factor=state.config.silence_factor
    )
    return PlanPublic.model_validate(found)


@router.get("/{compound_id}/plan/states")
def get_plan_states(
    compound_id: CompoundId, user: Reader, conn: DbDep, state: StateDep
) -> PlanStatesPublic:
    """Each device's state with its open alarm and case ids, without the geometry."""
    _compound(conn, user, compound_id)
    now = state.clock.now()
    devices, _, _, _ = _plan.device_states(
        conn, user, compound_id, now=now, silence_factor=state.config.silence_factor
    )
    data = [PlanDeviceState.model_validate(d) for d in devices]
    return PlanStatesPublic(data=data, count=len(data), at=now)
