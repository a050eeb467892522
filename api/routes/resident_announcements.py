"""A resident's announcements: the current notices that reach their confirmed household
(compound-wide, their building's, their flat's, those for a tag their household carries;
in their window, not withdrawn), newest first, each marked read or not; and marking one
read, counted once per household in the same receipts staff see (`reads`).

Resident token only (`api._residents`), like the other resident routes. A resident
whose household link is not confirmed yet sees none, not even the compound-wide ones:
anybody may claim any flat of any compound, and a notice ("no water in building 3 from
9:00", "the lift is out") is for the people who live there. A notice that is not for the
resident's household is a 404 whether it exists or not, so ids cannot be probed. What a
resident is shown leaves out how the notice was targeted (a tag such as "hardship" is the
registry's word about a household, not the household's) and who published it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel, Field

import announce
from api._residents import ResidentDep
from api.deps import DbDep, StateDep

router = APIRouter(prefix="/residents/me/announcements", tags=["residents"])
IdPath = Annotated[int, Path(ge=1, le=2**62)]

NOT_CONFIRMED = (
    "your household link is not confirmed yet: announcements are for the households of a"
    " compound, and a grid worker confirms that you live in yours first"
)


class NoticePublic(BaseModel):
    id: int
    title: str
    body: str
    starts_at: datetime
    ends_at: datetime
    published_at: datetime
    read: bool = Field(description="your household has read it (on this page or by phone)")


class NoticesPublic(BaseModel):
    data: list[NoticePublic]
    count: int
    unread: int
    flat: str | None = Field(description="the confirmed household they are for")
    note: str | None = Field(description="why there are none to show, when that is why")


class NoticeReadPublic(BaseModel):
    announcement: NoticePublic
    first: bool = Field(description="false: your household's read was already counted")


def _notice(a: announce.Announcement, read: bool) -> NoticePublic:
    return NoticePublic(
        id=a.id,
        title=a.title,
        body=a.body,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        published_at=a.published_at,
        read=read,
    )


@router.get("")
def my_announcements(resident: ResidentDep, state: StateDep, conn: DbDep) -> NoticesPublic:
    """The current announcements for your confirmed household, newest first."""
    home = resident.confirmed
    if home is None:
        return NoticesPublic(data=[], count=0, unread=0, flat=None, note=NOT_CONFIRMED)
    found = announce.for_household(conn, home.compound, home.flat, now=state.clock.now())
    read = announce.read_by(conn, home.flat, [a.id for a in found])
    data = [_notice(a, a.id in read) for a in found]
    return NoticesPublic(
        data=data,
        count=len(data),
        unread=sum(not n.read for n in data),
        flat=home.flat,
        note=None,
    )


@router.post(
    "/{announcement_id}/read",
    responses={404: {"description": "no current announcement for your household by that id"}},
)
def read_announcement(
    announcement_id: IdPath, resident: ResidentDep, state: StateDep, conn: DbDep
) -> NoticeReadPublic:
    """Your household read this announcement: counted once per household however often
    it is opened, by however many of its residents."""
    home = resident.confirmed
    if home is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_CONFIRMED)
    try:
        found, first = announce.record_read(
            conn,
            home.compound,
            announcement_id,
            home.flat,
            actor=resident.ref,
            now=state.clock.now(),
        )
    except (announce.AnnouncementNotFound, announce.InvalidAnnouncement) as exc:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"announcement {announcement_id} is not a current announcement for {home.flat}",
        ) from exc
    return NoticeReadPublic(announcement=_notice(found, True), first=first)
