"""A calendar month in a compound's time zone: what the monthly evaluation covers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from reports._errors import InvalidPeriod

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# Years a community could file a report for: older or later is a typo, not a request.
FIRST_YEAR, LAST_YEAR = 2000, 2199


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, value: str) -> Month:
        """`YYYY-MM`, refused with the reason when it is no month of years 2000-2199."""
        found = _MONTH.match(value)
        if found is None:
            raise InvalidPeriod(value, "a month is written YYYY-MM, e.g. 2026-11")
        year, month = int(found[1]), int(found[2])
        if not 1 <= month <= 12:
            raise InvalidPeriod(value, "the month must be 01 to 12")
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise InvalidPeriod(value, f"the year must be {FIRST_YEAR} to {LAST_YEAR}")
        return cls(year, month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """[first instant, first instant of the next month) in `timezone`, as UTC."""
        zone = ZoneInfo(timezone)
        nxt = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        start = datetime(self.year, self.month, 1, tzinfo=zone)
        end = datetime(nxt[0], nxt[1], 1, tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)
