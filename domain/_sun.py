"""Where the sun is: NOAA's solar-position formulas, for street lights and daylight
(the simulators' lights switch by it, the rules' night-time conditions ask it).

This is the algorithm of NOAA's Solar Calculator spreadsheet (after Meeus,
"Astronomical Algorithms"): good to about a minute for sunrise and sunset between
latitudes ±72°, which is what an astronomical time switch in a street-light
controller does too. Pure functions of aware datetimes; no clock is read here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

# Sunrise and sunset are when the sun's upper limb touches a level horizon: its centre
# is then 0.833° below it (0.567° of refraction plus 0.266° of the sun's radius).
SUNRISE_ZENITH_DEG = 90.833
_J2000 = 2451545.0
_UNIX_EPOCH_JD = 2440587.5


@dataclass(frozen=True, slots=True)
class SunTimes:
    """Sunrise and sunset of one calendar date, aware UTC; None where the sun does not cross."""

    sunrise: datetime | None
    sunset: datetime | None
    polar_day: bool = False  # with no sunrise and sunset: the sun never sets (else never rises)


def _julian_century(when: datetime) -> float:
    julian_day = _UNIX_EPOCH_JD + when.timestamp() / 86_400
    return (julian_day - _J2000) / 36_525


def _sun(t: float) -> tuple[float, float]:
    """(declination in degrees, equation of time in minutes) at Julian century `t`."""
    mean_long = (280.46646 + t * (36000.76983 + 0.0003032 * t)) % 360
    mean_anom = 357.52911 + t * (35999.05029 - 0.0001537 * t)
    ecc = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    m = math.radians(mean_anom)
    centre = (
        math.sin(m) * (1.914602 - t * (0.004817 + 0.000014 * t))
        + math.sin(2 * m) * (0.019993 - 0.000101 * t)
        + math.sin(3 * m) * 0.000289
    )
    omega = math.radians(125.04 - 1934.136 * t)
    apparent_long = math.radians(mean_long + centre - 0.00569 - 0.00478 * math.sin(omega))
    mean_obliq = 23 + (26 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60) / 60
    obliq = math.radians(mean_obliq + 0.00256 * math.cos(omega))
    declination = math.degrees(math.asin(math.sin(obliq) * math.sin(apparent_long)))
    y = math.tan(obliq / 2) ** 2
    l0 = math.radians(mean_long)
    eq_time = 4 * math.degrees(
        y * math.sin(2 * l0)
        - 2 * ecc * math.sin(m)
        + 4 * ecc * y * math.sin(m) * math.cos(2 * l0)
        - 0.5 * y * y * math.sin(4 * l0)
        - 1.25 * ecc * ecc * math.sin(2 * m)
    )
    return declination, eq_time


def solar_elevation(when: datetime, lat: float, lon: float) -> float:
    """The sun's elevation above the horizon in degrees (no refraction), at an aware time."""
    declination, eq_time = _sun(_julian_century(when))
    utc = when.astimezone(UTC)
    minutes = utc.hour * 60 + utc.minute + utc.second / 60 + utc.microsecond / 60e6
    true_solar = (minutes + eq_time + 4 * lon) % 1440
    hour_angle = math.radians(true_solar / 4 - 180)
    phi, delta = math.radians(lat), math.radians(declination)
    cos_zenith = math.sin(phi) * math.sin(delta) + math.cos(phi) * math.cos(delta) * math.cos(
        hour_angle
    )
    return 90 - math.degrees(math.acos(max(-1.0, min(1.0, cos_zenith))))


def sun_times(day: date, lat: float, lon: float, *, zenith: float = SUNRISE_ZENITH_DEG) -> SunTimes:
    """Sunrise and sunset on `day` as a local calendar date at (lat, lon), in aware UTC.

    The events are placed around local solar noon (12:00 minus 4 min per degree of
    longitude, in UTC), so for any longitude they fall on the right local date.
    """
    noon = datetime.combine(day, time(12), UTC) - timedelta(minutes=4 * lon)
    sunrise = _event(noon, lat, lon, zenith, rising=True)
    sunset = _event(noon, lat, lon, zenith, rising=False)
    polar_day = sunrise is None and sunset is None and solar_elevation(noon, lat, lon) > 0
    return SunTimes(sunrise=sunrise, sunset=sunset, polar_day=polar_day)


def _event(
    noon: datetime, lat: float, lon: float, zenith: float, *, rising: bool
) -> datetime | None:
    guess = noon
    for _ in range(3):  # each pass re-evaluates the sun at the previous estimate
        declination, eq_time = _sun(_julian_century(guess))
        phi, delta = math.radians(lat), math.radians(declination)
        cos_ha = math.cos(math.radians(zenith)) / (math.cos(phi) * math.cos(delta)) - math.tan(
            phi
        ) * math.tan(delta)
        if not -1.0 <= cos_ha <= 1.0:
            return None  # polar day or night
        hour_angle = math.degrees(math.acos(cos_ha)) * (1 if rising else -1)
        minutes = 720 - 4 * (lon + hour_angle) - eq_time
        midnight = datetime.combine(noon.date(), time(0), UTC)
        # Keep the event within half a day of the local solar noon it belongs to.
        guess = midnight + timedelta(minutes=minutes)
        while guess - noon > timedelta(hours=12):
            guess -= timedelta(days=1)
        while noon - guess > timedelta(hours=12):
            guess += timedelta(days=1)
    return guess
