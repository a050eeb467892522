"""Astronomical day and night at a compound's coordinates, for rules that ask "is it
night here?". The sun's position is `domain.sun_times` (NOAA's formulas); this module
adds the solar day and the twilight margin.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

import domain
from domain import SunTimes


class Phase(StrEnum):
    DAY = "day"
    NIGHT = "night"
    TWILIGHT = "twilight"  # within the margin around sunrise or sunset: neither


@lru_cache(maxsize=4096)
def sun_times(lat: float, lon: float, day: date) -> SunTimes:
    """Sunrise and sunset (aware UTC) of the solar day `day` at `lat`, `lon` (east positive)."""
    return domain.sun_times(day, lat, lon)


def solar_day(lon: float, at: datetime) -> date:
    """The date at the meridian `lon`: its sunrise and sunset bracket local solar noon."""
    return (at.astimezone(UTC) + timedelta(minutes=4.0 * lon)).date()


def phase(lat: float, lon: float, at: datetime, *, margin: timedelta = timedelta()) -> Phase:
    """Day, night, or twilight (within `margin` of sunrise or sunset) at `at`."""
    times = sun_times(round(lat, 4), round(lon, 4), solar_day(lon, at))
    if times.sunrise is None or times.sunset is None:
        return Phase.DAY if times.polar_day else Phase.NIGHT
    if times.sunrise + margin <= at < times.sunset - margin:
        return Phase.DAY
    if at < times.sunrise - margin or at >= times.sunset + margin:
        return Phase.NIGHT
    return Phase.TWILIGHT
