"""Astronomical day and night at a compound's coordinates: NOAA's sunrise equations.

The formulas are those of NOAA's solar calculator spreadsheet (after Meeus,
"Astronomical Algorithms"), evaluated twice: once at solar noon for a first estimate,
then again at each estimated event for precision (well within a minute at the
latitudes compounds are built at). Rules use `phase` to ask "is it night here?".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

# The sun's centre 0.833 degrees below the horizon: refraction plus its radius, the
# definition of sunrise/sunset used by NOAA and almanacs.
SUNRISE_ZENITH_DEG = 90.833
_UNIX_EPOCH_JD = 2440587.5
_J2000 = 2451545.0
_MINUTES_PER_DAY = 1440.0


class Phase(StrEnum):
    DAY = "day"
    NIGHT = "night"
    TWILIGHT = "twilight"  # within the margin around sunrise or sunset: neither


@dataclass(frozen=True, slots=True)
class SunTimes:
    """Sunrise and sunset of one solar day; None when the sun never rises or never sets."""

    sunrise: datetime | None
    sunset: datetime | None
    polar_day: bool = False


def _julian_century(at: datetime) -> float:
    jd = at.timestamp() / 86400.0 + _UNIX_EPOCH_JD
    return (jd - _J2000) / 36525.0


def _sun_position(at: datetime) -> tuple[float, float]:
    """(declination in degrees, equation of time in minutes) at `at`."""
    g = _julian_century(at)
    mean_long = (280.46646 + g * (36000.76983 + g * 0.0003032)) % 360.0
    mean_anom = 357.52911 + g * (35999.05029 - 0.0001537 * g)
    ecc = 0.016708634 - g * (0.000042037 + 0.0000001267 * g)
    m = math.radians(mean_anom)
    centre = (
        math.sin(m) * (1.914602 - g * (0.004817 + 0.000014 * g))
        + math.sin(2 * m) * (0.019993 - 0.000101 * g)
        + math.sin(3 * m) * 0.000289
    )
    omega = math.radians(125.04 - 1934.136 * g)
    apparent = mean_long + centre - 0.00569 - 0.00478 * math.sin(omega)
    seconds = 21.448 - g * (46.815 + g * (0.00059 - g * 0.001813))
    obliquity = 23.0 + (26.0 + seconds / 60.0) / 60.0 + 0.00256 * math.cos(omega)
    eps = math.radians(obliquity)
    declination = math.degrees(math.asin(math.sin(eps) * math.sin(math.radians(apparent))))
    y = math.tan(eps / 2) ** 2
    l0 = math.radians(mean_long)
    eot = 4 * math.degrees(
        y * math.sin(2 * l0)
        - 2 * ecc * math.sin(m)
        + 4 * ecc * y * math.sin(m) * math.cos(2 * l0)
        - 0.5 * y * y * math.sin(4 * l0)
        - 1.25 * ecc * ecc * math.sin(2 * m)
    )
    return declination, eot


def _hour_angle(lat: float, declination: float) -> float | None:
    """Degrees from noon to sunrise; None on a polar day (+) or night (-) handled by caller."""
    phi, delta = math.radians(lat), math.radians(declination)
    cos_h = math.cos(math.radians(SUNRISE_ZENITH_DEG)) / (
        math.cos(phi) * math.cos(delta)
    ) - math.tan(phi) * math.tan(delta)
    if not -1.0 <= cos_h <= 1.0:
        return None
    return math.degrees(math.acos(cos_h))


def _event(lat: float, lon: float, midnight: datetime, estimate: datetime, sign: int) -> datetime:
    """Refine a sunrise (sign -1) or sunset (+1) with the sun's position at the estimate."""
    declination, eot = _sun_position(estimate)
    ha = _hour_angle(lat, declination)
    if ha is None:
        return estimate
    minutes = 720.0 - 4.0 * lon - eot + sign * 4.0 * ha
    return midnight + timedelta(minutes=minutes)


@lru_cache(maxsize=4096)
def sun_times(lat: float, lon: float, day: date) -> SunTimes:
    """Sunrise and sunset (aware UTC) of the solar day `day` at `lat`, `lon` (east positive)."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    noon_estimate = midnight + timedelta(minutes=720.0 - 4.0 * lon)
    declination, eot = _sun_position(noon_estimate)
    ha = _hour_angle(lat, declination)
    if ha is None:
        polar_day = lat * declination > 0  # same hemisphere as the sun: it never sets
        return SunTimes(None, None, polar_day=polar_day)
    noon = midnight + timedelta(minutes=720.0 - 4.0 * lon - eot)
    rise = _event(lat, lon, midnight, noon - timedelta(minutes=4.0 * ha), -1)
    fall = _event(lat, lon, midnight, noon + timedelta(minutes=4.0 * ha), +1)
    return SunTimes(rise, fall)


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
