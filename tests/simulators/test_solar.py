"""NOAA sun times against published almanac values (timeanddate.com, rounded to the minute)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from simulators import solar_elevation, sun_times

TOLERANCE = timedelta(minutes=2)


@pytest.mark.parametrize(
    ("lat", "lon", "zone", "day", "sunrise", "sunset"),
    [
        (51.5074, -0.1278, "Europe/London", date(2024, 6, 21), "04:43", "21:21"),
        (51.5074, -0.1278, "Europe/London", date(2024, 12, 21), "08:04", "15:53"),
        (40.7128, -74.0060, "America/New_York", date(2024, 6, 20), "05:25", "20:31"),
        (31.2304, 121.4737, "Asia/Shanghai", date(2024, 6, 21), "04:50", "19:01"),
        (31.2304, 121.4737, "Asia/Shanghai", date(2024, 12, 21), "06:50", "16:54"),
    ],
)
def test_sunrise_and_sunset_match_published_times(
    lat: float, lon: float, zone: str, day: date, sunrise: str, sunset: str
) -> None:
    times = sun_times(day, lat, lon)
    assert times.sunrise is not None
    assert times.sunset is not None
    tz = ZoneInfo(zone)
    for computed, published in ((times.sunrise, sunrise), (times.sunset, sunset)):
        hour, minute = (int(part) for part in published.split(":"))
        expected = datetime.combine(day, time(hour, minute), tz)
        assert abs(computed - expected) <= TOLERANCE, (computed.astimezone(tz), published)


def test_hangzhou_midsummer_day_is_fourteen_hours_and_seven_minutes() -> None:
    times = sun_times(date(2024, 6, 21), 30.27, 120.16)
    assert times.sunrise is not None
    assert times.sunset is not None
    assert abs(times.sunset - times.sunrise - timedelta(hours=14, minutes=7)) <= TOLERANCE


def test_events_fall_on_the_local_date_for_eastern_longitudes() -> None:
    times = sun_times(date(2024, 3, 1), 30.27, 120.16)
    assert times.sunrise is not None
    assert times.sunset is not None
    tz = ZoneInfo("Asia/Shanghai")
    assert times.sunrise.astimezone(tz).date() == date(2024, 3, 1)
    assert times.sunset.astimezone(tz).date() == date(2024, 3, 1)
    assert times.sunrise.tzinfo is UTC


def test_elevation_is_minus_0833_at_sunrise_and_high_at_noon() -> None:
    times = sun_times(date(2024, 6, 21), 30.27, 120.16)
    assert times.sunrise is not None
    assert solar_elevation(times.sunrise, 30.27, 120.16) == pytest.approx(-0.833, abs=0.02)
    noon = datetime(2024, 6, 21, 4, 0, tzinfo=UTC)  # ~12:00 in Hangzhou
    assert solar_elevation(noon, 30.27, 120.16) == pytest.approx(90 - 30.27 + 23.44, abs=0.5)


def test_polar_night_has_no_sunrise() -> None:
    times = sun_times(date(2024, 12, 21), 78.22, 15.65)  # Longyearbyen
    assert times.sunrise is None
    assert times.sunset is None
