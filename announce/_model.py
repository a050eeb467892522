"""An announcement as a value: the draft staff publish (validated when built) and the
record read back with its audience and read counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from announce._errors import InvalidAnnouncement
from domain import HouseholdTag

MAX_TITLE = 200
MAX_BODY = 4000
# A notice is about something coming or happening (a water cut tomorrow, a lift under
# repair): a window longer than a season is a noticeboard, not an announcement.
MAX_WINDOW = timedelta(days=92)
# Enough for a few stairwells' flats named one by one; a larger audience is a building.
MAX_TARGETS = 500


@dataclass(frozen=True, slots=True)
class Draft:
    """What staff publish. No buildings and no flats: the whole compound. `tag` narrows
    whatever audience to the households carrying it (e.g. elderly households)."""

    compound: str
    title: str
    body: str
    starts_at: datetime
    ends_at: datetime
    buildings: tuple[str, ...] = ()
    flats: tuple[str, ...] = ()
    tag: HouseholdTag | None = None

    def __post_init__(self) -> None:
        for name, value, most in (("title", self.title, MAX_TITLE), ("body", self.body, MAX_BODY)):
            if not value.strip():
                raise InvalidAnnouncement(name, "must not be empty")
            if len(value) > most:
                raise InvalidAnnouncement(name, f"at most {most} characters")
        for name in ("starts_at", "ends_at"):
            if getattr(self, name).tzinfo is None:
                raise InvalidAnnouncement(name, "must carry a time zone offset")
        if self.ends_at <= self.starts_at:
            raise InvalidAnnouncement("ends_at", "must be after starts_at")
        if self.ends_at - self.starts_at > MAX_WINDOW:
            raise InvalidAnnouncement("ends_at", f"a window lasts at most {MAX_WINDOW.days} days")
        if len(self.buildings) + len(self.flats) > MAX_TARGETS:
            raise InvalidAnnouncement("flats", f"at most {MAX_TARGETS} buildings and flats")

    @property
    def audience(self) -> str:
        """compound, buildings or households: what the notice is addressed to."""
        if self.flats:
            return "households"
        return "buildings" if self.buildings else "compound"


@dataclass(frozen=True, slots=True)
class Announcement:
    id: int
    compound: str
    title: str
    body: str
    buildings: tuple[str, ...]
    flats: tuple[str, ...]
    tag: HouseholdTag | None
    starts_at: datetime
    ends_at: datetime
    published_by: str
    published_at: datetime
    withdrawn_at: datetime | None
    households: int  # the targeted households, counted now
    reads: int  # the households that read it
    sent: int  # deliveries sent to households' emergency contacts and residents
    failed: int  # deliveries that failed for good

    def current(self, now: datetime) -> bool:
        return self.withdrawn_at is None and self.starts_at <= now < self.ends_at
