"""Query parameters shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import AwareDatetime

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="rows to skip")]
IdQuery = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
From = Annotated[AwareDatetime | None, Query(alias="from", description="inclusive, with offset")]
To = Annotated[AwareDatetime | None, Query(alias="to", description="exclusive, with offset")]
