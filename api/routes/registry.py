"""The registry: compounds, buildings, flats, households, residents, grids, parties, staff.

Residents are personal data: listing them is audited, and their contact and health
details reach only care responders and administrators, through
`registry.read_resident_details`, which records each read; the API audits it too.

Maintenance goes through `registry` (which owns the tables and writes every change to
`registry_changes` with the acting user and the time): grid workers re-tag households
and move residents in and out within their grids, care responders and administrators
set contact and health details (audited, logged as field names only), administrators
manage staff. The change log is read by administrators and, for the compounds of their
grids, by grid workers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status

import registry
from api import _audit, _cursor
from api._access import Permission, User
from api.deps import (
    DbDep,
    Reader,
    StateDep,
    client_address,
    in_scope,
    platform_only,
    purpose,
    require,
)
from api.models import (
    BuildingPublic,
    BuildingPut,
    BuildingsPublic,
    CompoundChanged,
    CompoundPublic,
    CompoundPut,
    CompoundsPublic,
    FlatPublic,
    FlatsPublic,
    GridPublic,
    GridPut,
    GridsPublic,
    HouseholdPublic,
    HouseholdsPublic,
    HouseholdUpdate,
    PartiesPublic,
    PartyPublic,
    RegistryChangePublic,
    RegistryChangesPublic,
    ResidentCreate,
    ResidentDetails,
    ResidentDetailsUpdate,
    ResidentPublic,
    ResidentsPublic,
    StaffPublic,
    StaffPut,
    StaffsPublic,
)
from api.routes._params import Cursor, IdQuery, Limit, Offset
from domain import HouseholdTag, PartyKind, StaffRole

router = APIRouter(tags=["registry"])
ResidentReader = Annotated[User, Depends(require(Permission.READ_RESIDENTS))]
DetailReader = Annotated[User, Depends(require(Permission.READ_RESIDENT_DETAILS))]
Maintainer = Annotated[User, Depends(require(Permission.MAINTAIN_HOUSEHOLDS))]
DetailWriter = Annotated[User, Depends(require(Permission.WRITE_RESIDENT_DETAILS))]
StaffManager = Annotated[User, Depends(require(Permission.MANAGE_STAFF))]
StructureKeeper = Annotated[User, Depends(require(Permission.MAINTAIN_STRUCTURE))]
ShortIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,16}$")]
ChangeReader = Annotated[User, Depends(require(Permission.READ_REGISTRY_CHANGES))]
FlatPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}$")
]
AfterId = Annotated[int, Query(ge=0, le=2**63 - 1, description="the last id already read")]
IdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Address = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_]{1,16}(-[A-Za-z0-9_]{1,16}){0,2}$")]


@router.get("/compounds")
def compounds(user: Reader, conn: DbDep, limit: Limit = 100, offset: Offset = 0) -> CompoundsPublic:
    data, count = registry.compound_page(conn, user.scope, limit=limit, offset=offset)
    return CompoundsPublic(data=[CompoundPublic.model_validate(c) for c in data], count=count)


@router.get("/compounds/{compound_id}")
def compound(compound_id: IdPath, user: Reader, conn: DbDep) -> CompoundPublic:
    data, _count = registry.compound_page(conn, user.scope, compound=compound_id, limit=1, offset=0)
    if data:
        return CompoundPublic.model_validate(data[0])
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no compound {compound_id!r}")


_STRUCTURE_REFUSALS: dict[int | str, dict[str, Any]] = {
    201: {"description": "created", "model": CompoundChanged},
    403: {
        "description": "outside the administrator's organisation; a new compound: the platform's"
    },
    422: {"description": "an unknown compound or building, or a flat with a household"},
}


@router.put("/compounds/{compound_id}", responses=_STRUCTURE_REFUSALS)
def put_compound(
    compound_id: IdPath,
    body: CompoundPut,
    user: StructureKeeper,
    conn: DbDep,
    state: StateDep,
    response: Response,
) -> CompoundChanged:
    """Create (201, the platform's administrators; then link it to its organisations with
    PUT /organisations/{id}/compounds/{compound_id}) or change (200, an administrator of an
    organisation serving it) a compound's record. Logged in its registry changes."""
    if compound_id in registry.compound_ids(conn):
        in_scope(user, compound_id)
    else:
        platform_only(user, "a new compound")
    created = registry.put_compound(
        conn, compound_id, body.model_dump(), actor=user.username, now=state.clock.now()
    )
    if created:
        response.status_code = status.HTTP_201_CREATED
    return CompoundChanged(compound=compound_id, id=compound_id, created=created)


