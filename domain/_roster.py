"""Who is on duty when, and when a person is not to be woken: the compound file's
rosters (`rosters[]`) and quiet hours (`staff[].quiet_hours`), with the pure time
arithmetic over them.

Times of day are wall-clock times in the compound's time zone (`Compound.timezone`);
callers pass an aware instant and the zone, and get aware UTC back. A shift belongs to
the day it starts on: `{days: [fri], start: "20:00", end: "08:00"}` covers Friday
20:00 to Saturday 08:00. A period whose start equals its end lasts the whole day.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from domain._payloads import Ident

_DAY = timedelta(days=1)


def _clock_time(value: object) -> object:
    """Only `HH:MM`, the way rosters are written; seconds have no place in a shift."""
    if isinstance(value, str):
        hours, sep, minutes = value.partition(":")
        if not (sep and len(hours) == 2 and len(minutes) == 2):
            raise ValueError(f"a time of day is written HH:MM, not {value!r}")
    return value


ClockTime = Annotated[time, BeforeValidator(_clock_time)]


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @classmethod
    def of(cls, moment: datetime) -> Weekday:
        return list(cls)[moment.weekday()]


ALL_DAYS = tuple(Weekday)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _within(start: time, end: time, days: frozenset[Weekday], local: datetime) -> bool:
    """Whether the period starting `start` on each of `days` covers `local`."""
    at = local.time().replace(tzinfo=None)
    today, yesterday = Weekday.of(local), Weekday.of(local - _DAY)
    if start < end:
        return today in days and start <= at < end
    # Crosses midnight (or lasts the whole day when start == end).
    return (today in days and at >= start) or (yesterday in days and at < end)


class Shift(_Model):
    days: list[Weekday] = Field(default_factory=lambda: list(ALL_DAYS), min_length=1)
    start: ClockTime
    end: ClockTime
    staff: list[Ident] = Field(min_length=1)

    def covers(self, local: datetime) -> bool:
        """Whether this shift is on at `local` (a time in the compound's zone)."""
        return _within(self.start, self.end, frozenset(self.days), local)


class Roster(_Model):
    """Who of a party is on duty when, for one grid or (no grid) for all of them."""

    party: Ident
    grid: Ident | None = None
    shifts: list[Shift] = Field(default_factory=list)
    fallback: list[Ident] = Field(default_factory=list)

    def members(self) -> list[str]:
        """Everyone the roster names (for checking references)."""
        return [*(s for shift in self.shifts for s in shift.staff), *self.fallback]

    def on_duty(self, at: datetime, zone: str) -> list[str]:
        """The staff on duty at `at`, in roster order: every shift on then (overlapping
        shifts add up), or the fallback list when none is."""
        local = at.astimezone(ZoneInfo(zone))
        staff = [s for shift in self.shifts if shift.covers(local) for s in shift.staff]
        return list(dict.fromkeys(staff or self.fallback))


class QuietHours(_Model):
    """A person's nightly rest: non-critical notifications wait until it ends."""

    start: ClockTime
    end: ClockTime

    def until(self, at: datetime, zone: str) -> datetime | None:
        """The end of the quiet period covering `at` (aware UTC), or None when `at` is
        not in one."""
        local = at.astimezone(ZoneInfo(zone))
        if not _within(self.start, self.end, frozenset(ALL_DAYS), local):
            return None
        end = local.replace(
            hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0, fold=0
        )
        if end <= local:
            end = (end.replace(tzinfo=None) + _DAY).replace(tzinfo=local.tzinfo)
        return end.astimezone(UTC)
