"""Staff contact points and quiet hours: read and replaced through the API by an
administrator for anyone, or by a staff member for themselves (the account linked to
that staff id).

The registry owns `staff_contacts` and keeps the API's contacts beside the compound
file's (`registry.set_staff_contacts`): while a person has contacts set here, those are
used, and reloading the file leaves them alone. Each URL is checked against the channels
notify has (`notify.contact_problem`) before it is stored. Contact URLs may hold
passwords: they are written, never read back; reads show scheme and host. Every read and
write is audited. Quiet hours are kept the same way (`registry.set_quiet_hours`): the
API's, while set, over the file's, and a reload leaves them alone.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, status

import domain
import notify
import registry
from api import _audit
from api._access import Permission, User
from api._db import Conn, row
from api.deps import CurrentUser, DbDep, StateDep, client_address, in_scope, purpose
from api.models import (
    QuietHoursBody,
    StaffContactsPublic,
    StaffContactsPut,
    StaffQuietHoursPublic,
    StaffQuietHoursPut,
)

router = APIRouter(tags=["registry"])
IdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
_ROUTE = "/api/v1/staff/{compound_id}/{staff_id}/contacts"
_QUIET_ROUTE = "/api/v1/staff/{compound_id}/{staff_id}/quiet-hours"


def _is_self(conn: Conn, user: User, compound: str, staff_id: str) -> bool:
    """Whether the account is that staff member (staff ids repeat across compounds: a
    link names its compound, or the id is the only one of its kind)."""
    if user.staff_id != staff_id:
        return False
    link = row(conn, "SELECT staff_compound FROM api_users WHERE username = %s", (user.username,))
    named = link["staff_compound"] if link else None
    if named is not None:
        return bool(named == compound)
    return registry.staff_compounds(conn, staff_id) == [compound]


def _allowed(conn: Conn, user: User, compound: str, staff_id: str) -> None:
    in_scope(user, compound)
    if user.may(Permission.MANAGE_STAFF) or _is_self(conn, user, compound, staff_id):
        return
    raise HTTPException(
        status.HTTP_403_FORBIDDEN,
        f"role {user.role.value} may read and change only their own contact points and quiet hours",
    )


def _public(points: registry.ContactPoints) -> StaffContactsPublic:
    return StaffContactsPublic(
        compound=points.compound,
        staff_id=points.staff_id,
        source=points.source,
        channels=[notify.public_channel(u) or "?" for u in points.urls],
    )


@router.get("/staff/{compound_id}/{staff_id}/contacts")
def staff_contacts(
    compound_id: IdPath,
    staff_id: IdPath,
    user: CurrentUser,
    conn: DbDep,
    state: StateDep,
    request: Request,
) -> StaffContactsPublic:
    """The contact points notifications to this staff member use, as scheme and host,
    and where they come from (`file` or `api`): administrators, or the member themselves.
    Audited."""
    _allowed(conn, user, compound_id, staff_id)
    points = registry.contact_points(conn, compound_id, staff_id)
    if points is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no staff member {staff_id!r}")
    _audit.record(
        conn,
        user,
        action="read_staff_contacts",
        subject=f"{compound_id}/{staff_id}",
        route=f"GET {_ROUTE}",
        reason=purpose(request),
        client=client_address(request),
        now=state.clock.now(),
    )
    return _public(points)


@router.put("/staff/{compound_id}/{staff_id}/contacts")
def put_staff_contacts(
    compound_id: IdPath,
    staff_id: IdPath,
    body: StaffContactsPut,
    user: CurrentUser,
    conn: DbDep,
    state: StateDep,
    request: Request,
) -> StaffContactsPublic:
    """Replace this staff member's contact points (in order of preference; an empty list
    hands them back to the compound file's): administrators, or the member themselves. A
    URL no channel understands: 422 naming it. A later `dayuan registry load` does not
    override these. Audited; logged in the registry's changes as field names only."""
    _allowed(conn, user, compound_id, staff_id)
    for i, url in enumerate(body.contacts):
        problem = notify.contact_problem(url)
        if problem is not None:
            shown = notify.public_channel(url)
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, f"contacts[{i}] ({shown}): {problem}"
            )
    now = state.clock.now()
    try:
        points = registry.set_staff_contacts(
            conn, compound_id, staff_id, body.contacts, actor=user.username, now=now
        )
    except registry.NotRegistered as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    _audit.record(
        conn,
        user,
        action="write_staff_contacts",
        subject=f"{compound_id}/{staff_id}",
        route=f"PUT {_ROUTE}",
        reason=purpose(request),
        client=client_address(request),
        now=now,
        detail={"channels": [notify.public_channel(u) for u in body.contacts]},
    )
    return _public(points)