@router.put("/compounds/{compound_id}/buildings/{building_id}", responses=_STRUCTURE_REFUSALS)
def put_building(
    compound_id: IdPath,
    building_id: ShortIdPath,
    body: BuildingPut,
    user: StructureKeeper,
    conn: DbDep,
    state: StateDep,
    response: Response,
) -> CompoundChanged:
    """Create (201) or change (200) a building with its units and flats (the lists
    replace the current ones; a flat with a household stays: 422, move it out first)."""
    in_scope(user, compound_id)
    created = registry.put_building(
        conn, compound_id, body.building(building_id), actor=user.username, now=state.clock.now()
    )
    if created:
        response.status_code = status.HTTP_201_CREATED
    return CompoundChanged(compound=compound_id, id=building_id, created=created)


@router.put("/compounds/{compound_id}/grids/{grid_id}", responses=_STRUCTURE_REFUSALS)
def put_grid(
    compound_id: IdPath,
    grid_id: IdPath,
    body: GridPut,
    user: StructureKeeper,
    conn: DbDep,
    state: StateDep,
    response: Response,
) -> CompoundChanged:
    """Create (201) or change (200) a grid and the buildings it holds (a building listed
    leaves the grid it was in). Its team is its staff's (PUT /staff/{id})."""
    in_scope(user, compound_id)
    created = registry.put_grid(
        conn,
        compound_id,
        grid_id,
        name=body.name,
        buildings=body.buildings,
        actor=user.username,
        now=state.clock.now(),
    )
    if created:
        response.status_code = status.HTTP_201_CREATED
    return CompoundChanged(compound=compound_id, id=grid_id, created=created)


@router.get("/buildings")
def buildings(
    user: Reader, conn: DbDep, compound: IdQuery = None, limit: Limit = 100, offset: Offset = 0
) -> BuildingsPublic:
    data, count = registry.building_page(
        conn, user.scope, compound=compound, limit=limit, offset=offset
    )
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
    data, count = registry.flat_page(
        conn, user.scope, compound=compound, building=building, limit=limit, offset=offset
    )
    return FlatsPublic(data=[FlatPublic.model_validate(f) for f in data], count=count)


