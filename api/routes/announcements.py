"""Announcements: staff publish a notice to a compound, some of its buildings or
households, optionally only the households with a tag (e.g. elderly households), for a
time window; it is sent to the targeted households' emergency contacts when the window
opens (the lifespan's sender, api/_announcer.py), listed with its audience, reads and
deliveries for staff, listed per household (what a resident's page shows), and a
household's read is recorded once. A grid worker publishes to, and records reads of,
the buildings of their grids only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

import announce
from api._access import Permission, User
from api.deps import DbDep, Reader, StateDep, in_scope, require
from api.models import Message
from api.routes._params import Limit, Offset
from domain import HouseholdTag

router = APIRouter(prefix="/announcements", tags=["announcements"])
Publisher = Annotated[User, Depends(require(Permission.PUBLISH_ANNOUNCEMENTS))]
CompoundPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
FlatPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}$")
]
IdPath = Annotated[int, Path(ge=1, le=2**62)]
Flat = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}$")]
Building = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,16}$")]

REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"model": Message, "description": "outside the caller's grids"},
    404: {"model": Message, "description": "no such announcement in that compound"},
    422: {"model": Message, "description": "a compound, building, flat or window that cannot be"},
}


class AnnouncementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    compound: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    title: str = Field(min_length=1, max_length=announce.MAX_TITLE)
    body: str = Field(min_length=1, max_length=announce.MAX_BODY)
    starts_at: datetime = Field(description="with an offset; may lie in the past: now")
    ends_at: datetime = Field(
        description=f"after starts_at, at most {announce.MAX_WINDOW.days} days later"
    )
    buildings: list[Building] = Field(default_factory=list, max_length=announce.MAX_TARGETS)
    flats: list[Flat] = Field(
        default_factory=list,
        max_length=announce.MAX_TARGETS,
        description="households (building-unit-flat); none and no buildings: the whole compound",
    )
    tag: HouseholdTag | None = Field(None, description="only the households with this tag")


class AnnouncementPublic(BaseModel):
    id: int
    compound: str
    title: str
    body: str
    audience: str = Field(description="compound, buildings or households")
    buildings: list[str]
    flats: list[str]
    tag: HouseholdTag | None
    starts_at: datetime
    ends_at: datetime
    current: bool
    published_by: str
    published_at: datetime
    withdrawn_at: datetime | None
    households: int = Field(description="households in the audience now")
    reads: int = Field(description="households that read it")
    sent: int = Field(
        description="messages sent to households' emergency contacts and confirmed residents"
    )
    failed: int = Field(description="messages that could not be delivered")


class AnnouncementsPublic(BaseModel):
    data: list[AnnouncementPublic]
    count: int


class ReadCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flat: Flat


class ReadPublic(BaseModel):
    announcement: AnnouncementPublic
    first: bool = Field(description="false: this household's read was already counted")


def _public(a: announce.Announcement, now: datetime) -> AnnouncementPublic:
    audience = "households" if a.flats else "buildings" if a.buildings else "compound"
    return AnnouncementPublic(
        id=a.id,
        compound=a.compound,
        title=a.title,
        body=a.body,
        audience=audience,
        buildings=list(a.buildings),
        flats=list(a.flats),
        tag=a.tag,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        current=a.current(now),
        published_by=a.published_by,
        published_at=a.published_at,
        withdrawn_at=a.withdrawn_at,
        households=a.households,
        reads=a.reads,
        sent=a.sent,
        failed=a.failed,
    )


def _compound_visible(user: User, compound: str) -> None:
    in_scope(user, compound)


def _within_grids(user: User, compound: str, buildings: list[str], flats: list[str]) -> None:
    in_scope(user, compound)
    if not user.grid_bound:
        return
    if not buildings and not flats:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "a grid worker announces to the buildings or households of their grids,"
            " not to the whole compound",
        )
    outside = [b for b in buildings if not user.sees_building(compound, b)]
    outside += [f for f in flats if not user.sees_building(compound, f)]
    if outside:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"outside your grids: {', '.join(outside[:10])}"
        )


@router.get("", responses=REFUSALS)
def list_announcements(
    user: Reader,
    conn: DbDep,
    state: StateDep,
    compound: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")],
    current: Annotated[bool, Query(description="only those in their window now")] = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> AnnouncementsPublic:
    """A compound's announcements, newest window first, with their audience, reads and
    deliveries."""
    _compound_visible(user, compound)
    now = state.clock.now()
    data, count = announce.listed(
        conn, compound, now=now, current=current, limit=limit, offset=offset
    )
    return AnnouncementsPublic(data=[_public(a, now) for a in data], count=count)


@router.post("", status_code=status.HTTP_201_CREATED, responses=REFUSALS)
def publish(
    body: AnnouncementCreate, user: Publisher, conn: DbDep, state: StateDep
) -> AnnouncementPublic:
    """Publish an announcement. Refused with 422 and the reason: a compound, building or
    household the registry does not know, a window that ends before it starts or lasts
    over the limit."""
    _within_grids(user, body.compound, body.buildings, body.flats)
    draft = announce.Draft(
        compound=body.compound,
        title=body.title,
        body=body.body,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        buildings=tuple(dict.fromkeys(body.buildings)),
        flats=tuple(dict.fromkeys(body.flats)),
        tag=body.tag,
    )
    now = state.clock.now()
    return _public(announce.publish(conn, draft, actor=user.username, now=now), now)


@router.post("/{compound_id}/{announcement_id}/withdraw", responses=REFUSALS)
def withdraw(
    compound_id: CompoundPath,
    announcement_id: IdPath,
    user: Publisher,
    conn: DbDep,
    state: StateDep,
) -> AnnouncementPublic:
    """End an announcement now: no longer current, its unsent messages not sent."""
    found = announce.get(conn, compound_id, announcement_id)
    _within_grids(user, compound_id, list(found.buildings), list(found.flats))
    now = state.clock.now()
    return _public(announce.withdraw(conn, compound_id, announcement_id, now=now), now)


@router.get("/{compound_id}/households/{flat}", responses=REFUSALS)
def for_household(
    compound_id: CompoundPath, flat: FlatPath, user: Reader, conn: DbDep, state: StateDep
) -> AnnouncementsPublic:
    """The current announcements a household is in the audience of: what its page shows."""
    if not user.sees_building(compound_id, flat):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"{flat} is outside your grids")
    now = state.clock.now()
    data = announce.for_household(conn, compound_id, flat, now=now)
    return AnnouncementsPublic(data=[_public(a, now) for a in data], count=len(data))


@router.post("/{compound_id}/{announcement_id}/reads", responses=REFUSALS)
def record_read(
    compound_id: CompoundPath,
    announcement_id: IdPath,
    body: ReadCreate,
    user: Publisher,
    conn: DbDep,
    state: StateDep,
) -> ReadPublic:
    """A household read the announcement (counted once per household). Refused with 422:
    a household outside its audience, or an announcement not current."""
    if not user.sees_building(compound_id, body.flat):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"{body.flat} is outside your grids")
    now = state.clock.now()
    found, first = announce.record_read(
        conn, compound_id, announcement_id, body.flat, actor=user.username, now=now
    )
    return ReadPublic(announcement=_public(found, now), first=first)
