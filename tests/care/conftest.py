"""Fixtures of the care tests: the test compound (tests.factories: 3-2-301 an elderly,
empty-nest household in grid g2; 1-1-101 a rented one in g1), a clock to advance and
the cases workflow the sweep opens cases through."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

import cases
import registry
from tests.factories import compound_file

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # a Tuesday
Conn = psycopg.Connection[tuple[Any, ...]]


@dataclass
class FakeClock:
    at: datetime = T0

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def workflow(clock: FakeClock) -> cases.Workflow:
    return cases.Workflow(clock=clock)


@pytest.fixture
def care_db(schema_url: str) -> str:
    with psycopg.connect(schema_url, autocommit=True) as c:
        registry.load(c, compound_file(), actor="test:setup", now=T0)
    return schema_url


@pytest.fixture
def conn(care_db: str) -> Iterator[Conn]:
    with psycopg.connect(care_db, autocommit=True) as c:
        yield c
