"""User accounts: administrators create and change them; everyone reads their own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status

import registry
from api import _users
from api._access import Permission, User
from api.deps import CurrentUser, DbDep, StateDep, require
from api.models import UserCreate, UserPublic, UsersPublic, UserUpdate
from api.routes._params import Limit, Offset

router = APIRouter(prefix="/users", tags=["users"])
Admin = Annotated[User, Depends(require(Permission.MANAGE_USERS))]
UsernamePath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]


@router.get("/me")
def me(user: CurrentUser, conn: DbDep) -> UserPublic:
    found = _users.get_user(conn, user.username)
    assert found is not None  # the dependency just read it
    return UserPublic.model_validate(found)


@router.get("")
def list_users(admin: Admin, conn: DbDep, limit: Limit = 100, offset: Offset = 0) -> UsersPublic:
    """The users of the administrator's organisation and those under it (a platform
    administrator: every user)."""
    data, count = _users.list_users(
        conn, limit=limit, offset=offset, organisations=_users.managed_organisations(conn, admin)
    )
    return UsersPublic(data=[UserPublic.model_validate(u) for u in data], count=count)


def _manages(conn: DbDep, admin: User, organisation: str) -> bool:
    managed = _users.managed_organisations(conn, admin)
    return managed is None or organisation in managed


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        403: {"description": "the organisation, a grid or the staff member is not the admin's"},
        409: {"description": "the username is taken"},
    },
)
def create_user(body: UserCreate, admin: Admin, conn: DbDep, state: StateDep) -> UserPublic:
    """Create an account in an organisation: the administrator's own (the default) or
    one under it; its grids and staff member must lie in that organisation's compounds."""
    organisation = body.organisation or admin.organisation
    if registry.organisation(conn, organisation) is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"no organisation {organisation!r}"
        )
    if not _manages(conn, admin, organisation):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"organisation {organisation!r} is not yours (nor under yours) to add accounts to",
        )
    staff_compound = None
    if body.staff_id is not None:
        _linked_grids(body.grids)
        staff_compound = _staff_compound(conn, body.staff_id, body.staff_compound)
        _served(conn, organisation, [staff_compound])
    _known_grids(conn, body.grids)
    _served(conn, organisation, [_users.grid_key(g)[0] for g in body.grids])
    created = _users.create_user(
        conn,
        username=body.username,
        password=body.password,
        role=body.role,
        grids=body.grids,
        staff_id=body.staff_id,
        staff_compound=staff_compound,
        created_by=admin.username,
        now=state.clock.now(),
        organisation=organisation,
    )
    if created is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"user {body.username!r} already exists")
    return UserPublic.model_validate(created)


@router.patch(
    "/{username}",
    responses={
        403: {"description": "grids outside the organisation's compounds"},
        404: {"description": "no such user (or another organisation's)"},
        409: {"description": "the last active administrator cannot be demoted or disabled"},
    },
)
def update_user(username: UsernamePath, body: UserUpdate, admin: Admin, conn: DbDep) -> UserPublic:
    """Change a user of the administrator's organisation (or one under it); a new
    password revokes the user's existing tokens."""
    current = _users.get_user(conn, username)
    if current is not None and not _manages(conn, admin, current["organisation_id"]):
        current = None  # another organisation's account is not there for this admin
    if current is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {username!r}")
    if current["staff_id"] is not None and body.grids is not None:
        _linked_grids(body.grids)
    _known_grids(conn, body.grids or [])
    _served(conn, current["organisation_id"], [_users.grid_key(g)[0] for g in body.grids or []])
    try:
        updated = _users.update_user(conn, username, body.model_dump(exclude_none=True))
    except _users.LastAdmin as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    if updated is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {username!r}")
    return UserPublic.model_validate(updated)


def _linked_grids(grids: list[str]) -> None:
    if grids:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "a user linked to a staff member sees that member's grids in the registry: "
            "change them there (PUT /staff/{id}), not on the user",
        )


def _staff_compound(conn: DbDep, staff_id: str, compound: str | None) -> str:
    """The compound of the staff member a user is linked to (staff ids repeat)."""
    found = registry.staff_compounds(conn, staff_id)
    if compound is not None and compound in found:
        return compound
    if compound is None and len(found) == 1:
        return found[0]
    if compound is None and found:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"staff member {staff_id!r} exists in {', '.join(found)}: name `staff_compound`",
        )
    where = f" of {compound!r}" if compound else ""
    raise HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        f"no staff member {staff_id!r}{where} in the registry",
    )


def _served(conn: DbDep, organisation: str, compounds: list[str]) -> None:
    """Refuse grids or a staff member in compounds the organisation does not serve."""
    within = registry.served_compounds(conn, organisation)
    outside = sorted({c for c in compounds if within is not None and c not in within})
    if outside:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"organisation {organisation!r} does not serve {', '.join(outside)}",
        )


def _known_grids(conn: DbDep, grids: list[str]) -> None:
    unknown = _users.unknown_grids(conn, grids) if grids else []
    if unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"no grid {', '.join(unknown)} in the registry (grids are compound/grid)",
        )
