"""NOAA sunrise/sunset against published almanac values (within 2 minutes)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from rules import Phase, phase, sun_times

TOLERANCE = timedelta(minutes=2)

# Reference times: Astro::Sunrise's test table (Paul Schlyter's algorithm, altitude
# -0.833 deg, centre of the disc), converted to UTC; London's solstice agrees with the
# almanac's 04:43 / 21:21 BST.
CASES = [
    ("Greenwich", 51 + 28 / 60, 0.0, date(2013, 1, 1), "08:05", "16:02"),
    ("Greenwich", 51 + 28 / 60, 0.0, date(2013, 3, 21), "06:00", "18:15"),
    ("Greenwich", 51 + 28 / 60, 0.0, date(2013, 6, 21), "03:43", "20:21"),
    ("Quito", -0.25, -(78 + 35 / 60), date(2013, 1, 1), "11:14", "23:22"),
    ("El Hierro", 27 + 44 / 60, -(18 + 3 / 60), date(2013, 1, 1), "08:03", "18:29"),
    ("Reykjavik", 64 + 4 / 60, -(21 + 58 / 60), date(2013, 3, 21), "07:24", "19:46"),
]


def _utc(day: date, hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, tzinfo=UTC)


@pytest.mark.parametrize(("place", "lat", "lon", "day", "rise", "set_"), CASES)
def test_sunrise_and_sunset(
    place: str, lat: float, lon: float, day: date, rise: str, set_: str
) -> None:
    times = sun_times(lat, lon, day)
    assert times.sunrise is not None
    assert times.sunset is not None
    assert abs(times.sunrise - _utc(day, rise)) <= TOLERANCE, place
    assert abs(times.sunset - _utc(day, set_)) <= TOLERANCE, place


def test_polar_night_and_midnight_sun() -> None:
    assert sun_times(78.2, 15.6, date(2024, 12, 21)).polar_day is False  # Longyearbyen
    assert sun_times(78.2, 15.6, date(2024, 6, 21)).polar_day is True
    assert phase(78.2, 15.6, datetime(2024, 6, 21, 0, 0, tzinfo=UTC)) is Phase.DAY


def test_phase_at_a_compound_with_twilight_margin() -> None:
    hangzhou = (30.27, 120.16)
    noon = datetime(2024, 6, 21, 4, 0, tzinfo=UTC)  # 12:00 local
    late = datetime(2024, 6, 21, 15, 0, tzinfo=UTC)  # 23:00 local
    assert phase(*hangzhou, noon) is Phase.DAY
    assert phase(*hangzhou, late) is Phase.NIGHT
    sunset = sun_times(*hangzhou, date(2024, 6, 21)).sunset
    assert sunset is not None
    margin = timedelta(minutes=30)
    assert phase(*hangzhou, sunset + timedelta(minutes=10), margin=margin) is Phase.TWILIGHT
    assert phase(*hangzhou, sunset + timedelta(minutes=40), margin=margin) is Phase.NIGHT
