"""Organisations (issue 20): who owns or serves which compounds, and so what their
accounts see. Everyone reads their own organisation and those under it; the platform's
administrators create and change organisations and link them to compounds (each change
in the registry's log: `GET /organisations/changes`, and a link's under its compound in
`GET /registry-changes`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

import registry
from api._access import Permission, User
from api.deps import CurrentUser, DbDep, StateDep, require
from api.models import (
    OrganisationBody,
    OrganisationChangesPublic,
    OrganisationPublic,
    OrganisationsPublic,
    RegistryChangePublic,
)
from api.routes._params import Limit

router = APIRouter(prefix="/organisations", tags=["organisations"])
Admin = Annotated[User, Depends(require(Permission.MANAGE_ORGANISATIONS))]
OrgId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
CompoundId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
AfterId = Annotated[int, Query(ge=0, le=2**63 - 1, description="the last id already read")]
REFUSALS: dict[int | str, dict[str, str]] = {
    403: {"description": "only the platform's administrators change organisations"},
    404: {"description": "no such organisation (or not yours to see)"},
    422: {"description": "an unknown parent or compound, or a parent that lies under it"},
}


def _platform(user: User) -> None:
    if not user.platform:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "organisations and their compounds are changed by the platform's administrators",
        )


def _public(o: registry.Organisation) -> OrganisationPublic:
    return OrganisationPublic(
        id=o.id, name=o.name, kind=o.kind, parent=o.parent, compounds=list(o.compounds)
    )


@router.get("")
def list_organisations(user: CurrentUser, conn: DbDep) -> OrganisationsPublic:
    """The caller's organisation and those under it (the platform's accounts: all)."""
    found = registry.organisations(conn, under=user.organisation)
    return OrganisationsPublic(data=[_public(o) for o in found], count=len(found))


@router.get("/changes", responses=REFUSALS)
def organisation_changes(
    user: Admin, conn: DbDep, after_id: AfterId = 0, limit: Limit = 100
) -> OrganisationChangesPublic:
    """The log of organisations' records (created, renamed, moved under another)."""
    _platform(user)
    found = registry.organisation_changes(conn, after_id=after_id, limit=limit)
    data = [RegistryChangePublic.model_validate(c, from_attributes=True) for c in found]
    return OrganisationChangesPublic(data=data, count=len(data))


@router.get("/{organisation_id}", responses=REFUSALS)
def get_organisation(organisation_id: OrgId, user: CurrentUser, conn: DbDep) -> OrganisationPublic:
    found = registry.organisation(conn, organisation_id)
    if found is None or not registry.is_under(conn, organisation_id, user.organisation):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no organisation {organisation_id!r}")
    return _public(found)


@router.put("/{organisation_id}", responses=REFUSALS)
def put_organisation(
    organisation_id: OrgId, body: OrganisationBody, user: Admin, conn: DbDep, state: StateDep
) -> OrganisationPublic:
    """Create or change an organisation: its name, kind (a word: property_company,
    elderly_care_centre, residents_committee, subdistrict_office, ...), parent and the
    compounds it serves (the list replaces the links; each change logged)."""
    _platform(user)
    entry = body.entry(organisation_id)
    found, _ = registry.put_organisation(conn, entry, actor=user.username, now=state.clock.now())
    return _public(found)


@router.put("/{organisation_id}/compounds/{compound_id}", responses=REFUSALS)
def link_compound(
    organisation_id: OrgId, compound_id: CompoundId, user: Admin, conn: DbDep, state: StateDep
) -> OrganisationPublic:
    """The organisation serves this compound too (idempotent)."""
    _platform(user)
    registry.link(conn, organisation_id, compound_id, actor=user.username, now=state.clock.now())
    found = registry.organisation(conn, organisation_id)
    assert found is not None  # link() checked it
    return _public(found)


@router.delete("/{organisation_id}/compounds/{compound_id}", responses=REFUSALS)
def unlink_compound(
    organisation_id: OrgId, compound_id: CompoundId, user: Admin, conn: DbDep, state: StateDep
) -> OrganisationPublic:
    """The organisation no longer serves this compound: its accounts stop seeing it at
    their next request."""
    _platform(user)
    found = registry.organisation(conn, organisation_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no organisation {organisation_id!r}")
    registry.unlink(conn, organisation_id, compound_id, actor=user.username, now=state.clock.now())
    found = registry.organisation(conn, organisation_id)
    assert found is not None
    return _public(found)
