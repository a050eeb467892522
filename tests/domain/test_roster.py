"""Rosters and quiet hours as pure time arithmetic, in the compound's zone
(Asia/Shanghai, UTC+8, no daylight saving). 2024-03-01 is a Friday.

    Fri          08:00 ============ 20:00 day: s-day (every day)
                       09:00 == 11:00      overlap: s-extra (every day)
    Fri -> Sat                           20:00 ========= 08:00 night: s-night (starts Fridays)
    Sat                                  20:00 ... nobody: the fallback s-back
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pydantic
import pytest

from domain import Compound, QuietHours, Roster

ZONE = "Asia/Shanghai"
ROSTER = Roster.model_validate(
    {
        "party": "p-care",
        "shifts": [
            {"start": "08:00", "end": "20:00", "staff": ["s-day"]},
            {"start": "09:00", "end": "11:00", "staff": ["s-extra", "s-day"]},
            {"days": ["fri"], "start": "20:00", "end": "08:00", "staff": ["s-night"]},
        ],
        "fallback": ["s-back"],
    }
)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, minute, tzinfo=ZoneInfo(ZONE))


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (local(1, 8), ["s-day"]),
        (local(1, 10), ["s-day", "s-extra"]),  # overlapping shifts add up
        (local(1, 19, 59), ["s-day"]),
        (local(1, 20), ["s-night"]),
        (local(2, 3), ["s-night"]),  # Friday's night shift, after midnight
        (local(2, 8), ["s-day"]),
        (local(2, 20), ["s-back"]),  # Saturday night: no shift, the fallback
        (local(3, 7, 59), ["s-back"]),
    ],
)
def test_who_is_on_duty(at: datetime, expected: list[str]) -> None:
    assert ROSTER.on_duty(at.astimezone(UTC), ZONE) == expected


def test_quiet_hours_end_in_the_morning() -> None:
    quiet = QuietHours.model_validate({"start": "22:00", "end": "07:00"})
    assert quiet.until(local(1, 23).astimezone(UTC), ZONE) == local(2, 7).astimezone(UTC)
    assert quiet.until(local(2, 6, 59).astimezone(UTC), ZONE) == local(2, 7).astimezone(UTC)
    assert quiet.until(local(2, 7).astimezone(UTC), ZONE) is None
    assert quiet.until(local(1, 21).astimezone(UTC), ZONE) is None


def test_times_are_hh_mm_and_one_roster_per_party_and_grid() -> None:
    with pytest.raises(pydantic.ValidationError, match="HH:MM"):
        QuietHours.model_validate({"start": "7:00", "end": "22:00"})
    twice = [{"party": "p-care"}, {"party": "p-care"}]
    with pytest.raises(pydantic.ValidationError, match="two rosters for party 'p-care'"):
        Compound.model_validate({"id": "c", "name": "C", "lat": 0, "lon": 0, "rosters": twice})
    with pytest.raises(pydantic.ValidationError, match="unknown time zone"):
        Compound.model_validate({"id": "c", "name": "C", "lat": 0, "lon": 0, "timezone": "Mars"})
