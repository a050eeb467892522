"""Query parameters shared by the routes."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Query
from pydantic import AwareDatetime, BeforeValidator

# A date, a time, and an offset: what the documented `date-time` format is. Pydantic would
# otherwise take `0.5` or `1700000000` for a Unix time.
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_only(value: object) -> object:
    if isinstance(value, str) and not _ISO.match(value):
        raise ValueError("an ISO 8601 date-time with offset, e.g. 2026-12-01T08:00:00+08:00")
    return value


# An instant in a query: ISO 8601 with its offset, never a bare number.
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_only)]

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="rows to skip")]
IdQuery = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
From = Annotated[Instant | None, Query(alias="from", description="inclusive, with offset")]
To = Annotated[Instant | None, Query(alias="to", description="exclusive, with offset")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=1024,
        pattern=r"^[A-Za-z0-9_-]{1,1000}\.[A-Za-z0-9_-]{22}$",
        description="the `next_cursor` of the previous page: walks the list (keyset)",
    ),
]
