"""The registry: compounds, buildings, flats, households, residents, grids, parties, staff.

Residents are personal data: listing them is audited, and their contact and health
details reach only care responders and administrators, through
`cases.read_resident_details`, which records each read; the API audits it too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status

import cases
from api import _audit, _registry
from api._access import Permission, User
from api.deps import DbDep, Reader, StateDep, client_address, purpose, require
from api.models import (
    BuildingPublic,
    BuildingsPublic,
    CompoundPublic,
    CompoundsPublic,
    FlatPublic,
    FlatsPublic,
    GridPublic,
    GridsPublic,
    HouseholdPublic,
    HouseholdsPublic,
    PartiesPublic,
    PartyPublic,
    ResidentDetails,
    ResidentPublic,
    ResidentsPublic,
    StaffPublic,
    StaffsPublic,
)
from api.routes._params import IdQuery, Limit, Offset
from domain import HouseholdTag, PartyKind, StaffRole

router = APIRouter(tags=["registry"])
ResidentReader = Annotated[User, Depends(require(Permission.READ_RESIDENTS))]
DetailReader = Annotated[User, Depends(require(Permission.READ_RESIDENT_DETAILS))]
IdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Address = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_]{1,16}(-[A-Za-z0-9_]{1,16}){0,2}$")]


@router.get("/compounds")
def compounds(_: Reader, conn: DbDep, limit: Limit = 100, offset: Offset = 0) -> CompoundsPublic:
    data, count = _registry.compounds(conn, limit=limit, offset=offset)
    return CompoundsPublic(data=[CompoundPublic.model_validate(c) for c in data], count=count)


@router.get("/compounds/{compound_id}")
def compound(compound_id: IdPath, _: Reader, conn: DbDep) -> CompoundPublic:
    data, _count = _registry.compounds(conn, compound=compound_id, limit=1, offset=0)
    if data:
        return CompoundPublic.model_validate(data[0])
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no compound {compound_id!r}")


@router.get("/buildings")
def buildings(
    user: Reader, conn: DbDep, compound: IdQuery = None, limit: Limit = 100, offset: Offset = 0
) -> BuildingsPublic:
    data, count = _registry.buildings(conn, user, compound=compound, limit=limit, offset=offset)
    return BuildingsPublic(data=[BuildingPublic.model_validate(b) for b in data], count=count)


@router.get("/flats")
def flats(
    user: Reader,
    conn: DbDep,
    compound: IdQuery = None,
    building: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_]{1,16}$")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> FlatsPublic:
    data, count = _registry.flats(
        conn, user, compound=compound, building=building, limit=limit, offset=offset
    )
    return FlatsPublic(data=[FlatPublic.model_validate(f) for f in data], count=count)


@router.get("/households")
def households(
    user: Reader,
    conn: DbDep,
    compound: IdQuery = None,
    tag: HouseholdTag | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> HouseholdsPublic:
    data, count = _registry.households(
        conn, user, compound=compound, tag=tag.value if tag else None, limit=limit, offset=offset
    )
    return HouseholdsPublic(data=[HouseholdPublic.model_validate(h) for h in data], count=count)


@router.get("/residents")
def residents(
    user: ResidentReader,
    conn: DbDep,
    state: StateDep,
    request: Request,
    compound: IdQuery = None,
    flat: Address = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ResidentsPublic:
    """Who lives where, pseudonymously (no contact or health details); audited."""
    data, count = _registry.residents(
        conn, user, compound=compound, flat=flat, limit=limit, offset=offset
    )
    _audit.record(
        conn,
        user,
        action="read_residents",
        subject=f"compound={compound or '*'} flat={flat or '*'}",
        route="GET /api/v1/residents",
        reason=purpose(request),
        client=client_address(request),
        now=state.clock.now(),
        detail={"refs": [r["ref"] for r in data]},
    )
    return ResidentsPublic(data=[ResidentPublic.model_validate(r) for r in data], count=count)


@router.get("/residents/{compound_id}/{ref}/details")
def resident_details(
    compound_id: IdPath,
    ref: IdPath,
    user: DetailReader,
    conn: DbDep,
    state: StateDep,
    request: Request,
) -> ResidentDetails:
    """A resident's contact and health details: care responders and administrators only.
    Say why in the `X-Purpose` header; every read is audited."""
    now = state.clock.now()
    why = purpose(request) or "GET /api/v1/residents/{compound_id}/{ref}/details"
    base = _registry.resident(conn, user, compound_id, ref)
    if base is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no resident {ref!r} in {compound_id!r}")
    details = cases.read_resident_details(
        conn, compound_id, ref, actor=user.username, role=user.role, purpose=why, now=now
    )
    _audit.record(
        conn,
        user,
        action="read_resident_details",
        subject=f"{compound_id}/{ref}",
        route="GET /api/v1/residents/{compound_id}/{ref}/details",
        reason=purpose(request),
        client=client_address(request),
        now=now,
    )
    if details is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no resident {ref!r} in {compound_id!r}")
    return ResidentDetails.model_validate(
        {**base, "contact": details.contact, "health_notes": details.health_notes}
    )


@router.get("/grids")
def grids(
    user: Reader, conn: DbDep, compound: IdQuery = None, limit: Limit = 100, offset: Offset = 0
) -> GridsPublic:
    data, count = _registry.grids(conn, user, compound=compound, limit=limit, offset=offset)
    return GridsPublic(data=[GridPublic.model_validate(g) for g in data], count=count)


@router.get("/parties")
def parties(
    _: Reader,
    conn: DbDep,
    compound: IdQuery = None,
    kind: PartyKind | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PartiesPublic:
    data, count = _registry.parties(
        conn, compound=compound, kind=kind.value if kind else None, limit=limit, offset=offset
    )
    return PartiesPublic(data=[PartyPublic.model_validate(p) for p in data], count=count)


@router.get("/staff")
def staff(
    _: Reader,
    conn: DbDep,
    compound: IdQuery = None,
    role: StaffRole | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> StaffsPublic:
    data, count = _registry.staff(
        conn, compound=compound, role=role.value if role else None, limit=limit, offset=offset
    )
    return StaffsPublic(data=[StaffPublic.model_validate(s) for s in data], count=count)