@router.get("/households")
def households(
    user: Reader,
    conn: DbDep,
    state: StateDep,
    compound: IdQuery = None,
    tag: HouseholdTag | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> HouseholdsPublic:
    """Households by compound and flat; walk them with `cursor` (`next_cursor`)."""
    after = _cursor.decode(state.key, "households", cursor)
    found, count = registry.household_page(
        conn,
        user.scope,
        compound=compound,
        tag=tag.value if tag else None,
        limit=limit + 1,
        offset=offset,
        after=None if after is None else (str(after[0]), str(after[1])),
    )
    data, next_cursor = _cursor.page(
        state.key, "households", found, limit, lambda h: (h["compound"], h["flat"])
    )
    return HouseholdsPublic(
        data=[HouseholdPublic.model_validate(h) for h in data],
        count=count,
        next_cursor=next_cursor,
    )


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
    cursor: Cursor = None,
) -> ResidentsPublic:
    """Who lives where, pseudonymously (no contact or health details), by compound, flat
    and ref (walk them with `cursor`); audited."""
    after = _cursor.decode(state.key, "residents", cursor)
    found, count = registry.resident_page(
        conn,
        user.scope,
        compound=compound,
        flat=flat,
        limit=limit + 1,
        offset=offset,
        after=None if after is None else (str(after[0]), str(after[1]), str(after[2])),
    )
    data, next_cursor = _cursor.page(
        state.key, "residents", found, limit, lambda r: (r["compound"], r["flat"], r["ref"])
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
    return ResidentsPublic(
        data=[ResidentPublic.model_validate(r) for r in data],
        count=count,
        next_cursor=next_cursor,
    )


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
    base = registry.resident(conn, user.scope, compound_id, ref)
    if base is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no resident {ref!r} in {compound_id!r}")
    details = registry.read_resident_details(
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
    data, count = registry.grid_page(
        conn, user.scope, compound=compound, limit=limit, offset=offset
    )
    return GridsPublic(data=[GridPublic.model_validate(g) for g in data], count=count)


@router.get("/parties")
def parties(
    user: Reader,
    conn: DbDep,
    compound: IdQuery = None,
    kind: PartyKind | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PartiesPublic:
    data, count = registry.party_page(
        conn,
        user.scope,
        compound=compound,
        kind=kind.value if kind else None,
        limit=limit,
        offset=offset,
    )
    return PartiesPublic(data=[PartyPublic.model_validate(p) for p in data], count=count)


@router.get("/staff")
def staff(
    user: Reader,
    conn: DbDep,
    compound: IdQuery = None,
    role: StaffRole | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> StaffsPublic:
    data, count = registry.staff_page(
        conn,
        user.scope,
        compound=compound,
        role=role.value if role else None,
        limit=limit,
        offset=offset,
    )
    return StaffsPublic(data=[StaffPublic.model_validate(s) for s in data], count=count)


# --- maintenance ------------------------------------------------------------------------


def _within_grids(user: User, compound: str, flat: str) -> None:
    if not user.sees_building(compound, flat):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"flat {flat} of {compound!r} is outside your grids"
        )


@router.patch("/households/{compound_id}/{flat}")
def update_household(
    compound_id: IdPath,
    flat: FlatPath,
    body: HouseholdUpdate,
    user: Maintainer,
    conn: DbDep,
    state: StateDep,
) -> HouseholdPublic:
    """Set a household's seven-colour tags (the whole set); logged with who and when."""
    _within_grids(user, compound_id, flat)
    try:
        tags = registry.set_household_tags(
            conn, compound_id, flat, body.tags, actor=user.username, now=state.clock.now()
        )
    except registry.NotRegistered as exc:
        if exc.field == "flat":
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
        raise
    return HouseholdPublic.model_validate({"compound": compound_id, "flat": flat, "tags": tags})


@router.put("/residents/{compound_id}/{ref}/details")
def update_resident_details(
    compound_id: IdPath,
    ref: IdPath,
    body: ResidentDetailsUpdate,
    user: DetailWriter,
    conn: DbDep,
    state: StateDep,
    request: Request,
) -> ResidentDetails:
    """Replace a resident's contact and health details (a field left out is cleared):
    care responders and administrators only. Say why in the `X-Purpose` header; every
    write is audited, and logged as the names of the fields changed, never their values."""
    now = state.clock.now()
    route = "PUT /api/v1/residents/{compound_id}/{ref}/details"
    base = registry.resident(conn, user.scope, compound_id, ref)
    if base is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no resident {ref!r} in {compound_id!r}")
    details = registry.set_resident_details(
        conn,
        compound_id,
        ref,
        contact=body.contact,
        health_notes=body.health_notes,
        actor=user.username,
        role=user.role,
        now=now,
    )
    if details is None:  # moved out meanwhile
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no resident {ref!r} in {compound_id!r}")
    _audit.record(
        conn,
        user,
        action="write_resident_details",
        subject=f"{compound_id}/{ref}",
        route=route,
        reason=purpose(request),
        client=client_address(request),
        now=now,
        detail={"fields": sorted(body.model_dump(exclude_none=True))},
    )
    return ResidentDetails.model_validate(
        {**base, "contact": details.contact, "health_notes": details.health_notes}
    )


@router.post("/residents", status_code=status.HTTP_201_CREATED)
def move_in(body: ResidentCreate, user: Maintainer, conn: DbDep, state: StateDep) -> ResidentPublic:
    """A resident moves into a flat (its household is created if the flat had none).
    A flat that does not exist in the compound: 422 with the reason."""
    _within_grids(user, body.compound, body.flat)
    registry.move_in(
        conn,
        body.compound,
        body.ref,
        body.flat,
        birth_year=body.birth_year,
        lives_alone=body.lives_alone,
        actor=user.username,
        now=state.clock.now(),
    )
    return ResidentPublic.model_validate(body.model_dump())


@router.delete("/residents/{compound_id}/{ref}", status_code=status.HTTP_204_NO_CONTENT)
def move_out(
    compound_id: IdPath, ref: IdPath, user: Maintainer, conn: DbDep, state: StateDep
) -> None:
    """A resident moves out: they and their details leave the registry (the household
    stays, to be re-tagged)."""
    missing = HTTPException(
        status.HTTP_404_NOT_FOUND, f"no resident {ref!r} in {compound_id!r} (or not in your grids)"
    )
    if registry.resident(conn, user.scope, compound_id, ref) is None:
        raise missing
    if (
        registry.move_out(conn, compound_id, ref, actor=user.username, now=state.clock.now())
        is None
    ):
        raise missing


@router.put(
    "/staff/{staff_id}",
    responses={
        201: {"description": "created", "model": StaffPublic},
        403: {"description": "a compound outside the administrator's organisation"},
        422: {"description": "a compound, party or grid the registry does not have"},
    },
)
def put_staff(
    staff_id: IdPath,
    body: StaffPut,
    user: StaffManager,
    conn: DbDep,
    state: StateDep,
    response: Response,
) -> StaffPublic:
    """Create (201) or update (200) a staff member: role, party and grids. A compound,
    party or grid the registry does not have: 422 with the reason."""
    if body.compound in registry.compound_ids(conn):  # an unknown one: the registry's 422
        in_scope(user, body.compound)
    created = registry.put_staff(
        conn,
        body.compound,
        staff_id,
        name=body.name,
        role=body.role,
        party=body.party,
        grids=body.grids,
        actor=user.username,
        now=state.clock.now(),
    )
    if created:
        response.status_code = status.HTTP_201_CREATED
    return StaffPublic(
        compound=body.compound,
        id=staff_id,
        name=body.name,
        role=body.role,
        party=body.party,
        grids=sorted(set(body.grids)),
    )


@router.get("/registry-changes")
def registry_changes(
    user: ChangeReader,
    conn: DbDep,
    state: StateDep,
    request: Request,
    compound: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")],
    after_id: AfterId = 0,
    limit: Limit = 100,
) -> RegistryChangesPublic:
    """Who changed what in a compound's registry, and when, oldest first; audited (the log
    names residents)."""
    in_scope(user, compound)
    changes = registry.registry_changes(
        conn, compound, scope=user.scope, after_id=after_id, limit=limit
    )
    _audit.record(
        conn,
        user,
        action="read_registry_changes",
        subject=f"compound={compound} after_id={after_id}",
        route="GET /api/v1/registry-changes",
        reason=purpose(request),
        client=client_address(request),
        now=state.clock.now(),
        detail={"ids": [c.id for c in changes[:1] + changes[-1:]]},
    )
    data = [
        RegistryChangePublic(
            id=c.id,
            at=c.at,
            actor=c.actor,
            compound=c.compound,
            entity=c.entity,
            key=c.key,
            change=c.change,  # the table's CHECK holds it to the three literals
            before=dict(c.before) if c.before is not None else None,
            after=dict(c.after) if c.after is not None else None,
        )
        for c in changes
    ]
    return RegistryChangesPublic(data=data, next_after_id=changes[-1].id if changes else after_id)
