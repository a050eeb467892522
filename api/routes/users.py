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
def list_users(_: Admin, conn: DbDep, limit: Limit = 100, offset: Offset = 0) -> UsersPublic:
    data, count = _users.list_users(conn, limit=limit, offset=offset)
    return UsersPublic(data=[UserPublic.model_validate(u) for u in data], count=count)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, admin: Admin, conn: DbDep, state: StateDep) -> UserPublic:
    staff_compound = None
    if body.staff_id is not None:
        _linked_grids(body.grids)
        staff_compound = _staff_compound(conn, body.staff_id, body.staff_compound)
    _known_grids(conn, body.grids)
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
    )
    if created is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"user {body.username!r} already exists")
    return UserPublic.model_validate(created)


@router.patch(
    "/{username}",
    responses={
        404: {"description": "no such user"},
        409: {"description": "the last active administrator cannot be demoted or disabled"},
    },
)
def update_user(username: UsernamePath, body: UserUpdate, _: Admin, conn: DbDep) -> UserPublic:
    """Change a user; a new password revokes the user's existing tokens."""
    current = _users.get_user(conn, username)
    if current is not None and current["staff_id"] is not None and body.grids is not None:
        _linked_grids(body.grids)
    _known_grids(conn, body.grids or [])
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


def _known_grids(conn: DbDep, grids: list[str]) -> None:
    unknown = _users.unknown_grids(conn, grids) if grids else []
    if unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"no grid {', '.join(unknown)} in the registry (grids are compound/grid)",
        )