def _quiet_public(found: registry.StaffQuietHours) -> StaffQuietHoursPublic:
    hours = found.hours
    return StaffQuietHoursPublic(
        compound=found.compound,
        staff_id=found.staff_id,
        source=found.source,
        quiet_hours=None
        if hours is None
        else QuietHoursBody(start=hours.start.strftime("%H:%M"), end=hours.end.strftime("%H:%M")),
    )


def _audit_quiet(
    conn: Conn, user: User, request: Request, state: StateDep, action: str, where: str
) -> None:
    compound, staff_id = request.path_params["compound_id"], request.path_params["staff_id"]
    _audit.record(
        conn,
        user,
        action=action,
        subject=f"{compound}/{staff_id}",
        route=f"{where} {_QUIET_ROUTE}",
        reason=purpose(request),
        client=client_address(request),
        now=state.clock.now(),
    )


@router.get("/staff/{compound_id}/{staff_id}/quiet-hours")
def staff_quiet_hours(
    compound_id: IdPath,
    staff_id: IdPath,
    user: CurrentUser,
    conn: DbDep,
    state: StateDep,
    request: Request,
) -> StaffQuietHoursPublic:
    """The quiet hours in use for this staff member and where they come from (`file`,
    `api` or `none`): administrators, or the member themselves. Audited."""
    _allowed(conn, user, compound_id, staff_id)
    found = registry.quiet_hours(conn, compound_id, staff_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no staff member {staff_id!r}")
    _audit_quiet(conn, user, request, state, "read_staff_quiet_hours", "GET")
    return _quiet_public(found)


@router.put("/staff/{compound_id}/{staff_id}/quiet-hours")
def put_staff_quiet_hours(
    compound_id: IdPath,
    staff_id: IdPath,
    body: StaffQuietHoursPut,
    user: CurrentUser,
    conn: DbDep,
    state: StateDep,
    request: Request,
) -> StaffQuietHoursPublic:
    """Set this staff member's quiet hours (`null`: none, whatever the compound file
    says): administrators, or the member themselves. A later `dayuan registry load` does
    not override them. Audited; logged in the registry's changes."""
    _allowed(conn, user, compound_id, staff_id)
    hours = (
        None
        if body.quiet_hours is None
        else domain.QuietHours(start=body.quiet_hours.start, end=body.quiet_hours.end)
    )
    try:
        found = registry.set_quiet_hours(
            conn, compound_id, staff_id, hours, actor=user.username, now=state.clock.now()
        )
    except registry.NotRegistered as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    _audit_quiet(conn, user, request, state, "write_staff_quiet_hours", "PUT")
    return _quiet_public(found)


@router.delete("/staff/{compound_id}/{staff_id}/quiet-hours")
def delete_staff_quiet_hours(
    compound_id: IdPath,
    staff_id: IdPath,
    user: CurrentUser,
    conn: DbDep,
    state: StateDep,
    request: Request,
) -> StaffQuietHoursPublic:
    """Remove the quiet hours set through the API: the compound file's apply again (the
    answer shows them). Administrators, or the member themselves. Audited."""
    _allowed(conn, user, compound_id, staff_id)
    try:
        found = registry.clear_quiet_hours(
            conn, compound_id, staff_id, actor=user.username, now=state.clock.now()
        )
    except registry.NotRegistered as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    _audit_quiet(conn, user, request, state, "write_staff_quiet_hours", "DELETE")
    return _quiet_public(found)
